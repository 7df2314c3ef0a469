"""How a read-only run exercises each API: read (GET), the suite's own session calls, or not exercised at all."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.conftest import SCHEMAS
from tests.selftest.suite_runner import run_suite
from zstack_contract.engine.checks import finding
from zstack_contract.engine.findings import CheckRecord
from zstack_contract.pytest.exercise import (
    Mode,
    Writes,
    mode,
    no_auth_apis,
    not_exercised_reason,
    not_exercised_records,
    read_apis,
)
from zstack_contract.reporting.summary import NOT_RUN, one_line, summarize
from zstack_contract.specs.contract import ApiContract, load_catalog
from zstack_contract.transport.lifecycle import MOCK_ONLY_REASON

CATALOG = {api.name: api for api in load_catalog(SCHEMAS)}
STATE_CHANGING = {
    "CreateDatabaseBackup": "POST",
    "DeleteDatabaseBackup": "DELETE",
    "DeleteExportedDatabaseBackupFromBackupStorage": "DELETE",
    "ExportDatabaseBackupFromBackupStorage": "PUT",
    "RecoverDatabaseFromBackup": "PUT",
    "SyncDatabaseBackupFromImageStoreBackupStorage": "PUT",
}


def _variant(api: ApiContract, **changes: Any) -> ApiContract:
    return dataclasses.replace(api, spec=dataclasses.replace(api.spec, **changes))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        *((name, Mode.READ) for name in ("GetBackupStorageCapacity", "GetDatabaseBackupFromImageStore", "QueryZone")),
        *((name, Mode.READ) for name in ("QueryBackupStorage", "QueryDatabaseBackup", "ValidateSession")),
        *((name, Mode.SESSION) for name in ("LogInByAccount", "LogOut", "GetVersion")),
        *((name, Mode.NOT_EXERCISED) for name in STATE_CHANGING),
    ],
)
def test_each_family_api_has_its_mode(name: str, expected: Mode) -> None:
    assert mode(CATALOG[name]) is expected


@pytest.mark.parametrize(
    ("base", "changes", "expected"),
    [
        # Decided from the spec, not by name: the same page with auth required is no session call any more.
        pytest.param("GetVersion", {"auth_required": True}, Mode.NOT_EXERCISED, id="auth-required-write"),
        # An auth-free write the client's allow-list does not let through is left alone.
        pytest.param(
            "CreateDatabaseBackup", {"auth_required": False}, Mode.NOT_EXERCISED, id="auth-free-but-not-allowed"
        ),
        pytest.param("GetVersion", {"operation_id": "Renamed"}, Mode.SESSION, id="name-does-not-matter"),
        pytest.param("QueryZone", {"method": "DELETE"}, Mode.NOT_EXERCISED, id="delete-on-a-read-path"),
    ],
)
def test_mode_comes_from_the_spec(base: str, changes: dict[str, Any], expected: Mode) -> None:
    assert mode(_variant(CATALOG[base], **changes)) is expected


def test_no_auth_apis_are_the_session_calls_and_validate_session() -> None:
    assert {api.name for api in no_auth_apis(CATALOG.values())} == {
        "LogInByAccount",
        "LogOut",
        "GetVersion",
        "ValidateSession",
    }
    assert all(api.spec.method == "GET" for api in read_apis(CATALOG.values()))


def test_not_exercised_is_one_record_per_api_neither_pass_nor_failure() -> None:
    # A read-only run against the embedded mock: writes would exercise every one of them.
    records = not_exercised_records(CATALOG.values(), Writes(allowed=False, embedded_mock=True))
    assert {r.api: r.message for r in records} == {
        name: f"not exercised: read-only ({method} may change state): pass --zstack-allow-writes"
        for name, method in STATE_CHANGING.items()
    }
    passing = CheckRecord("t::x", "QueryZone", "shape", "positive-call", "response.shape", "must", "passed")
    summary = summarize([*records, passing])
    assert summary.total.checks == 1  # the not-exercised APIs count neither as checks nor as failures
    assert summary.verdict == "CONFORMING"
    assert set(summary.not_exercised) == set(STATE_CHANGING)
    assert all(api not in {a for a, _ in summary.by_api_family} for api in STATE_CHANGING)


def test_a_run_with_no_check_is_never_conforming() -> None:
    summary = summarize(not_exercised_records(CATALOG.values()), of_run=True)
    assert summary.verdict == NOT_RUN
    assert "CONFORMING" not in one_line(summary)


def test_collect_only_reports_no_verdict(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--collect-only", "-v")  # -q -v: the tree, which shows generated ids
    assert run.returncode == 0, run.output
    assert "CONFORMING" not in run.output
    assert run.results is not None
    assert run.results["meta"]["verdict"] == NOT_RUN
    # Only read operations are generated for: nothing that may change state is even collected.
    generated = [line for line in run.output.splitlines() if "test_generated_request[" in line]
    assert generated
    assert all("[GET " in line for line in generated), generated
    # The page's own example is a static check (no request) and runs for every API; nothing else touches them.
    # The async tests are collected for every async API (a read-only run skips them before sending anything).
    wire_tests = [
        line
        for line in run.output.splitlines()
        if "Function test_" in line and "meets_must[" not in line and "test_async_contract[" not in line
    ]
    assert len(wire_tests) > 20
    assert not [line for line in wire_tests if any(f"[{name}" in line for name in STATE_CHANGING)]


def test_state_changing_apis_are_listed_not_sent(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "-k", "GetDatabaseBackupFromImageStore or ValidateSession")
    assert "UnsafeRequestError" not in run.output
    assert run.results is not None
    listed = {r["api"]: r for r in run.records if r["outcome"] == "not-exercised"}
    assert set(listed) == set(STATE_CHANGING)
    assert run.results["meta"]["notExercised"] == {name: listed[name]["message"] for name in sorted(listed)}
    for name, method in STATE_CHANGING.items():
        assert f"{name}: not exercised: read-only ({method} may change state): pass --zstack-allow-writes" in run.output
    sent = [r for r in run.records if r["api"] in STATE_CHANGING and r["outcome"] != "not-exercised"]
    assert all(r["family"] in ("examples", "docs") and r.get("evidence") is None for r in sent), sent


def test_an_api_not_served_counts_once_whatever_found_it() -> None:
    missing = finding("QueryZone", "c", "api.not-served", "$", "the target serves GET /zones", "HTTP 404: no api")
    records = [
        CheckRecord(f"t::{i}", "QueryZone", family, "c", "x", "must", "failed", findings=[missing])
        for i, family in enumerate(("auth", "parameters", "generated"))
    ]
    summary = summarize(records, of_run=True)
    assert summary.total.checks == 1
    assert summary.total.must_broken == 1
    assert summary.verdict == "NOT CONFORMING"
    assert summary.not_served == {"QueryZone": "HTTP 404: no api"}
    assert list(summary.by_api_family) == [("QueryZone", "not-served")]


WRITES_ON_MOCK = Writes(allowed=True, embedded_mock=True)
WRITES_ON_LIVE = Writes(allowed=True, embedded_mock=False)
RESTORES_NODE_DATA = "RecoverDatabaseFromBackup"


@pytest.mark.parametrize("name", sorted(STATE_CHANGING))
def test_with_writes_each_state_changing_api_is_exercised_by_the_lifecycle(name: str) -> None:
    api = CATALOG[name]
    expected = Mode.MOCK_ONLY if name == RESTORES_NODE_DATA else Mode.WRITE
    assert mode(api, WRITES_ON_MOCK) is expected
    assert mode(api, WRITES_ON_LIVE) is expected
    assert not_exercised_reason(api, WRITES_ON_MOCK) is None
    # Reads and session calls do not change with the flag.
    assert mode(CATALOG["QueryZone"], WRITES_ON_LIVE) is Mode.READ
    assert mode(CATALOG["GetVersion"], WRITES_ON_LIVE) is Mode.SESSION


def test_restoring_the_node_is_never_exercised_on_a_live_url() -> None:
    api = CATALOG[RESTORES_NODE_DATA]
    reason = f"not exercised: {MOCK_ONLY_REASON}"
    assert not_exercised_reason(api, WRITES_ON_LIVE) == reason
    # Read-only against a live URL: the flag would not help, so the reason does not suggest it.
    assert not_exercised_reason(api, Writes(allowed=False, embedded_mock=False)) == reason
    assert [r.message for r in not_exercised_records([api], WRITES_ON_LIVE)] == [reason]


def test_mock_only_is_decided_by_the_guard_not_the_name() -> None:
    # The same page renamed is still refused for a live node (its own call restores the node's data) ...
    renamed = _variant(CATALOG[RESTORES_NODE_DATA], operation_id="RestoreEverything")
    assert mode(renamed, WRITES_ON_LIVE) is Mode.MOCK_ONLY
    # ... and any page whose call lands on the restore path is too, whatever its name or body key.
    moved = _variant(CATALOG["ExportDatabaseBackupFromBackupStorage"], path="/zstack/v1/database-backups/actions")
    assert mode(moved, WRITES_ON_LIVE) is Mode.MOCK_ONLY
    assert mode(CATALOG["ExportDatabaseBackupFromBackupStorage"], WRITES_ON_LIVE) is Mode.WRITE


def test_a_write_api_without_a_lifecycle_step_is_listed_not_passed() -> None:
    api = _variant(CATALOG["ExportDatabaseBackupFromBackupStorage"], operation_id="ExportSomethingNew")
    reason = not_exercised_reason(api, WRITES_ON_MOCK)
    assert reason == "not exercised: no lifecycle step (the write lifecycle does not send ExportSomethingNew)"
    records = not_exercised_records([api], WRITES_ON_MOCK)
    assert [(r.outcome, r.message) for r in records] == [("not-exercised", reason)]
