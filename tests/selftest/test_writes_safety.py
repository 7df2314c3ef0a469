"""Writes are opt-in and safe: what the suite sends, what it leaves behind, and what it never sends to a live node.

Every run here targets a server given with ``--zstack-url``, so the suite treats it as a live node: the embedded
mock's app served in-process behind a WSGI middleware that logs each request (method, path, body keys), or the
independent alt server. The log and the server's own state are the evidence, not the suite's report about itself.
"""

from __future__ import annotations

import copy
import io
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.selftest.alt_server import AltZStackServer
from tests.selftest.conftest import REPO
from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.mock.family import DATABASE_BACKUP, Store

PREFIX = "zstack-contract-"
LOGIN = ("--zstack-account", ADMIN_ACCOUNT, "--zstack-password", ADMIN_PASSWORD)
MOCK_ARGS = (*LOGIN, "--zstack-image-store-url", SEEDED_IMAGE_STORE_URL, "--zstack-rate-limit", "0")
ALT_STORE = "sftp://root@image-store.invalid/zstack_bs"
WRITES = "--zstack-allow-writes"
# Every test of the suite runs; the generated GET tests draw 5 examples instead of 25. What is judged here is which
# methods and bodies the run sends, which each test decides, not how many query strings it draws (the write-body
# property tests have their own fixed budget). Halves a full run over HTTP.
FEW_EXAMPLES = ("--zstack-examples", "5")
# The write tests: they make the lifecycle run (a session fixture) and judge it. Selected where the read-only rest
# of the suite is not the point, to keep each run a few seconds.
WRITE_TESTS = (
    "tests/contract/test_lifecycle.py",
    "tests/contract/test_async.py",
    "tests/contract/test_write_bodies.py",
)
RECOVER = "RecoverDatabaseFromBackup"
RECOVER_PATH = "/zstack/v1/database-backups/actions"
RECOVER_REASON = "restores the management node's database: runs only against the embedded mock"
STATE_CHANGING = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # as the mock's own server: keep-alive, responses framed by Content-Length

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The middleware's log is the record; werkzeug's access line per request would only slow the run."""


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    keys: tuple[str, ...]  # top-level keys of a JSON object body
    body: str


def _keys(raw: bytes) -> tuple[str, ...]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return ()
    return tuple(sorted(parsed)) if isinstance(parsed, dict) else ()


class LoggedMock:
    """The embedded mock's WSGI app on 127.0.0.1 (port 0), behind a middleware that logs every request.

    ``gate`` runs before each request reaches the app (in the server's thread): a test can hold the node there.
    """

    def __init__(self, gate: Callable[[], None] | None = None) -> None:
        self.app = MockZStack().app  # built, never started: this class serves it
        self.log: list[Logged] = []
        self._gate = gate
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        text = raw.decode("utf-8", "replace")
        entry = Logged(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), _keys(raw), text)
        with self._lock:
            self.log.append(entry)
        if self._gate is not None:
            self._gate()
        return self.app(environ, start_response)

    def entries(self) -> list[Logged]:
        with self._lock:
            return list(self.log)

    def __enter__(self) -> LoggedMock:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def prefixed_backups(store: Store) -> list[str]:
    return [str(r["name"]) for r in store.list(DATABASE_BACKUP) if str(r["name"]).startswith(PREFIX)]


def is_session_call(entry: Logged) -> bool:
    """The suite's own login, logout and GetVersion: the only state-changing methods a read-only run may send."""
    parts = entry.path.split("/")
    return (
        (entry.method, entry.path, entry.keys) == ("PUT", "/zstack/v1/accounts/login", ("logInByAccount",))
        or (entry.method, entry.path, entry.keys) == ("PUT", "/zstack/v1/management-nodes/actions", ("getVersion",))
        or (entry.method == "DELETE" and parts[:5] == ["", "zstack", "v1", "accounts", "sessions"] and len(parts) == 6)
    )


def created_entries(run: SuiteRun) -> list[dict[str, Any]]:
    assert run.results is not None, run.output
    created = run.results["meta"].get("created")
    assert isinstance(created, list), run.results["meta"]
    return created


# ---------------------------------------------------------------------------------------------------------------
# Without --zstack-allow-writes: nothing but the session calls changes anything


def test_read_only_run_sends_no_state_changing_request(tmp_path: Path) -> None:
    with LoggedMock() as node:
        run = run_suite(tmp_path, "--zstack-url", node.url, *MOCK_ARGS, *FEW_EXAMPLES)
        log = node.entries()
    assert run.returncode == 0, run.output
    state_changing = [entry for entry in log if entry.method in STATE_CHANGING]
    assert [entry for entry in state_changing if not is_session_call(entry)] == []
    # The log is the whole run's, not an empty one: the suite logged in, asked the version, logged out, and read a lot.
    methods = {(entry.method, entry.path.split("/")[3]) for entry in state_changing}
    assert methods == {("PUT", "accounts"), ("PUT", "management-nodes"), ("DELETE", "accounts")}
    assert sum(entry.method == "GET" for entry in log) > 100
    assert run.results is not None
    assert run.results["meta"]["writes"] is False
    not_exercised = run.results["meta"]["notExercised"]
    assert {"CreateDatabaseBackup", "DeleteDatabaseBackup", RECOVER} <= set(not_exercised)
    assert "--zstack-allow-writes" in not_exercised["CreateDatabaseBackup"], not_exercised
    # Recover is not offered the flag: no flag sends it to a node given by URL.
    assert RECOVER_REASON in not_exercised[RECOVER], not_exercised


# ---------------------------------------------------------------------------------------------------------------
# With --zstack-allow-writes against a node given by URL: RecoverDatabaseFromBackup is never sent


def test_recover_never_reaches_a_node_given_by_url(tmp_path: Path) -> None:
    with LoggedMock() as node:
        # The whole suite: generated and property-based requests are where a Recover body could slip out.
        run = run_suite(tmp_path, "--zstack-url", node.url, *MOCK_ARGS, *FEW_EXAMPLES, WRITES)
        log = node.entries()
        left = prefixed_backups(node.store)
    # The wire first: whatever the suite says about itself, these must hold.
    assert [e for e in log if e.path.rstrip("/") == RECOVER_PATH] == []
    assert [e for e in log if "recoverDatabaseFromBackup" in e.body] == []
    assert run.returncode == 0, run.output
    # ... while the run did write: the lifecycle created, exported, synced and deleted.
    creates = [e for e in log if (e.method, e.path, e.keys) == ("POST", "/zstack/v1/database-backups", ("params",))]
    assert creates
    assert any(e.method == "DELETE" and e.path.startswith("/zstack/v1/database-backups/") for e in log)
    assert left == []
    assert run.results is not None
    assert run.results["meta"]["writes"] is True
    assert RECOVER_REASON in run.results["meta"]["notExercised"].get(RECOVER, ""), run.results["meta"]["notExercised"]
    assert all(entry["cleanedUp"] is True for entry in created_entries(run))
    # Its tests say why they did not send it; the rest of the lifecycle ran.
    got = {r["test"]: r for r in run.records}
    for node_id in (
        "tests/contract/test_async.py::test_async_contract[RecoverDatabaseFromBackup]",
        "tests/contract/test_lifecycle.py::test_recover_only_on_embedded_mock",
    ):
        assert got[node_id]["outcome"] == "skipped"
        assert "runs only against the embedded mock" in got[node_id]["message"]
    assert got["tests/contract/test_lifecycle.py::test_sync_adds_copy"]["outcome"] == "passed"


# ---------------------------------------------------------------------------------------------------------------
# Ctrl-C in the middle of the lifecycle: the session-end cleanup removes what was created


def test_interrupted_lifecycle_leaves_nothing_behind(tmp_path: Path) -> None:
    created, released = threading.Event(), threading.Event()
    node: LoggedMock

    def hold_once_created() -> None:
        # The first request after the backup exists (the lifecycle's next step) waits until the test has sent
        # SIGINT: the interrupt lands mid-lifecycle, never after the lifecycle deleted the backup itself.
        if not released.is_set() and prefixed_backups(node.store):
            created.set()
            released.wait(60)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZSTACK_", "PYTEST_"))}
    with LoggedMock(gate=hold_once_created) as node:
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-p", "no:pytest_html.plugin", "--zstack-report-dir", str(tmp_path),
            "--zstack-url", node.url, *MOCK_ARGS, WRITES,
            "tests/contract/test_lifecycle.py::test_created_backup_matches_query",
        ]  # fmt: skip
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            reached = created.wait(120)
            proc.send_signal(signal.SIGINT)
            released.set()
            output, _ = proc.communicate(timeout=120)
        finally:
            released.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert reached, "the lifecycle never created its backup"
        left = prefixed_backups(node.store)
        log = node.entries()
    assert proc.returncode == 2, output
    assert left == []
    results = json.loads((tmp_path / "contract-results.json").read_text(encoding="utf-8"))
    assert results["meta"]["verdict"] == "INTERRUPTED", results["meta"]
    (entry,) = results["meta"]["created"]
    assert entry["name"].startswith(PREFIX)
    assert entry["cleanedUp"] is True, entry
    # The lifecycle stopped where it was held (no Export, Sync or Delete step of its own was sent) ...
    assert [e for e in log if e.method == "PUT" and e.path.startswith("/zstack/v1/database-backups/")] == []
    # ... and the backup went by the one Delete the session-end cleanup sent after the interrupt.
    deletes = [e for e in log if e.method == "DELETE" and e.path == f"/zstack/v1/database-backups/{entry['uuid']}"]
    assert len(deletes) == 1, log


