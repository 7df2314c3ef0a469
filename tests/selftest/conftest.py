"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"


def docs_dir() -> Path:
    """The published pages: ../shared/api-docs beside the checkout, or ZSTACK_CONTRACT_DOCS."""
    return Path(os.environ.get("ZSTACK_CONTRACT_DOCS", REPO.parent / "shared" / "api-docs"))


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own ZSTACK_* variables must not leak from the developer's shell into the project's tests."""
    for name in list(os.environ):
        if name.startswith("ZSTACK_") and name != "ZSTACK_CONTRACT_DOCS":
            monkeypatch.delenv(name)
