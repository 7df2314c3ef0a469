"""What a contract check reports: one finding per broken rule, with enough context for a person to act."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    MUST = "must"  # gates by default
    SHOULD = "should"  # reported; gates with --zstack-strict
    DOC = "doc"  # the documentation disagrees with itself or with the wire; never the server's fault


class Family(StrEnum):
    """What kind of check a record comes from; the reports group by it, in this order.

    A contract test module declares its family with ``pytestmark = pytest.mark.zstack_family(Family.X)``, so the
    library never has to know the test files' names.
    """

    PARAMETERS = "parameters"
    AUTH = "auth"
    SHAPE = "shape"
    QUERY = "query"
    SESSIONS = "sessions"
    EXAMPLES = "examples"
    GENERATED = "generated"
    ASYNC = "async"
    LIFECYCLE = "lifecycle"
    DOCS = "docs"


@dataclass(frozen=True)
class Finding:
    """One broken rule. ``path`` is a JSON path into the body (``$`` for the whole response)."""

    api: str
    rule: str
    level: Level
    path: str
    expected: str
    actual: str
    note: str = ""
    case: str = ""  # which request of the suite produced it, e.g. "param:missing-url"

    @property
    def key(self) -> str:
        """Identity of a finding across runs (baselines, diffs): no values, which may vary run to run."""
        return finding_key(self.api, self.case, self.rule, self.path)

    def describe(self) -> str:
        lines = [
            f"[{self.level.value.upper()}] {self.api} {self.case}: rule {self.rule}",
            f"  at:       {self.path}",
            f"  expected: {self.expected}",
            f"  actual:   {self.actual}",
        ]
        if self.note:
            lines.append(f"  note:     {self.note}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "case": self.case,
            "rule": str(self.rule),
            "level": self.level.value,
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "note": self.note,
        }


_LIST_INDEX = re.compile(r"\[\d+\]")


def finding_key(api: str, case: str, rule: str, path: str) -> str:
    """List positions become [*]: which item of a list breaks a rule depends on the data, not on the contract."""
    return f"{api}|{case}|{rule}|{normalise_path(path)}"


def normalise_path(path: str) -> str:
    """``$.infos[3].size`` → ``$.infos[*].size``."""
    return _LIST_INDEX.sub("[*]", path)


@dataclass
class CheckRecord:
    """What one test checked and how it ended. ``test`` is the pytest node id, stable across runs."""

    test: str
    api: str
    family: str
    case: str
    rule: str
    level: str
    outcome: str
    message: str = ""
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        # Plain strings, never the enums (Family, Rule, Level are str subclasses): the record travels to the xdist
        # controller through execnet, which serialises exact built-in types only.
        return {
            "test": self.test,
            "api": self.api,
            "family": str(self.family),
            "case": self.case,
            "rule": str(self.rule),
            "level": str(self.level),
            "outcome": str(self.outcome),
            "message": self.message,
            "findings": [f.to_json() for f in self.findings],
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckRecord:
        return cls(
            test=data["test"],
            api=data["api"],
            family=data["family"],
            case=data["case"],
            rule=data["rule"],
            level=data["level"],
            outcome=data["outcome"],
            message=data.get("message", ""),
            findings=[finding_from_json(f) for f in data.get("findings", [])],
            evidence=data.get("evidence"),
        )


def finding_from_json(data: dict[str, Any]) -> Finding:
    return Finding(
        api=data["api"],
        rule=data["rule"],
        level=Level(data["level"]),
        path=data["path"],
        expected=data["expected"],
        actual=data["actual"],
        note=data.get("note", ""),
        case=data.get("case", ""),
    )
