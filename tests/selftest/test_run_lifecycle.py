"""A run's verdict matches what happened: a run that could not check the server never says CONFORMING.

Each test runs the suite in a subprocess against the embedded mock or a minimal hostile server defined here
(127.0.0.1, port 0): the exit code, the terminal and every report must say NOT RUN or INTERRUPTED with the
reason, and a node error is one message, never a finding against the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.selftest.alt_server import AltZStackServer
from tests.selftest.conftest import REPO
from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.mock import data as mock_data
from zstack_contract.mock.app import MockZStackApp
from zstack_contract.transport.client import LOGIN_PATH, sha512_hex

SESSION = "5b1d0c5e9a6f4e0c8d3b2a1f0e9d8c7b"  # what the hostile servers hand out at login
PASSWORD = "Hostile-Pw-7f3a9c"
PASSWORD_SHA512 = hashlib.sha512(PASSWORD.encode()).hexdigest()
LOGIN = ("--zstack-account", "admin", "--zstack-password", PASSWORD)
ID_1000 = {"code": "ID.1000", "description": "Unable to authenticate a user", "details": "wrong password"}
ID_1001 = {
    "error": {
        "code": "ID.1001",
        "description": "The session is invalid, either wrong session id or the session has been expired",
        "details": "Session expired",
    }
}


class HostileNode:
    """Answers login, GetVersion, logout and ValidateSession as ZStack does; every API call via ``api``."""

    def __init__(
        self, api: Callable[[BaseHTTPRequestHandler], None], *, session_valid: bool = True, logout_status: int = 200
    ) -> None:
        self.api = api
        self.session_valid = session_valid
        self.logout_status = logout_status
        self.api_calls = 0
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                if path == "/zstack/v1/accounts/login" and PASSWORD_SHA512.encode() not in body:
                    self._reply(503, {"error": {**ID_1000}})
                elif path == "/zstack/v1/accounts/login":
                    self._reply(200, {"inventory": {"uuid": SESSION, "accountUuid": "a" * 32, "userUuid": "a" * 32}})
                elif path == "/zstack/v1/management-nodes/actions":
                    self._reply(200, {"version": "4.8.0"})
                elif path.endswith("/valid"):
                    self._reply(200, {"valid": node.session_valid})
                elif path.startswith("/zstack/v1/accounts/sessions/"):
                    self._reply(node.logout_status, {})
                elif path.startswith("/zstack/v1/api-jobs/"):
                    # Job polls check no session (RestServer.handleJobQuery runs before auth): no job is known here.
                    data = b"the job has been expired"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    node.api_calls += 1
                    node.api(self)

            do_GET = do_PUT = do_DELETE = do_POST = _handle  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostileNode:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _invalid_session(handler: BaseHTTPRequestHandler) -> None:
    if not (handler.headers.get("Authorization") or "").startswith("OAuth "):
        # As ZStack: no (or a foreign) Authorization scheme is a plain-text 400, before any session lookup.
        data = b"missing or invalid Authorization header"
        handler.send_response(400)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return
    handler._reply(503, ID_1001)  # type: ignore[attr-defined]


def _drop_connection(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True  # no status line at all: a transport error on the client


@pytest.fixture
def invalidating_node() -> Iterator[HostileNode]:
    """Login works; afterwards every call is refused 503 ID.1001 and ValidateSession says the session is dead."""
    with HostileNode(_invalid_session, session_valid=False) as node:
        yield node


@pytest.fixture
def dropping_node() -> Iterator[HostileNode]:
    """Login works; every API call then loses its connection (a node going down mid-run)."""
    with HostileNode(_drop_connection) as node:
        yield node


def _assert_not_run(run: SuiteRun, reason: str) -> None:
    assert run.returncode == 4, run.output
    assert run.results is not None, run.output
    meta = run.results["meta"]
    assert meta["verdict"] == "NOT RUN", meta
    assert reason in meta["reason"], meta
    assert "CONFORMING" not in run.output, run.output
    assert "NOT RUN" in run.output
    assert not run.failed, run.failed  # not one finding against the server


def test_run_whose_session_is_refused_is_not_run(tmp_path: Path, invalidating_node: HostileNode) -> None:
    run = run_suite(tmp_path, "--zstack-url", invalidating_node.url, *LOGIN, "--zstack-rate-limit", "0")
    assert run.returncode != 0, run.output
    assert run.results is not None
    reason = run.results["meta"]["reason"]
    # Without the request.authenticated rule the evidence check catches it; with it, the session re-check does.
    assert "no request was served under a valid session" in reason or "session was invalidated" in reason, reason
    _assert_not_run(run, "")
    junit = ET.parse(tmp_path / "contract-junit.xml").getroot()
    assert "NOT RUN" in ET.tostring(junit, encoding="unicode")  # no 0-test file that reads as a success
    assert int(junit.find("testsuite").get("failures", "0")) >= 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "options",
    # This node serves the session calls (ValidateSession's generated test among them): only the rest drops.
    [[], ["-n", "2"], ["-k", "test_generated and not sessions"]],
    ids=["in-process", "xdist", "property-test-only"],
)
def test_node_that_stops_answering_ends_the_run_at_once(
    tmp_path: Path, dropping_node: HostileNode, options: list[str]
) -> None:
    run = run_suite(tmp_path, "--zstack-url", dropping_node.url, *LOGIN, "--zstack-rate-limit", "0", *options)
    _assert_not_run(run, "the management node stopped answering")
    assert "FAILED" not in run.output
    # The first error ends the run: hypothesis retries no example, no other test starts (one per worker at most).
    assert dropping_node.api_calls <= (4 if "-n" in options else 2), dropping_node.api_calls
    assert run.results is not None
    assert run.results["meta"]["requestsSent"] < 20, run.results["meta"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on exit: nothing listens there


@pytest.mark.parametrize("case", ["wrong-password", "unreachable"])
def test_target_errors_under_xdist_print_one_message(tmp_path: Path, case: str) -> None:
    with AltZStackServer() as alt:
        if case == "unreachable":
            args, expected = ("--zstack-url", f"http://127.0.0.1:{_closed_port()}", *LOGIN), "cannot reach"
        else:
            args, expected = ("--zstack-url", alt.url, *LOGIN[:3], "not-the-password"), "login as 'admin' at"
        run = run_suite(tmp_path, *args, "-n", "2")
    assert run.returncode == 4, run.output
    assert run.output.count(expected) == 1, run.output  # printed, and once
    assert "FAILED" not in run.output, run.output
    assert "INTERNALERROR" not in run.output, run.output
    assert run.results is not None
    assert run.results["meta"]["verdict"] == "NOT RUN"
    assert "not-the-password" not in run.output


def test_stale_reports_are_removed_before_a_run_that_cannot_start(tmp_path: Path) -> None:
    for name in ("contract-report.html", "contract-junit.xml", "contract-results.json"):
        (tmp_path / name).write_text("<html>CONFORMING (from an earlier run)</html>", encoding="utf-8")
    run = run_suite(tmp_path, "--zstack-mock-deviation", "no-such-deviation", html=True)
    assert run.returncode == 4, run.output
    assert not (tmp_path / "contract-report.html").exists()
    assert not (tmp_path / "contract-junit.xml").exists()
    assert run.results is not None, "a NOT RUN results file replaces the old one"
    assert run.results["meta"]["verdict"] == "NOT RUN"
    assert "unknown deviation 'no-such-deviation'" in run.results["meta"]["reason"]


def test_xdist_results_carry_version_and_request_count(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "-n", "2")
    assert run.returncode == 0, run.output
    assert run.results is not None
    meta = run.results["meta"]
    assert meta["verdict"].startswith("CONFORMING"), meta
    assert meta["reason"] == ""
    assert meta["version"] == "4.8.0"
    # Both workers' traffic: the in-process run sends about 200 requests for the same tests.
    assert meta["requestsSent"] > 150, meta
    assert meta["authenticatedSuccesses"] > 0, meta


def _leaks(reports: Path, output: str, secrets: set[str]) -> list[tuple[str, str]]:
    texts = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in sorted(reports.iterdir())}
    texts["terminal output"] = output
    return [(name, secret[:6] + "…") for name, text in texts.items() for secret in secrets if secret in text]


def test_no_secret_in_tracebacks_and_locals_of_a_failing_run(tmp_path: Path) -> None:
    """A logout answered 500 fails an assertion whose locals (``-l``) hold the logged-out session's exchange."""
    with HostileNode(_invalid_session, logout_status=500) as node:
        run = run_suite(
            tmp_path, "--zstack-url", node.url, *LOGIN, "--zstack-rate-limit", "0",
            "-l", "-vv", "--tb=long", "-rA", html=True,
        )  # fmt: skip
    assert run.returncode != 0, run.output
    assert "logout" in run.output  # the failure is shown
    assert {p.name for p in tmp_path.iterdir()} >= {"contract-report.html", "contract-junit.xml"}
    assert _leaks(tmp_path, run.output, {SESSION, PASSWORD, PASSWORD_SHA512}) == []


