"""The judge: findings in, a pytest outcome out (fail, xfail or pass), and a record for the reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from _pytest.outcomes import Skipped  # pytest.skip.Exception, named so a class can derive from it

from zstack_contract.engine.checks import error_code
from zstack_contract.engine.findings import CheckRecord, Finding
from zstack_contract.engine.verdict import Status, Verdict, decide, headline, render
from zstack_contract.pytest.stash import BASELINE, EXAMPLES, FAILURE, HALT, PENDING, RECORD, SETTINGS, STOPPED, TARGET
from zstack_contract.reporting.summary import NOT_RUN, NOT_SERVED_RULE, Halt
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Exchange, TargetUnreachableError
from zstack_contract.transport.secret import mask_text
from zstack_contract.transport.target import Target, TargetError

# Errors that mean the node, not a contract rule, stopped the check: the run ends without a verdict.
TARGET_ERRORS: tuple[type[BaseException], ...] = (TargetUnreachableError, TargetError)
SESSION_RULE = "request.authenticated"
INVALID_SESSION = "ID.1001"
# Gating rules whose failure does not depend on the generated input: the API is missing, the body cannot be
# judged at all, the session was refused.
INPUT_INDEPENDENT = frozenset({NOT_SERVED_RULE, "response.unjudgeable", SESSION_RULE})
SESSION_DEAD = "the run's session was invalidated during the run (a dead session is not a server conformance result)"
SESSION_ALIVE = "the session is still valid (ValidateSession)"
SESSION_UNKNOWN = "whether the session is still valid could not be told (ValidateSession gave no answer)"



class StopGenerating(Skipped):
    """Ends a property test at its first input-independent failure (see :data:`INPUT_INDEPENDENT`)."""


FAMILY_MARK = "zstack_family"  # pytest.mark.zstack_family(Family.X) on a contract test module


class Judge:
    """Turns findings into the test's outcome and records them for the reports."""

    def __init__(
        self, item: pytest.Item, settings: Settings, known: frozenset[str], target: Target | None = None
    ) -> None:
        self.item = item
        self.settings = settings
        self.known = known
        self.target = target
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
        exchanges = list(exchanges)
        findings = self._recheck_session(list(findings), exchanges)
        self._note_not_served(api, findings, exchanges)
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
        findings = self._recheck_session(list(findings), [exchange])
        self._note_not_served(api, findings, [exchange])
        self.item.stash[EXAMPLES] = self.item.stash.get(EXAMPLES, 0) + 1
        verdict = decide(findings, strict=self.settings.strict, known=self.known, accept_all=self.accept_all)
        pending = self.item.stash.setdefault(PENDING, {})
        for f in verdict.reported + verdict.baselined:
            if f.key not in pending:
                # Only what the report shows: the exchange itself (its whole body) is not kept per item.
                pending[f.key] = (f, exchange.describe(), exchange.to_json())
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
            if any(f.rule in INPUT_INDEPENDENT for f in verdict.gating):
                # No smaller input can explain it: shrinking would only resend (a 50 MB body, a missing API)
                # hundreds of times. A skip is the one exception hypothesis re-raises at once; the report
                # turns it back into this failure (finish_report).
                self.item.stash[STOPPED] = True
                raise StopGenerating(record.message)
            pytest.fail(record.message, pytrace=False)

    def _note_not_served(self, api: ApiContract, findings: list[Finding], exchanges: list[Exchange]) -> None:
        """Only a 404 on the API's own path makes it "not served": a Query API whose short form
        (``/zones/{uuid}``) answers 404 is served, and that 404 is a finding of its own (query.uuid)."""
        if self.target is None or not any(f.rule == NOT_SERVED_RULE for f in findings):
            return
        if not exchanges or any(ex.status == 404 and api.is_own_path(ex.path) for ex in exchanges):
            self.target.not_served.setdefault(api.name, self.item.nodeid)

    def _recheck_session(self, findings: list[Finding], exchanges: list[Exchange]) -> list[Finding]:
        """A refused valid session is either the server's fault or a dead session: ask the node which. So is any
        finding made of an answer saying the session is invalid (ID.1001), even to a call that sent none (a job
        poll): a node that refuses everything once the run's session died is no conformance result.

        A dead session ends the run without a verdict; a live one leaves the must-failure standing, noted.
        """
        if self.target is None or not findings:
            return findings
        refused = any(f.rule == SESSION_RULE for f in findings)
        if not refused and not any(error_code(ex) == INVALID_SESSION for ex in exchanges):
            return findings
        valid = self.target.session_is_valid()
        if valid is False:
            halt_run(self.item.session, Halt(NOT_RUN, SESSION_DEAD))
            pytest.skip(f"{NOT_RUN}: {SESSION_DEAD}")
        note = SESSION_ALIVE if valid else SESSION_UNKNOWN
        return [
            dataclasses.replace(f, note=f"{f.note}; {note}" if f.note else note) if f.rule == SESSION_RULE else f
            for f in findings
        ]


