"""One record per contract check, written as JSON that two runs can be compared by."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zstack_contract.findings import Finding, Level

RESULTS_FORMAT = 1


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
        return {
            "test": self.test,
            "api": self.api,
            "family": self.family,
            "case": self.case,
            "rule": self.rule,
            "level": self.level,
            "outcome": self.outcome,
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


@dataclass
class RunResults:
    meta: dict[str, Any]
    records: list[CheckRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "resultsFormat": RESULTS_FORMAT,
            "meta": self.meta,
            "records": [r.to_json() for r in sorted(self.records, key=lambda r: r.test)],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_results(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no such results file (a contract run writes reports/contract-results.json)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a results file: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a results file: top level is not a JSON object")
    if data.get("resultsFormat") != RESULTS_FORMAT:
        raise ValueError(f"{path}: results format {data.get('resultsFormat')!r}, expected {RESULTS_FORMAT}")
    return data


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