def test_no_secret_in_the_artifacts_of_a_passing_run_with_locals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued: list[str] = []
    original = MockZStackApp._open_session

    def open_and_record(self: MockZStackApp, account: mock_data.Account) -> object:
        session = original(self, account)
        issued.append(session.uuid)
        return session

    monkeypatch.setattr(MockZStackApp, "_open_session", open_and_record)
    with MockZStack([]) as mock:
        body = {"logInByAccount": {"accountName": ADMIN_ACCOUNT, "password": sha512_hex(ADMIN_PASSWORD)}}
        session = requests.put(mock.url + LOGIN_PATH, timeout=5, json=body).json()["inventory"]["uuid"]
        run = run_suite(
            tmp_path, "--zstack-url", mock.url, "--zstack-session", session,
            "--zstack-account", ADMIN_ACCOUNT, "--zstack-password", ADMIN_PASSWORD,
            "--zstack-image-store-url", SEEDED_IMAGE_STORE_URL, "--zstack-rate-limit", "0",
            "-l", "-vv", "--tb=long", "-rA", html=True,
        )  # fmt: skip
    assert run.returncode == 0, run.output
    assert len(issued) >= 2  # the given session, and the suite's own throwaway one
    assert _leaks(tmp_path, run.output, {*issued, sha512_hex(ADMIN_PASSWORD)}) == []


