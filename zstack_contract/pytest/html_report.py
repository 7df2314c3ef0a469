"""pytest-html hooks: a conformance summary on top, the run's facts in the header, findings per test.

Registered by the plugin only when pytest-html is active (its hook names are unknown to pytest otherwise).
Every fragment is rendered from an autoescaping Jinja2 template (``zstack_contract/templates``): findings and
evidence carry server text, which must reach the page as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

import pytest

from zstack_contract.engine.doccheck import DOC_FAMILY
from zstack_contract.engine.findings import CheckRecord, Finding
from zstack_contract.pytest.hooks import run_summary, writes_state
from zstack_contract.pytest.stash import FIXED, RESULTS, SETTINGS
from zstack_contract.pytest.writes import writes_line
from zstack_contract.reporting.baseline import BaselineEntry
from zstack_contract.reporting.created import CLEANUP_COMMAND, left_behind
from zstack_contract.reporting.summary import FAMILY_TITLES, Summary
from zstack_contract.reporting.templates import render
from zstack_contract.settings import Settings

# How much of a response body the per-test evidence shows; the JSON results keep the longer excerpt.
EVIDENCE_BODY_LIMIT = 1500


def verdict_class(verdict: str) -> str:
    """Green only for a clean pass; any verdict that is not a pass (NOT RUN, INTERRUPTED, ...) is red."""
    if verdict == "CONFORMING":
        return "zc-good"
    return "zc-warn" if verdict.startswith("CONFORMING") else "zc-bad"


def summary_html(
    summary: Summary,
    fixed: Iterable[BaselineEntry],
    strict: bool,
    doc_findings: Iterable[Finding] = (),
    version: str | None = None,
    writes: Mapping[str, Any] | None = None,
) -> str:
    """``writes``: :func:`writes_summary` of a writes-mode run (None: read-only, no table)."""
    return render(
        "conformance_summary.html.j2",
        summary=summary,
        verdict_class=verdict_class(summary.verdict),
        fixed=list(fixed),
        strict=strict,
        family_titles=FAMILY_TITLES,
        doc_findings=list(doc_findings),
        version=version,
        writes=writes,
    )


def writes_summary(settings: Settings, state: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the "Created by this run" table shows (the session-end cleanup has run by then)."""
    if not settings.allow_writes:
        return None
    created = list(state.get("created", []))
    remaining = left_behind(created)
    url = settings.url
    # None for the embedded mock: it stopped with the run, there is nothing to remove.
    command = CLEANUP_COMMAND.format(url=url, run_id=settings.run_id) if url is not None else None
    return {
        "line": writes_line(settings),
        "run_id": settings.run_id,
        "created": created,
        "cleaned": len(created) - len(remaining),
        "left_behind": len(remaining),
        "command": command,
        "polling": state.get("polling", {"jobs": 0, "polls": 0, "pollingSeconds": 0.0}),
        "problems": list(state.get("problems", [])),
    }


def findings_html(record: CheckRecord) -> str:
    return render("findings.html.j2", record=record, body_limit=EVIDENCE_BODY_LIMIT)


def escaped_environment(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """pytest-html's script puts environment values into the page as HTML (``innerHTML``), and some are server
    text (the ZStack version GetVersion answered). Escaped here, they show as the text they are. The top-level
    names are set as text by that script, so they stay as they are."""
    return {key: _escaped_value(value) for key, value in metadata.items()}


def _escaped_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        # Shown as "key: value" items, both parts inserted as HTML.
        return {escape(str(k)): escape(str(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape(str(v)) for v in value]
    return escape(str(value))


class HtmlReportHooks:
    """Bound to the run's results at configure time; pytest-html calls these at report time."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._report: Any = None  # pytest-html's ReportData, handed over at session start

    def run_summary(self) -> Summary:
        """The one place the page's summary is built: a run that stopped early must reach here with its verdict
        (NOT RUN, INTERRUPTED) and reason, which the template shows whatever they say."""
        return run_summary(self.config)

    @pytest.hookimpl
    def pytest_html_report_title(self, report: Any) -> None:
        self._report = report
        report.title = f"ZStack contract report: {self.config.stash[RESULTS].meta.get('target', '')}"

    @pytest.hookimpl
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        fixed = self.config.stash.get(FIXED, [])
        # Documentation findings are records, not tests, so no result row shows them: list them under the verdict.
        docs = [f for r in self.config.stash[RESULTS].records if r.family == DOC_FAMILY for f in r.findings]
        version = self.config.stash[RESULTS].meta.get("version")
        settings = self.config.stash[SETTINGS]
        writes = writes_summary(settings, writes_state(self.config))
        prefix.append(summary_html(self.run_summary(), fixed, settings.strict, docs, version, writes))
        # Called at session finish, right before the page is written: the environment is complete by now.
        if self._report is not None:
            environment = self._report.data.get("environment")
            if isinstance(environment, Mapping):
                self._report.set_data("environment", escaped_environment(environment))
