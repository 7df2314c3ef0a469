"""The judge: findings in, a pytest outcome out (fail, xfail or pass), and a record for the reports."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from zstack_contract.client import Exchange
from zstack_contract.contract import ApiContract
from zstack_contract.findings import Finding
from zstack_contract.results import CheckRecord
from zstack_contract.settings import Settings
from zstack_contract.stash import BASELINE, EXAMPLES, FAILURE, PENDING, RECORD, SETTINGS
from zstack_contract.verdict import Status, Verdict, decide, headline, render

# Test module → check family, for records of tests that ended without reaching the judge (errors, crashes).
FAMILY_OF_MODULE = {
    "test_parameters": "parameters",
    "test_auth": "auth",
    "test_response_shape": "shape",
    "test_examples": "examples",
    "test_generated": "generated",
    "test_list_encodings": "parameters",
}


class Judge:
    """Turns findings into the test's outcome and records them for the reports."""

    def __init__(self, item: pytest.Item, settings: Settings, known: frozenset[str]) -> None:
        self.item = item
        self.settings = settings
        self.known = known
        # Rewriting the baseline: every finding of this run is accepted, so the run completes and records all.
        self.accept_all = settings.update_baseline

    def __call__(
        self,
        api: ApiContract,
        family: str,
        case: str,
        findings: Iterable[Finding],
        exchanges: Iterable[Exchange] = (),
        rule: str = "",
    ) -> Verdict:
        findings = list(findings)
        exchanges = list(exchanges)
        verdict = decide(findings, strict=self.settings.strict, known=self.known, accept_all=self.accept_all)
        evidence = "\n".join(ex.describe() for ex in exchanges)
        message = render(verdict, evidence) if findings else ""
        self.item.stash[RECORD] = CheckRecord(
            test=self.item.nodeid,
            api=api.name,
            family=family,
            case=case,
            rule=rule or (findings[0].rule if findings else ""),
            level=max((f.level.value for f in findings), default="must"),
            outcome=verdict.status.value,
            message=message,
            findings=list(verdict.findings),
            evidence=exchanges[-1].to_json() if exchanges else None,
        )
        if verdict.status is Status.FAILED:
            pytest.fail(message, pytrace=False)
        if verdict.status is not Status.PASSED:
            pytest.xfail(headline(verdict))
        return verdict

    def collect(
        self, api: ApiContract, family: str, case: str, findings: Iterable[Finding], exchange: Exchange
    ) -> None:
        """For generated examples: raise on gating findings (so hypothesis shrinks), keep the rest for the end."""
        findings = list(findings)
        self.item.stash[EXAMPLES] = self.item.stash.get(EXAMPLES, 0) + 1
        verdict = decide(findings, strict=self.settings.strict, known=self.known, accept_all=self.accept_all)
        pending = self.item.stash.setdefault(PENDING, {})
        for f in verdict.reported + verdict.baselined:
            pending.setdefault(f.key, (f, exchange))
        record = CheckRecord(
            self.item.nodeid,
            api.name,
            family,
            case,
            findings[0].rule if findings else "generated",
            "must",
            verdict.status.value,
        )
        self.item.stash[RECORD] = record
        if verdict.status is Status.FAILED:
            record.message = render(verdict, exchange.describe())
            record.findings = list(verdict.findings)
            record.evidence = exchange.to_json()
            # Hypothesis replays the minimal failing example last but may run passing ones after it.
            self.item.stash[FAILURE] = record
            pytest.fail(record.message, pytrace=False)


def finish_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """Settle the item's record on its report: outcome, JUnit properties, HTML extras, the record itself."""
    if report.when == "call" and report.passed and item.stash.get(PENDING, None):
        report_pending(item, report)
    record = item.stash.get(RECORD, None)
    if report.when == "call" and report.failed and FAILURE in item.stash:
        record = item.stash[RECORD] = item.stash[FAILURE]
    if record is not None and report.when == "call" and report.failed and record.outcome != Status.FAILED.value:
        # Failed outside the judge (an assertion in the test, or hypothesis' final replay of a generated case).
        record.outcome = Status.FAILED.value
        record.message = record.message or str(report.longrepr)[-4000:]
    if record is not None and report.when == "call":
        report.user_properties.append(("zstack_outcome", record.outcome))
        if record.rule:
            report.user_properties.append(("zstack_rule", record.rule))
        if record.findings:
            from pytest_html import extras

            from zstack_contract.html_report import findings_html

            # pytest-html reads report.extras; TestReport keeps (and xdist serialises) extra attributes.
            report.__dict__["extras"] = [*getattr(report, "extras", []), extras.html(findings_html(record))]
    ended = report.when == "call" or (report.when == "setup" and (report.skipped or report.failed))
    if ended:
        if record is None:
            record = record_without_judge(item, report)
        # Carried on the report so that it reaches the controller under pytest-xdist (reports are serialised).
        report.__dict__["zstack_record"] = record.to_json()


def record_without_judge(item: pytest.Item, report: pytest.TestReport) -> CheckRecord:
    """A test that ended before its judge (skip, setup error, crash) still counts, under its API and family."""
    callspec = getattr(item, "callspec", None)
    api = callspec.params.get("api") if callspec is not None else None
    module = getattr(getattr(item, "module", None), "__name__", "").rsplit(".", 1)[-1]
    outcome = "skipped" if report.skipped else ("failed" if report.failed else "passed")
    return CheckRecord(
        test=item.nodeid,
        api=api.name if isinstance(api, ApiContract) else "(suite)",
        family=FAMILY_OF_MODULE.get(module, module),
        case="",
        rule="",
        level="must",
        outcome=outcome,
        message=str(report.longrepr)[-2000:] if report.longrepr else "",
    )


def report_pending(item: pytest.Item, report: pytest.TestReport) -> None:
    """A generated test whose examples broke only non-gating rules ends as xfailed, with every finding listed."""
    pending = item.stash[PENDING]
    findings = [f for f, _ in pending.values()]
    settings = item.config.stash[SETTINGS]
    verdict = decide(
        findings, strict=settings.strict, known=item.config.stash[BASELINE], accept_all=settings.update_baseline
    )
    evidence = "\n".join(ex.describe() for _, ex in pending.values())
    record = item.stash[RECORD]
    record.outcome = verdict.status.value
    record.findings = list(verdict.findings)
    record.message = render(verdict, evidence)
    record.evidence = next(iter(pending.values()))[1].to_json()
    report.outcome = "skipped"
    report.wasxfail = headline(verdict)
    report.sections.append(("zstack-contract findings", record.message))
