"""Writes mode end to end: the suite with --zstack-allow-writes passes against the embedded mock and removes what it
created (also after a failed test and with xdist workers); a read-only run lists the async APIs as not exercised,
with how to enable them. Against a node given by URL (Ctrl-C mid-lifecycle, Recover never sent):
test_writes_safety.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.conftest import SCHEMAS
from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.engine.lifecycle_checks import (
    deleted_findings,
    export_url_findings,
    query_agrees_findings,
    sync_findings,
)
from zstack_contract.generation.calls import Call, build_call
from zstack_contract.generation.write_bodies import (
    ASTRAL,
    INVALID_BODIES,
    NAME_LIMIT,
    example_name,
    fit_name,
    invalid_call,
    name_of_length,
)
from zstack_contract.reporting.created import created_lines
from zstack_contract.specs.contract import load_catalog
from zstack_contract.specs.formats import java_length
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.ledger import RESOURCE_PREFIX
from zstack_contract.transport.lifecycle import IMAGE_STORE, Storage, choose_storages, storages_from

SPECS = {api.name: api for api in load_catalog(SCHEMAS)}

WRITE_TESTS = (
    "tests/contract/test_async.py",
    "tests/contract/test_lifecycle.py",
    "tests/contract/test_write_bodies.py",
)
ASYNC_APIS = (
    "CreateDatabaseBackup",
    "DeleteDatabaseBackup",
    "DeleteExportedDatabaseBackupFromBackupStorage",
    "ExportDatabaseBackupFromBackupStorage",
    "RecoverDatabaseFromBackup",
    "SyncDatabaseBackupFromImageStoreBackupStorage",
)
# The node ids the deviation matrix (and a person) refers to: each must have run and passed.
WRITE_NODE_IDS = (
    "tests/contract/test_async.py::test_unknown_job_answers_404",
    *(f"tests/contract/test_async.py::test_async_contract[{name}]" for name in ASYNC_APIS),
    "tests/contract/test_async.py::test_duplicate_job_uuid_refused",
    "tests/contract/test_async.py::test_malformed_job_uuid_refused",
    "tests/contract/test_async.py::test_async_unknown_session",
    "tests/contract/test_lifecycle.py::test_created_backup_matches_query",
    "tests/contract/test_lifecycle.py::test_export_url_appears_then_disappears",
    "tests/contract/test_lifecycle.py::test_sync_adds_copy",
    "tests/contract/test_lifecycle.py::test_deleted_backup_not_queryable",
    "tests/contract/test_lifecycle.py::test_recover_only_on_embedded_mock",
    "tests/contract/test_write_bodies.py::test_valid_create_body_accepted",
    *(
        f"tests/contract/test_write_bodies.py::test_invalid_create_body_refused[{case}]"
        for case in ("missing-name", "empty-name", "256-name", "unknown-backup-storage")
    ),
)
WRITES_HEADER = "WRITES ENABLED (--zstack-allow-writes): creates and deletes resources named zstack-contract-"


def outcomes(run: SuiteRun) -> dict[str, str]:
    return {r["test"]: r["outcome"] for r in run.records}


def assert_all_cleaned(meta: dict[str, Any]) -> None:
    created = meta["created"]
    assert created, "the run created nothing: the write tests did not run"
    left = [entry for entry in created if entry["cleanedUp"] is not True]
    assert not left, left
    assert all(entry["name"].startswith(f"{RESOURCE_PREFIX}{meta['runId']}-") for entry in created), created


@pytest.fixture(scope="module")
def writes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("writes")


@pytest.fixture(scope="module")
def writes_run(writes_dir: Path) -> SuiteRun:
    """One full writes-mode run against the embedded mock (about 20 s): every assertion below reads it."""
    return run_suite(writes_dir, "--zstack-allow-writes", html=True)


def test_writes_run_passes_against_the_embedded_mock(writes_run: SuiteRun) -> None:
    assert writes_run.returncode == 0, writes_run.output[-4000:]
    assert writes_run.results is not None
    meta = writes_run.results["meta"]
    assert meta["verdict"] in ("CONFORMING", "CONFORMING (must), with should-findings"), meta["verdict"]
    assert meta["writes"] is True
    got = outcomes(writes_run)
    assert {node: got.get(node) for node in WRITE_NODE_IDS} == dict.fromkeys(WRITE_NODE_IDS, "passed")
    # Nothing is left out: every async API was sent (the embedded mock takes Recover too).
    assert not set(ASYNC_APIS) & set(meta["notExercised"]), meta["notExercised"]


def test_writes_run_cleans_up_and_reports_it(writes_run: SuiteRun) -> None:
    assert writes_run.results is not None
    meta = writes_run.results["meta"]
    assert_all_cleaned(meta)
    assert f"cleaned up {len(meta['created'])} (run id {meta['runId']})" in writes_run.output
    assert "NOT CLEANED UP" not in writes_run.output


def test_writes_run_polls_jobs(writes_run: SuiteRun) -> None:
    assert writes_run.results is not None
    polling = writes_run.results["meta"]["polling"]
    assert polling["jobs"] > 0
    # The mock's jobs answer 202 {} at least once before they end: at least two polls per job polled.
    assert polling["polls"] >= 2 * polling["jobs"], polling
    assert polling["pollingSeconds"] > 0


def test_writes_header_in_terminal_and_html(writes_run: SuiteRun, writes_dir: Path) -> None:
    assert WRITES_HEADER in writes_run.output
    report = (writes_dir / "contract-report.html").read_text(encoding="utf-8")
    assert "WRITES ENABLED (--zstack-allow-writes)" in report
    assert "Created by this run" in report


def test_read_only_run_sends_no_write_and_says_how_to_enable(tmp_path: Path) -> None:
    # GetVersion under the run's session: a run needs one authenticated 200 to give a verdict.
    run = run_suite(tmp_path, *WRITE_TESTS, "tests/contract/test_sessions.py::test_get_version")
    assert run.returncode == 0, run.output[-4000:]
    assert run.results is not None
    meta = run.results["meta"]
    assert meta["writes"] is False
    assert meta["created"] == []
    assert meta["polling"] == {"jobs": 0, "polls": 0, "pollingSeconds": 0.0}
    assert "read-only: no state-changing request is sent" in run.output
    for name in ASYNC_APIS:
        assert meta["notExercised"][name].endswith("pass --zstack-allow-writes"), meta["notExercised"][name]
    got = outcomes(run)
    assert got["tests/contract/test_async.py::test_unknown_job_answers_404"] == "passed"
    skipped = [r for r in run.records if r["outcome"] == "skipped"]
    assert len(skipped) == len(WRITE_NODE_IDS) - 1
    assert all("writes are off: pass --zstack-allow-writes" in r["message"] for r in skipped), skipped


def test_a_failed_test_still_cleans_up(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        *WRITE_TESTS[1:],
        "--zstack-allow-writes",
        "--zstack-mock-deviation",
        "export-sets-no-export-url",
    )
    assert run.returncode == 1, run.output[-4000:]
    assert "tests/contract/test_lifecycle.py::test_export_url_appears_then_disappears" in run.failed
    assert run.results is not None
    assert_all_cleaned(run.results["meta"])


def test_workers_share_the_run_id_and_report_their_writes(tmp_path: Path) -> None:
    run = run_suite(tmp_path, *WRITE_TESTS, "--zstack-allow-writes", "-n", "2", "--zstack-run-id", "xdist42")
    assert run.returncode == 0, run.output[-4000:]
    assert run.results is not None
    meta = run.results["meta"]
    assert meta["runId"] == "xdist42"
    assert_all_cleaned(meta)
    # Each worker ran its own lifecycle (or one did all): every name carries a worker label.
    assert {entry["name"].split("-")[3] for entry in meta["created"]} <= {"gw0", "gw1"}
    assert meta["polling"]["jobs"] > 0


# ---------------------------------------------------------------------------------------------------------------
# The plain modules behind the writes-mode tests, on crafted answers (no server).


def _answer(status: int, body: Any) -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange("GET", "http://mn/x", "/x", [], {}, None, status, {}, text, 0.0)


STORE_A = Storage("a" * 32, IMAGE_STORE, "sftp://a/zs")
STORE_B = Storage("b" * 32, IMAGE_STORE, "sftp://b/zs")
CEPH = Storage("c" * 32, "Ceph", "ceph://c")


def test_storages_are_read_from_query_backup_storage() -> None:
    listing = _answer(
        200,
        {
            "inventories": [
                {
                    "uuid": "a" * 32,
                    "type": IMAGE_STORE,
                    "url": "sftp://a/zs",
                    "state": "Enabled",
                    "status": "Connected",
                },
                {"uuid": "d" * 32, "type": IMAGE_STORE, "state": "Disabled", "status": "Connected"},
                {"name": "no uuid"},
            ]
        },
    )
    assert storages_from(listing) == [STORE_A, Storage("d" * 32, IMAGE_STORE, None, usable=False)]
    assert storages_from(_answer(503, {"error": {"code": "SYS.1000"}})) == []


def test_the_storage_prefers_an_image_store_and_sync_needs_a_second() -> None:
    both = choose_storages([CEPH, STORE_B, STORE_A], {})
    assert (both.storage, both.second, both.sync_problem) == (STORE_A, STORE_B, "")
    one = choose_storages([CEPH, STORE_A], {})
    assert one.storage == STORE_A
    assert one.second is None
    assert "Sync needs two image stores" in one.sync_problem
    assert "--zstack-param dstBackupStorageUuid=UUID" in one.sync_problem
    ceph = choose_storages([CEPH], {})
    assert ceph.storage == CEPH
    assert "Sync needs the backup on an image store" in ceph.sync_problem


def test_the_users_storage_wins_and_none_says_how_to_give_one() -> None:
    chosen = choose_storages([STORE_A, STORE_B], {"backupStorageUuid": STORE_B.uuid})
    assert chosen.storage == STORE_B
    assert chosen.second == STORE_A
    unlisted = choose_storages([], {"backupStorageUuid": "e" * 32})
    assert unlisted.storage == Storage("e" * 32)
    nothing = choose_storages([Storage("d" * 32, IMAGE_STORE, usable=False)], {})
    assert nothing.storage is None
    assert nothing.problem.endswith("pass --zstack-param backupStorageUuid=UUID")
    no_query = choose_storages(None, {}, unlisted="QueryBackupStorage answered HTTP 503")
    assert no_query.problem == (
        "no backup storage to write to (QueryBackupStorage answered HTTP 503): pass --zstack-param "
        "backupStorageUuid=UUID"
    )


def test_requests_are_filled_by_field_name() -> None:
    context = {
        "uuid": "1" * 32,
        "databaseBackupUuid": "1" * 32,
        "backupStorageUuid": STORE_A.uuid,
        "srcBackupStorageUuid": STORE_A.uuid,
        "dstBackupStorageUuid": STORE_B.uuid,
        "name": "n",
    }
    export = build_call(SPECS["ExportDatabaseBackupFromBackupStorage"], context)
    assert export == Call(
        "PUT",
        f"/zstack/v1/database-backups/{'1' * 32}/backup-storage/{STORE_A.uuid}/actions",
        [],
        {"exportDatabaseBackupFromBackupStorage": {}},
    )
    sync = build_call(SPECS["SyncDatabaseBackupFromImageStoreBackupStorage"], context)
    assert not isinstance(sync, str)
    assert sync.body == {
        "syncDatabaseBackupFromImageStoreBackupStorage": {
            "srcBackupStorageUuid": STORE_A.uuid,
            "dstBackupStorageUuid": STORE_B.uuid,
        }
    }
    create = build_call(SPECS["CreateDatabaseBackup"], context)
    assert not isinstance(create, str)
    assert create.body == {"params": {"name": "n", "backupStorageUuid": STORE_A.uuid}}
    # A required field the context lacks is said, with the option that supplies it, never guessed.
    missing = build_call(SPECS["RecoverDatabaseFromBackup"], context)
    assert missing == (
        "RecoverDatabaseFromBackup: no value for required field(s) mysqlRootPassword (the lifecycle knows none; "
        "--zstack-param mysqlRootPassword=VALUE)"
    )


def test_names_fit_the_limit_in_java_characters() -> None:
    prefix = "zstack-contract-20261127000000abcd-body-"
    assert java_length(name_of_length(prefix, NAME_LIMIT)) == NAME_LIMIT
    astral = name_of_length(prefix, NAME_LIMIT, astral=True)
    assert java_length(astral) == NAME_LIMIT
    assert ASTRAL in astral
    assert len(astral) < NAME_LIMIT  # each G clef is one character, two Java chars
    cut = fit_name(prefix, ASTRAL * 200)
    assert java_length(cut) <= NAME_LIMIT
    assert cut.startswith(prefix)
    assert cut[len(prefix) :] == ASTRAL * ((NAME_LIMIT - len(prefix)) // 2)  # never half a character
    assert example_name(prefix, "é") == prefix + "é"
    call, name = invalid_call(SPECS["CreateDatabaseBackup"], INVALID_BODIES[2], prefix, STORE_A.uuid)
    assert java_length(name) == NAME_LIMIT + 1
    assert call.body == {"params": {"name": name, "backupStorageUuid": STORE_A.uuid}}
    call, _ = invalid_call(SPECS["CreateDatabaseBackup"], INVALID_BODIES[0], prefix, STORE_A.uuid)
    assert call.body == {"params": {"backupStorageUuid": STORE_A.uuid}}


BACKUP = "1" * 32


def _listing(*items: dict[str, Any]) -> Exchange:
    return _answer(200, {"inventories": list(items)})


def _backup(**fields: Any) -> dict[str, Any]:
    return {"uuid": BACKUP, "name": "n", "size": 5, **fields}


def test_query_agrees_compares_the_fields_both_answers_have() -> None:
    created = {"uuid": BACKUP, "name": "n", "size": 5.0, "state": "Enabled"}
    assert query_agrees_findings("Q", "c", created, _listing(_backup()), BACKUP) == []
    [changed] = query_agrees_findings("Q", "c", created, _listing(_backup(name="other")), BACKUP)
    assert (changed.rule, changed.path) == ("lifecycle.query-agrees", "$.inventories[0].name")
    assert changed.actual == '"other"'
    [absent] = query_agrees_findings("Q", "c", created, _listing(), BACKUP)
    assert absent.path == "$.inventories"
    assert "0 item(s)" in absent.actual


def _with_ref(export_url: Any = None, storage: str = STORE_A.uuid) -> Exchange:
    ref: dict[str, Any] = {"backupStorageUuid": storage}
    if export_url is not None:
        ref["exportUrl"] = export_url
    return _listing(_backup(backupStorageRefs=[ref]))


def test_export_url_appears_then_disappears() -> None:
    exported = _answer(200, {"databaseBackupUrl": "http://mn/x.gz"})
    ok = export_url_findings("E", "c", exported, _with_ref("http://mn/x.gz"), _with_ref(), BACKUP, STORE_A.uuid)
    assert ok == []
    never = export_url_findings("E", "c", exported, _with_ref(), _with_ref(), BACKUP, STORE_A.uuid)
    assert [(f.rule, f.actual) for f in never] == [("lifecycle.export-url", "absent")]
    stays = export_url_findings("E", "c", exported, _with_ref("u"), _with_ref("u"), BACKUP, STORE_A.uuid)
    assert [f.expected for f in stays] == ["after DeleteExported: no exportUrl (absent or null)"]
    no_url = export_url_findings("E", "c", _answer(200, {}), _with_ref("u"), None, BACKUP, STORE_A.uuid)
    assert [f.path for f in no_url] == ["$.databaseBackupUrl"]


def test_sync_and_delete_relations() -> None:
    assert sync_findings("S", "c", _with_ref(storage=STORE_B.uuid), BACKUP, STORE_B.uuid) == []
    [missing] = sync_findings("S", "c", _with_ref(), BACKUP, STORE_B.uuid)
    assert missing.rule == "lifecycle.sync"
    assert missing.actual == f"refs on {STORE_A.uuid}"
    assert deleted_findings("D", "c", _listing(), BACKUP) == []
    [still] = deleted_findings("D", "c", _listing(_backup()), BACKUP)
    assert still.rule == "lifecycle.deleted"


def test_created_lines_name_what_is_left_and_how_to_remove_it() -> None:
    created: list[dict[str, Any]] = [
        {"api": "CreateDatabaseBackup", "name": "zstack-contract-r1-a", "uuid": "u1", "cleanedUp": True, "note": ""},
        {"api": "CreateDatabaseBackup", "name": "zstack-contract-r1-b", "uuid": None, "cleanedUp": False, "note": "x"},
    ]
    lines = created_lines(created, run_id="r1", url="http://mn:8080")
    assert lines[0] == "writes: created 2 resource(s), cleaned up 1 (run id r1)"
    assert lines[1] == "NOT CLEANED UP: CreateDatabaseBackup 'zstack-contract-r1-b' (uuid unknown): x"
    assert "python -m zstack_contract cleanup --zstack-url http://mn:8080 --run-id r1" in lines[2]
    mock = created_lines(created, run_id="r1", url=None)
    assert "embedded mock stopped with the run" in mock[-1]
    assert created_lines(created[:1], run_id="r1", url="http://mn:8080") == [
        "writes: created 1 resource(s), cleaned up 1 (run id r1)"
    ]
