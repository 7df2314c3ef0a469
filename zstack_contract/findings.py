"""What a contract check reports: one finding per broken rule, with enough context for a person to act."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    MUST = "must"  # gates by default
    SHOULD = "should"  # reported; gates with --zstack-strict
    DOC = "doc"  # the documentation disagrees with itself or with the wire; never the server's fault


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
            "rule": self.rule,
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


def excerpt(value: Any, limit: int = 300) -> str:
    """A short, single-line rendering of a JSON value for messages."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."