def halt_run(session: pytest.Session, halt: Halt) -> None:
    """End the run after the current test, without a verdict; the first reason given is the one reported."""
    config = session.config
    if HALT not in config.stash:
        config.stash[HALT] = halt
    session.shouldstop = f"{halt.verdict}: {config.stash[HALT].reason}"


def target_error(exc: BaseException | None, depth: int = 0) -> BaseException | None:
    """The node error behind an exception, however wrapped (exception groups, causes); None if there is none."""
    if exc is None or depth > 8:
        return None
    if isinstance(exc, TARGET_ERRORS):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = target_error(inner, depth + 1)
            if found is not None:
                return found
    return target_error(exc.__cause__ or exc.__context__, depth + 1)


def halt_on_target_error(test: Callable[..., Any], session: pytest.Session) -> Callable[..., Any]:
    """Wrap a property test's body: a node error ends the run at once, instead of hypothesis retrying it.

    A skip is the one exception hypothesis re-raises without shrinking or replaying.
    """

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return test(*args, **kwargs)
        except TARGET_ERRORS as exc:
            halt_run(session, Halt(NOT_RUN, node_error_reason(exc)))
            pytest.skip(f"{NOT_RUN}: {node_error_reason(exc)}")

    guarded.__name__ = getattr(test, "__name__", "test")
    return guarded


def node_error_reason(exc: BaseException) -> str:
    return f"the management node stopped answering: {exc}" if isinstance(exc, TargetUnreachableError) else str(exc)


