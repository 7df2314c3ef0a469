"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
SEED_API = "GetDatabaseBackupFromImageStore"
# The session APIs every ZStack-speaking test server answers (login, logout, ValidateSession, GetVersion).
SESSION_APIS = ("LogInByAccount", "LogOut", "ValidateSession", "GetVersion")


def seed_only_schemas(folder: Path) -> Path:
    """A schema folder holding only the seed API and the session APIs (specs, overlays, derived files and an
    openapi.json of them): for servers that emulate only those, whose other APIs would all be 'not served'."""
    from zstack_contract.specs.derive import derive_all

    schemas = folder / "seed-schemas"
    if not (schemas / "openapi.json").exists():
        for api_name in (SEED_API, *SESSION_APIS):
            api = schemas / api_name
            api.mkdir(parents=True, exist_ok=True)
            for name in ("spec.json", "overlay.json"):
                if (SCHEMAS / api_name / name).exists():
                    shutil.copyfile(SCHEMAS / api_name / name, api / name)
        for path, text in derive_all(schemas).items():
            path.write_text(text, encoding="utf-8")
    return schemas


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own ZSTACK_* variables must not leak from the developer's shell into the project's tests."""
    for name in list(os.environ):
        if name.startswith("ZSTACK_"):
            monkeypatch.delenv(name)


# Tests whose failure would be a false failure of the contract suite (it failed a conforming server).
_CONFORMING = (
    "test_suite_passes_on_the_conforming_mock",
    "test_tolerated_variation_passes[",
    "test_suite_passes_against_an_independent_conforming_server",
    "test_strict_run_on_the_conforming_mock_fails_only_where_zstack_itself_does",
)


def _count(terminalreporter: pytest.TerminalReporter, outcome: str, *needles: str) -> int:
    reports = terminalreporter.stats.get(outcome, [])
    return sum(1 for r in reports if getattr(r, "when", "call") == "call" and any(n in r.nodeid for n in needles))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The kill count of the deviation matrix, as one line a person can quote."""
    caught = _count(terminalreporter, "passed", "test_deviation_caught[")
    missed = _count(terminalreporter, "failed", "test_deviation_caught[")
    if not caught + missed:
        return
    false_failures = _count(terminalreporter, "failed", *_CONFORMING)
    conforming_runs = false_failures + _count(terminalreporter, "passed", *_CONFORMING)
    terminalreporter.write_sep("=", "contract suite against the mock")
    terminalreporter.write_line(
        f"caught {caught}/{caught + missed} deviations, {false_failures} false failures "
        f"(in {conforming_runs} runs against conforming servers)"
    )