def test_ctrl_c_writes_interrupted_reports(tmp_path: Path) -> None:
    """Ctrl-C while a request is in flight: exit 2 and reports that say INTERRUPTED, never a verdict."""
    arrived, release = threading.Event(), threading.Event()

    def hold(handler: BaseHTTPRequestHandler) -> None:
        arrived.set()
        release.wait(60)  # the server is slow, not the test: it waits for the test to interrupt the run
        handler._reply(503, ID_1001)  # type: ignore[attr-defined]

    (tmp_path / "contract-results.json").write_text('{"meta": {"verdict": "CONFORMING"}}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZSTACK_", "PYTEST_"))}
    with HostileNode(hold) as node:
        command = [
            sys.executable, "-m", "pytest", "tests/contract", "-q", "-p", "no:cacheprovider",
            "-p", "no:pytest_html.plugin", "--zstack-report-dir", str(tmp_path),
            "--zstack-url", node.url, *LOGIN, "--zstack-rate-limit", "0",
        ]  # fmt: skip
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert arrived.wait(120), "the suite never called the API"
            proc.send_signal(signal.SIGINT)
            release.set()
            output, _ = proc.communicate(timeout=120)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 2, output
    results = json.loads((tmp_path / "contract-results.json").read_text(encoding="utf-8"))
    assert results["meta"]["verdict"] == "INTERRUPTED", results["meta"]
    assert "interrupted" in results["meta"]["reason"]
    assert "CONFORMING" not in output, output
    assert "INTERRUPTED: the run was interrupted" in output
