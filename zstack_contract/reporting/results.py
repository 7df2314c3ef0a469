"""One record per contract check, written as JSON that two runs can be compared by."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zstack_contract.engine.findings import CheckRecord

RESULTS_FORMAT = 1


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