# ---------------------------------------------------------------------------------------------------------------
# python -m zstack_contract cleanup: lists, then removes, exactly the prefixed leftovers


def _leave_backup(store: Store, name: str) -> str:
    template = store.list(DATABASE_BACKUP)[0]
    backup = copy.deepcopy(template)
    backup["uuid"] = uuid.uuid4().hex
    backup["name"] = name
    refs = backup["backupStorageRefs"]
    assert isinstance(refs, list)
    for ref in refs:
        ref["databaseBackupUuid"] = backup["uuid"]
    store.put(DATABASE_BACKUP, backup)
    return str(backup["uuid"])


def _cleanup(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZSTACK_", "PYTEST_"))}
    command = [sys.executable, "-m", "zstack_contract", "cleanup", "--zstack-url", url, *LOGIN, *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def mock() -> Iterator[MockZStack]:
    with MockZStack() as running:
        yield running


def test_cleanup_command_removes_only_prefixed_backups(mock: MockZStack) -> None:
    store = mock.app.store
    seeded = {str(r["name"]) for r in store.list(DATABASE_BACKUP)}
    leftovers = {"zstack-contract-20261127101500ab12-lifecycle", "zstack-contract-crashed-body-1"}
    kept = {"nightly-keep", "ZSTACK-CONTRACT-upper-case-is-not-ours", "my-zstack-contract-copy"}
    for name in sorted(leftovers | kept):
        _leave_backup(store, name)

    def names() -> set[str]:
        return {str(r["name"]) for r in store.list(DATABASE_BACKUP)}

    dry = _cleanup(mock.url, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert all(name in dry.stdout for name in leftovers), dry.stdout
    assert not [name for name in kept if name in dry.stdout], dry.stdout
    assert names() == seeded | leftovers | kept  # a dry run removes nothing

    real = _cleanup(mock.url)
    assert real.returncode == 0, real.stdout + real.stderr
    assert names() == seeded | kept


def test_cleanup_command_with_a_run_id_removes_only_that_run(mock: MockZStack) -> None:
    store = mock.app.store
    _leave_backup(store, "zstack-contract-runA-lifecycle")
    _leave_backup(store, "zstack-contract-runB-lifecycle")
    done = _cleanup(mock.url, "--run-id", "runA")
    assert done.returncode == 0, done.stdout + done.stderr
    assert prefixed_backups(store) == ["zstack-contract-runB-lifecycle"]


# ---------------------------------------------------------------------------------------------------------------
# The independent server: the writes run passes there too


def test_writes_run_conforms_on_the_independent_server(tmp_path: Path) -> None:
    # The alt server's jobs advance per poll (not on a timer) and its locations name another host, as a node
    # behind NAT does: both are freedoms the contract leaves, so the run must pass.
    with AltZStackServer(node_address="192.0.2.10:8080") as alt:
        run = run_suite(
            tmp_path, "--zstack-url", alt.url, *LOGIN, "--zstack-image-store-url", ALT_STORE,
            "--zstack-rate-limit", "0", WRITES, *WRITE_TESTS,
        )  # fmt: skip
        left = [name for name in alt.app.backups.names() if name.startswith(PREFIX)]
    assert run.returncode == 0, run.output
    assert run.failed == set()
    assert run.results is not None
    # Not even a should-finding: the write tests find nothing to report on an independent conforming server.
    assert run.results["meta"]["verdict"] == "CONFORMING", run.results["meta"]
    outcomes = {record["test"]: record["outcome"] for record in run.records}
    assert outcomes.get("tests/contract/test_lifecycle.py::test_export_url_appears_then_disappears") == "passed"
    assert outcomes.get("tests/contract/test_lifecycle.py::test_sync_adds_copy") == "passed"
    assert outcomes.get("tests/contract/test_async.py::test_async_contract[CreateDatabaseBackup]") == "passed"
    assert created_entries(run)
    assert all(entry["cleanedUp"] is True for entry in created_entries(run))
    assert left == []
