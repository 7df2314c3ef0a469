"""Accepted, known findings: shown, not gating. New ones still fail the run; vanished ones are reported fixed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zstack_contract.engine.findings import Finding, Level

BASELINE_FORMAT = 1
DEFAULT_REASON = "accepted on {date}: replace this with why the finding is acceptable"


class BaselineError(ValueError):
    pass


@dataclass(frozen=True)
class BaselineEntry:
    key: str
    api: str
    case: str
    rule: str
    level: str
    path: str
    reason: str
    since: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "api": self.api,
            "case": self.case,
            "rule": self.rule,
            "level": self.level,
            "path": self.path,
            "reason": self.reason,
            "since": self.since,
        }


@dataclass(frozen=True)
class Baseline:
    entries: dict[str, BaselineEntry]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.entries)

    @classmethod
    def load(cls, path: Path, *, may_be_missing: bool = False) -> Baseline:
        if not path.exists():
            if may_be_missing:
                return cls({})
            raise BaselineError(
                f"baseline {path} does not exist: create it from a run with --zstack-baseline {path} "
                "--zstack-update-baseline, then give each finding a reason"
            )
        if not path.is_file():
            raise BaselineError(f"baseline {path} is not a file (a folder?): give the baseline JSON file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise BaselineError(f"baseline {path} is not UTF-8 text (a binary file?)") from None
        except OSError as exc:
            raise BaselineError(f"baseline {path} cannot be read: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("baselineFormat") != BASELINE_FORMAT:
            raise BaselineError(f"baseline {path}: expected a baselineFormat {BASELINE_FORMAT} file")
        findings = data.get("findings", [])
        if not isinstance(findings, list):
            raise BaselineError(f"baseline {path}: 'findings' must be a list of entries")
        entries = {}
        fields = BaselineEntry.__dataclass_fields__
        for number, raw in enumerate(findings, 1):
            if not isinstance(raw, dict):
                raise BaselineError(f"baseline {path}: entry {number} is not an object: {raw!r:.200}")
            missing = [k for k in fields if k not in raw]
            if missing:
                raise BaselineError(f"baseline {path}: entry {number} lacks {', '.join(missing)}: {raw!r:.200}")
            bad = [k for k in fields if not isinstance(raw[k], str)]
            if bad:
                raise BaselineError(f"baseline {path}: entry {number}: {', '.join(bad)} must be text: {raw!r:.200}")
            entry = BaselineEntry(**{k: raw[k] for k in fields})
            entries[entry.key] = entry
        return cls(entries)

    def updated(self, findings: Iterable[Finding], today: dt.date) -> Baseline:
        """This run's gating-eligible findings; reasons already written for a key are kept."""
        entries: dict[str, BaselineEntry] = {}
        for f in findings:
            if f.level is Level.DOC or f.key in entries:
                continue
            old = self.entries.get(f.key)
            entries[f.key] = BaselineEntry(
                key=f.key,
                api=f.api,
                case=f.case,
                rule=f.rule,
                level=f.level.value,
                path=f.path,
                reason=old.reason if old else DEFAULT_REASON.format(date=today.isoformat()),
                since=old.since if old else today.isoformat(),
            )
        return Baseline(dict(sorted(entries.items())))

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"baselineFormat": BASELINE_FORMAT, "findings": [e.to_json() for e in self.entries.values()]}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def fixed(self, seen_keys: set[str], ran_cases: set[tuple[str, str]]) -> list[BaselineEntry]:
        """Entries whose check ran this time without producing them."""
        return [e for k, e in self.entries.items() if k not in seen_keys and (e.api, e.case) in ran_cases]