def settle_target_error(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """A node error raised by a test or fixture is not a finding: the report becomes a NOT RUN skip."""
    if call.excinfo is None or not report.failed:
        return
    found = target_error(call.excinfo.value)
    if found is None:
        return
    reason = node_error_reason(found)
    halt_run(item.session, Halt(NOT_RUN, reason))
    path, line, _ = item.location
    report.outcome = "skipped"
    report.longrepr = (path, (line or 0) + 1, f"{NOT_RUN}: {reason}")


def known_secrets(config: pytest.Config) -> tuple[str, ...]:
    """Every secret this process knows: the client's (sessions, hashed password) and the given session.

    The plain-text password is left out on purpose: it never goes on the wire and lives only in a ``Secret``,
    while masking it as text would rewrite every ``"password"`` JSON key when it is ZStack's factory password.
    """
    values: set[str] = set()
    target = config.stash.get(TARGET, None)
    if target is not None:
        values.update(target.client.secrets)
    settings = config.stash.get(SETTINGS, None)
    if settings is not None and settings.session:
        values.add(settings.session.reveal())
    return tuple(v for v in values if v)


def _mask_json(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, list):
        return [_mask_json(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _mask_json(v, secrets) for k, v in value.items()}
    return value


def _masked(record: CheckRecord, secrets: tuple[str, ...]) -> CheckRecord:
    return CheckRecord.from_json(_mask_json(record.to_json(), secrets)) if secrets else record


def scrub_report(report: pytest.TestReport, secrets: tuple[str, ...]) -> None:
    """Defence in depth: no secret this process knows leaves it on a report (traceback, locals, captured output)."""
    if not secrets:
        return
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        path, line, reason = longrepr
        report.longrepr = (path, line, mask_text(reason, secrets))
    elif longrepr is not None:
        text = str(longrepr)
        masked = mask_text(text, secrets)
        if masked != text:
            report.longrepr = masked  # the plain text replaces pytest's rich repr only where it held a secret
    report.sections = [(title, mask_text(content, secrets)) for title, content in report.sections]
    report.user_properties = [(name, _mask_json(value, secrets)) for name, value in report.user_properties]


def finish_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """Settle the item's record on its report: outcome, JUnit properties, HTML extras, the record itself."""
    if report.when == "call" and report.passed and item.stash.get(PENDING, None):
        report_pending(item, report)
    record = item.stash.get(RECORD, None)
    if report.when == "call" and report.skipped and item.stash.get(STOPPED, False):
        # Generation stopped at an input-independent failure (StopGenerating): the recorded failure stands.
        report.outcome = "failed"
        report.longrepr = item.stash[FAILURE].message
    if report.skipped and HALT in item.config.stash:
        # Ended by the halt: whatever earlier examples recorded, this check did not complete.
        record = None
    if report.when == "call" and report.failed and FAILURE in item.stash:
        record = item.stash[RECORD] = item.stash[FAILURE]
        if "FlakyFailure" in report.longreprtext:
            # The node answered the same request differently when hypothesis replayed it (a server whose
            # answers vary, e.g. a generating mock): the recorded contract failure is the result, not a traceback
            # of hypothesis' bookkeeping.
            report.longrepr = (
                f"{record.message}\n\n(the same request, repeated, was answered differently: the node's answers "
                "vary between calls, so hypothesis could not replay this failure)"
            )
    if record is not None and report.when == "call" and report.failed and record.outcome != Status.FAILED.value:
        # Failed outside the judge (an assertion in the test, or hypothesis' final replay of a generated case).
        record.outcome = Status.FAILED.value
        record.message = record.message or str(report.longrepr)[-4000:]
    secrets = known_secrets(item.config)
    if record is not None:
        record = _masked(record, secrets)
    if record is not None and report.when == "call":
        report.user_properties.append(("zstack_outcome", record.outcome))
        if record.rule:
            report.user_properties.append(("zstack_rule", record.rule))
        if record.findings:
            from pytest_html import extras

            from zstack_contract.pytest.html_report import findings_html

            # pytest-html reads report.extras; TestReport keeps (and xdist serialises) extra attributes.
            report.__dict__["extras"] = [*getattr(report, "extras", []), extras.html(findings_html(record))]
    ended = report.when == "call" or (report.when == "setup" and (report.skipped or report.failed))
    if ended:
        if record is None:
            record = _masked(record_without_judge(item, report), secrets)
        # Carried on the report so that it reaches the controller under pytest-xdist (reports are serialised).
        report.__dict__["zstack_record"] = record.to_json()


def family_of(item: pytest.Item) -> str:
    """The family a test module declares (``pytestmark = pytest.mark.zstack_family(Family.X)``)."""
    mark = item.get_closest_marker(FAMILY_MARK)
    return str(mark.args[0]) if mark is not None and mark.args else "suite"


def record_without_judge(item: pytest.Item, report: pytest.TestReport) -> CheckRecord:
    """A test that ended before its judge (skip, setup error, crash) still counts, under its API and family."""
    callspec = getattr(item, "callspec", None)
    # The API parameter goes by the test's name for it (api, query_api, no_auth_api).
    params = callspec.params.values() if callspec is not None else ()
    api = next((value for value in params if isinstance(value, ApiContract)), None)
    outcome = "skipped" if report.skipped else ("failed" if report.failed else "passed")
    return CheckRecord(
        test=item.nodeid,
        api=api.name if isinstance(api, ApiContract) else "(suite)",
        family=family_of(item),
        case="",
        rule="",
        level="must",
        outcome=outcome,
        message=str(report.longrepr)[-2000:] if report.longrepr else "",
    )


def report_pending(item: pytest.Item, report: pytest.TestReport) -> None:
    """A generated test whose examples broke only non-gating rules ends as xfailed, with every finding listed."""
    pending = item.stash[PENDING]
    findings = [f for f, _, _ in pending.values()]
    settings = item.config.stash[SETTINGS]
    verdict = decide(
        findings, strict=settings.strict, known=item.config.stash[BASELINE], accept_all=settings.update_baseline
    )
    evidence = "\n".join(text for _, text, _ in pending.values())
    record = item.stash[RECORD]
    record.outcome = verdict.status.value
    record.findings = list(verdict.findings)
    record.message = render(verdict, evidence)
    record.evidence = next(iter(pending.values()))[2]
    report.outcome = "skipped"
    report.wasxfail = headline(verdict)
    report.sections.append(("zstack-contract findings", record.message))
