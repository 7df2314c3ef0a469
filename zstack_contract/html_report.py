"""pytest-html hooks: a conformance summary on top, the run's facts in the header, findings per test.

Registered by the plugin only when pytest-html is active (its hook names are unknown to pytest otherwise).
"""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from zstack_contract.baseline import BaselineEntry
from zstack_contract.results import CheckRecord
from zstack_contract.stash import FIXED, RESULTS, SETTINGS
from zstack_contract.summary import FAMILY_TITLES, Summary, Tally, summarize

STYLE = """
<style>
/* pytest-html puts the environment table first; the verdict is what a reader needs first, so reorder. */
body{display:flex;flex-direction:column;align-items:stretch}
body>*{order:10}#title{order:0}body>p:first-of-type{order:1}.summary{order:2}
#environment-header{order:3}#environment{order:4;align-self:flex-start}
.zc-summary{font-family:sans-serif;margin:0 0 1.5em 0}
.zc-verdict{font-size:1.6em;font-weight:bold;padding:.4em .6em;border-radius:4px;display:inline-block}
.zc-bad{background:#fde2e1;color:#8a1c13}.zc-warn{background:#fff4d6;color:#7a5200}.zc-good{background:#e3f6e5;color:#1d5e2a}
.zc-table{border-collapse:collapse;margin-top:.8em}.zc-table td,.zc-table th{border:1px solid #ccc;padding:.25em .6em}
.zc-table th{background:#f3f3f3;text-align:left}.zc-num{text-align:right}
.zc-rules li{font-family:monospace}
.zc-finding{border-collapse:collapse;margin:.4em 0}
.zc-finding td,.zc-finding th{border:1px solid #ddd;padding:.2em .5em}
.zc-finding th{background:#f7f7f7;text-align:left}
</style>
"""


def _verdict_class(summary: Summary) -> str:
    if summary.total.must_broken:
        return "zc-bad"
    return "zc-warn" if summary.total.should_broken else "zc-good"


def _row(label: str, tally: Tally) -> str:
    return (
        f"<tr><td>{escape(label)}</td><td class='zc-num'>{tally.checks}</td>"
        f"<td class='zc-num'>{tally.must_broken}</td><td class='zc-num'>{tally.should_broken}</td>"
        f"<td class='zc-num'>{tally.baselined}</td><td class='zc-num'>{tally.doc_findings}</td>"
        f"<td class='zc-num'>{tally.must_score:.0f}%</td><td class='zc-num'>{tally.should_score:.0f}%</td></tr>"
    )


def summary_html(records: list[CheckRecord], fixed: list[BaselineEntry], strict: bool) -> str:
    summary = summarize(records)
    total = summary.total
    parts = [
        STYLE,
        "<section class='zc-summary' id='zstack-conformance-summary'>",
        "<h2>ZStack contract conformance</h2>",
        f"<div class='zc-verdict {_verdict_class(summary)}' id='zstack-verdict'>{escape(summary.verdict)}</div>",
        f"<p>Level: <b>{'strict (must and should gate)' if strict else 'default (must gates, should reported)'}"
        f"</b>. Score: must <b>{total.must_score:.0f}%</b> ({total.checks - total.must_broken}/{total.checks} "
        f"checks), should <b>{total.should_score:.0f}%</b>; {total.baselined} baselined, {summary.skipped} skipped."
        "</p>",
    ]
    if total.broken_rules:
        parts.append("<p>Broken rules:</p><ul class='zc-rules' id='zstack-broken-rules'>")
        parts += [f"<li>{escape(rule)}</li>" for rule in sorted(total.broken_rules)]
        parts.append("</ul>")
    if fixed:
        parts.append("<p>Fixed since the baseline:</p><ul class='zc-rules' id='zstack-fixed'>")
        parts += [f"<li>{escape(e.key)}</li>" for e in fixed]
        parts.append("</ul>")
    parts.append(
        "<table class='zc-table' id='zstack-family-table'><tr><th>API / check family</th><th>checks</th>"
        "<th>must broken</th><th>should broken</th><th>baselined</th><th>doc findings</th><th>must score</th>"
        "<th>should score</th></tr>"
    )
    for (api, family), tally in summary.by_api_family.items():
        parts.append(_row(f"{api} / {FAMILY_TITLES.get(family, family)}", tally))
    parts.append(_row("all (documentation excluded)", total))
    parts.append("</table></section>")
    return "".join(parts)


def findings_html(record: CheckRecord) -> str:
    rows = "".join(
        f"<tr><td>{escape(f.level.value)}</td><td>{escape(f.rule)}</td><td>{escape(f.path)}</td>"
        f"<td>{escape(f.expected)}</td><td>{escape(f.actual)}</td><td>{escape(f.note)}</td></tr>"
        for f in record.findings
    )
    evidence = ""
    if record.evidence:
        evidence = (
            f"<p><b>Request</b> <code>{escape(str(record.evidence.get('request', '')))}</code><br>"
            f"<b>Response</b> HTTP {escape(str(record.evidence.get('status')))}: "
            f"<code>{escape(str(record.evidence.get('body', ''))[:1500])}</code></p>"
        )
    return (
        f"<div class='zc-findings'><p><b>{escape(record.api)}</b> · {escape(record.family)} · "
        f"{escape(record.case)} · outcome <b>{escape(record.outcome)}</b></p>"
        "<table class='zc-finding'><tr><th>level</th><th>rule</th><th>JSON path</th><th>expected</th>"
        f"<th>actual</th><th>note</th></tr>{rows}</table>{evidence}</div>"
    )


class HtmlReportHooks:
    """Bound to the run's results at configure time; pytest-html calls these at report time."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"ZStack contract report: {self.config.stash[RESULTS].meta.get('target', '')}"

    @pytest.hookimpl
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        records = self.config.stash[RESULTS].records
        prefix.append(summary_html(records, self.config.stash.get(FIXED, []), self.config.stash[SETTINGS].strict))
