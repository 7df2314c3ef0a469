"""Servers that log in fine but never serve the API authenticated must not pass.

Issue 7's false passes: a server that refuses the session on every call that would succeed (sessions dropped
mid-run, e.g. during an upgrade) got exit 0, "CONFORMING (must)", because refusal cases accept ID.1001 and
valid requests accepted any 503 envelope; and an API the target does not serve (404 "no api mapping")
passed the auth tests, because a 404 counts as refused.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.mock.app import MockZStackApp

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

API_PATH = "/zstack/v1/database-backups/image-store"
GENERATED = "tests/contract/test_generated.py::test_generated_request[GET /zstack/v1/database-backups/image-store]"
SESSION_REFUSED = {
    "error": {
        "code": "ID.1001",
        "description": "The session is invalid, either wrong session id or the session has been expired",
        "details": "Session expired",
    }
}


class SessionRefusingApp:
    """The conforming mock, except that every API answer that would be 200 becomes 503 ID.1001."""

    def __init__(self) -> None:
        self.inner = MockZStackApp()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.inner.dispatch(request)
        if request.path == API_PATH and response.status_code == 200:
            response = Response(json.dumps(SESSION_REFUSED), status=503)
        return response(environ, start_response)


class NotServingApp(SessionRefusingApp):
    """The conforming mock without the API: its path gets ZStack's 404 for an unmapped path."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == API_PATH:
            response = Response(f"no api mapping to {API_PATH.removeprefix('/zstack')}", status=404)
            return response(environ, start_response)
        return self.inner(environ, start_response)


@contextlib.contextmanager
def serve(app: SessionRefusingApp) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def refusing_server() -> Iterator[str]:
    with serve(SessionRefusingApp()) as url:
        yield url


def _failed_pairs(run: SuiteRun) -> set[tuple[str, str]]:
    return {(r["test"], f["rule"]) for r in run.records if r["outcome"] == "failed" for f in r.get("findings", [])}


def test_run_against_a_server_refusing_the_valid_session_does_not_pass(tmp_path: Path, refusing_server: str) -> None:
    run = run_suite(tmp_path, *_target(refusing_server))
    assert run.returncode != 0, run.output
    failed = _failed_pairs(run)
    # No positive values given (as on a real cloud without --zstack-image-store-url): only generated valid
    # requests reach the session check, and they accepted any 503 envelope before.
    assert (GENERATED, "request.authenticated") in failed, run.output


def _target(url: str) -> tuple[str, ...]:
    login = ("--zstack-account", "admin", "--zstack-password", "password")
    return ("--zstack-url", url, *login, "--zstack-rate-limit", "0")


def test_api_not_served_is_reported_once_and_its_auth_tests_do_not_pass(tmp_path: Path) -> None:
    with serve(NotServingApp()) as url:
        run = run_suite(tmp_path, *_target(url))
    assert run.returncode == 1, run.output
    name = "GetDatabaseBackupFromImageStore"
    auth = [r for r in run.records if r["test"].startswith("tests/contract/test_auth.py::") and name in r["test"]]
    assert len(auth) == 4, run.output
    assert not [r for r in auth if r["outcome"] == "passed"], auth
    # Found once (by the first test that sent it), then not sent again: every later test says why it did not run.
    failed = [r for r in run.records if r["api"] == name and r["outcome"] == "failed"]
    assert [{f["rule"] for f in r["findings"]} for r in failed] == [{"api.not-served"}], failed
    later_auth = [r for r in auth if r["test"] != failed[0]["test"]]
    assert len(later_auth) == 3, auth
    assert all(r["outcome"] == "skipped" and "not served by the target" in r["message"] for r in later_auth), auth
    assert run.results is not None
    assert name in run.results["meta"]["notServed"]
    assert run.output.count(f"{name}: not served by the target") == 1, run.output
