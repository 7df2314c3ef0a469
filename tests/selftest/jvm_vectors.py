"""The committed JVM parse vectors (data/jvm-double-valueof.json), as pytest parameters.

The oracle, the mock and the independent server each parse query numbers their own way; all three are checked
against this one file, whose rows come from the protocol notes and the Java SE specification, not from any of
the three parsers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

VECTORS_FILE = Path(__file__).parent / "data" / "jvm-double-valueof.json"


@dataclass(frozen=True)
class JvmVector:
    group: str
    description: str
    input: str
    accepted: bool
    int_value: int | None


def load_vectors(path: Path = VECTORS_FILE) -> list[JvmVector]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return [
        JvmVector(group["description"], test["description"], test["input"], test["accepted"], test["intValue"])
        for group in data["groups"]
        for test in group["tests"]
    ]


VECTORS = load_vectors()


def vector_params() -> list[Any]:
    return [pytest.param(v, id=f"{v.description}:{v.input!a}") for v in VECTORS]
