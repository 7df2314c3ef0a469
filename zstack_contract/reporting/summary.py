"""The conformance summary of a run: per API and check family, must and should counted apart, and a score."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from zstack_contract.engine.findings import CheckRecord, Family

NOT_SERVED_RULE = "api.not-served"
NOT_SERVED_FAMILY = "not-served"  # where a missing API is counted, once, in the per-API table
FAMILIES = tuple(Family)
FAMILY_TITLES = {
    Family.PARAMETERS: "parameters",
    Family.AUTH: "auth",
    Family.SHAPE: "response shape",
    Family.QUERY: "Query API",
    Family.SESSIONS: "sessions and version",
    Family.EXAMPLES: "documented examples",
    Family.GENERATED: "generated (property-based)",
    Family.ASYNC: "async jobs",
    Family.LIFECYCLE: "write lifecycle",
    Family.DOCS: "documentation consistency",
    NOT_SERVED_FAMILY: "NOT SERVED by the target",
}


@dataclass
class Tally:
    checks: int = 0
    must_broken: int = 0
    should_broken: int = 0
    baselined: int = 0
    doc_findings: int = 0
    broken_rules: set[str] = field(default_factory=set)

    def add(self, record: CheckRecord) -> None:
        self.checks += 1
        levels = {f.level.value for f in record.findings}
        if record.outcome == "failed" and ("must" in levels or not record.findings):
            self.must_broken += 1
        if "should" in levels:
            self.should_broken += 1
        if record.outcome == "baselined":
            self.baselined += 1
        if "doc" in levels:
            self.doc_findings += 1
        self.broken_rules.update(f"{f.rule} ({f.level.value})" for f in record.findings if f.level.value != "doc")
        if record.outcome == "failed" and not record.findings:
            self.broken_rules.add(f"{record.rule or record.test} (error)")

    @property
    def must_score(self) -> float:
        return 100.0 * (self.checks - self.must_broken) / self.checks if self.checks else 100.0

    @property
    def should_score(self) -> float:
        return 100.0 * (self.checks - self.should_broken) / self.checks if self.checks else 100.0


NOT_RUN = "NOT RUN"
INTERRUPTED = "INTERRUPTED"
# A run in which no contract check ran (collect-only, a selection that matched nothing, every test skipped)
# has seen nothing of the server: it is never CONFORMING.
NO_CHECK_RAN = "no contract check ran (--collect-only, no test selected, or every test skipped): nothing was judged"
NOT_EXERCISED = "not-exercised"  # the outcome of an API a read-only run leaves alone (zstack_contract.pytest.exercise)


@dataclass(frozen=True)
class Halt:
    """Why a run has no conformance verdict: it did not run (exit 4) or was interrupted (exit 2)."""

    verdict: str  # NOT_RUN or INTERRUPTED
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"verdict": self.verdict, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Halt:
        return cls(data["verdict"], data["reason"])


@dataclass
class Summary:
    by_api_family: dict[tuple[str, str], Tally]
    total: Tally
    skipped: int
    halt: Halt | None = None
    # APIs a read-only run did not send, each with the reason: neither passed nor failed.
    not_exercised: dict[str, str] = field(default_factory=dict)
    # APIs the target does not serve, each with what it answered: one must-broken check per API, however many
    # tests ran into it.
    not_served: dict[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """Why the verdict is NOT RUN or INTERRUPTED; empty for a run that completed."""
        return self.halt.reason if self.halt is not None else ""

    @property
    def verdict(self) -> str:
        # A run that did not complete has no conformance verdict, whatever the checks that ran said.
        if self.halt is not None:
            return self.halt.verdict
        if self.total.must_broken:
            return "NOT CONFORMING"
        if self.total.should_broken:
            return "CONFORMING (must), with should-findings"
        return "CONFORMING"


def summarize(records: Iterable[CheckRecord], *, halt: Halt | None = None, of_run: bool = False) -> Summary:
    """The summary of ``records``; ``of_run``: they are a whole run's, so no check at all means NOT RUN."""
    by: dict[tuple[str, str], Tally] = {}
    total = Tally()
    skipped = 0
    not_exercised: dict[str, str] = {}
    not_served: dict[str, str] = {}
    for record in records:
        if record.outcome == NOT_EXERCISED:
            not_exercised[record.api] = record.message
            continue
        missing = next((f for f in record.findings if f.rule == NOT_SERVED_RULE), None)
        if missing is not None:
            # The API is missing: one entry, whichever tests found it (and under xdist, each worker may).
            if record.api not in not_served:
                not_served[record.api] = missing.actual
                total.add(record)
                by.setdefault((record.api, NOT_SERVED_FAMILY), Tally()).add(record)
            continue
        if record.outcome == "skipped" or not record.api:
            skipped += record.outcome == "skipped"
            continue
        # Documentation findings describe the page, not the server: they do not enter the score.
        if record.family != "docs":
            total.add(record)
        by.setdefault((record.api, record.family), Tally()).add(record)
    ordered = dict(sorted(by.items(), key=lambda kv: (kv[0][0], _family_order(kv[0][1]))))
    if of_run and halt is None and not total.checks:
        halt = Halt(NOT_RUN, NO_CHECK_RAN)
    return Summary(
        ordered, total, skipped, halt, dict(sorted(not_exercised.items())), dict(sorted(not_served.items()))
    )


def _family_order(family: str) -> int:
    return FAMILIES.index(family) if family in FAMILIES else len(FAMILIES)


def not_served_lines(summary: Summary) -> list[str]:
    """One line per API the target does not serve (a must failure, counted once per API)."""
    return [f"{api}: not served by the target ({answer})" for api, answer in summary.not_served.items()]


def not_exercised_lines(summary: Summary) -> list[str]:
    """One line per API the run left alone, with the reason (never counted as a pass or a failure)."""
    return [f"{api}: {reason}" for api, reason in summary.not_exercised.items()]


def one_line(summary: Summary) -> str:
    t = summary.total
    if summary.halt is not None:
        return f"{summary.verdict}: {summary.reason} ({t.checks} checks ran, no verdict)"
    return (
        f"{summary.verdict}: must {t.checks - t.must_broken}/{t.checks} checks ({t.must_score:.0f}%), "
        f"should {t.checks - t.should_broken}/{t.checks} ({t.should_score:.0f}%), {t.baselined} baselined"
        + (f"; broken rules: {', '.join(sorted(t.broken_rules))}" if t.broken_rules else "")
    )
