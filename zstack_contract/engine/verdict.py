"""From findings to a test outcome: which findings gate, which are reported, which are known (baselined)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from zstack_contract.engine.findings import Finding, Level


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # a gating finding not in the baseline
    REPORTED = "reported"  # should-findings in default mode: visible, not gating
    DOC = "doc-finding"  # the documentation, not the server, breaks a rule
    BASELINED = "baselined"  # every gating finding is an accepted, known one


@dataclass(frozen=True)
class Verdict:
    status: Status
    gating: tuple[Finding, ...]
    reported: tuple[Finding, ...]
    baselined: tuple[Finding, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.gating + self.baselined + self.reported


def decide(
    findings: Iterable[Finding], *, strict: bool, known: frozenset[str] = frozenset(), accept_all: bool = False
) -> Verdict:
    """Sort findings by whether they gate; ``accept_all`` (rewriting the baseline) treats every one as known."""
    gating: list[Finding] = []
    reported: list[Finding] = []
    baselined: list[Finding] = []
    docs: list[Finding] = []
    for f in findings:
        if f.level is Level.DOC:
            docs.append(f)
        elif f.level is Level.MUST or strict:
            (baselined if accept_all or f.key in known else gating).append(f)
        else:
            reported.append(f)
    if gating:
        status = Status.FAILED
    elif baselined:
        status = Status.BASELINED
    elif docs:
        status = Status.DOC
    elif reported:
        status = Status.REPORTED
    else:
        status = Status.PASSED
    return Verdict(status, tuple(gating), tuple(reported + docs), tuple(baselined))


_LABELS = {Status.REPORTED: "SHOULD (not gating)", Status.DOC: "DOC FINDING", Status.BASELINED: "BASELINED"}


def headline(verdict: Verdict) -> str:
    """One line for a non-gating outcome (the xfail reason): label, first finding, how many more."""
    first = verdict.findings[0]
    case = f" ({first.case})" if first.case else ""
    more = f" (+{len(verdict.findings) - 1} more)" if len(verdict.findings) > 1 else ""
    return (
        f"{_LABELS[verdict.status]}: {first.rule} at {first.path}{case}: expected {first.expected}; "
        f"got {first.actual}{more}"
    )


def render(verdict: Verdict, evidence: str) -> str:
    """The message a person reads: every finding, then the request and response that produced them."""
    blocks: list[str] = []
    if verdict.gating:
        blocks.append("Contract broken:\n" + "\n".join(f.describe() for f in verdict.gating))
    if verdict.baselined:
        blocks.append(
            "Known findings (in the baseline, not gating):\n" + "\n".join(f.describe() for f in verdict.baselined)
        )
    if verdict.reported:
        blocks.append(
            "Reported, not gating (pass --zstack-strict to gate should-rules):\n"
            + "\n".join(f.describe() for f in verdict.reported)
        )
    if evidence:
        blocks.append("Evidence:\n" + evidence)
    return "\n\n".join(blocks)
