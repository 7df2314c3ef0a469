"""Writes mode end to end: the suite with --zstack-allow-writes passes against the embedded mock and removes what it
created (also after a failed test, with xdist workers, and when interrupted with Ctrl-C); a read-only run lists the
async APIs as not exercised, with how to enable them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.conftest import REPO
from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, MockZStack
from zstack_contract.mock.family import DATABASE_BACKUP, Store
from zstack_contract.transport.ledger import RESOURCE_PREFIX

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


def _zstack_contract_backups(store: Store) -> list[str]:
    return [str(r["name"]) for r in store.list(DATABASE_BACKUP) if str(r.get("name", "")).startswith(RESOURCE_PREFIX)]


def test_ctrl_c_in_the_middle_of_the_writes_leaves_nothing(tmp_path: Path) -> None:
    """SIGINT once a backup of the run exists on the node: pytest runs sessionfinish, the cleanup removes it."""
    with MockZStack() as mock:
        store = mock.app.store
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZSTACK_", "PYTEST_"))}
        command = [
            sys.executable,
            "-m",
            "pytest",
            *WRITE_TESTS[1:],
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:pytest_html.plugin",
            "--zstack-report-dir",
            str(tmp_path),
            "--zstack-url",
            mock.url,
            "--zstack-account",
            ADMIN_ACCOUNT,
            "--zstack-password",
            ADMIN_PASSWORD,
            "--zstack-rate-limit",
            "0",
            "--zstack-allow-writes",
        ]
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            appeared = store.wait_for(lambda s: bool(_zstack_contract_backups(s)), timeout=60)
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert appeared, "no backup of the run appeared on the node"
        assert _zstack_contract_backups(store) == [], output[-4000:]
    # Exit 2 (interrupted). Known fragility: a Ctrl-C that lands inside socket.create_connection leaks the socket
    # (the stdlib closes it on OSError only), and filterwarnings=error turns its ResourceWarning into exit 1.
    leaked = proc.returncode == 1 and "PytestUnraisableExceptionWarning" in output
    assert proc.returncode == 2 or leaked, output[-4000:]
    results = json.loads((tmp_path / "contract-results.json").read_text(encoding="utf-8"))
    assert results["meta"]["verdict"] == "INTERRUPTED"
    assert_all_cleaned(results["meta"])
