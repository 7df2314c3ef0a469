"""A server that logs in, then refuses the session on every call that would succeed, never passes.

Issue 7's first false pass: such a server (sessions dropped mid-run, e.g. during an upgrade) got exit 0,
"CONFORMING (must)", because refusal cases accept ID.1001 and valid requests accepted any 503 envelope.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.selftest.suite_runner import run_suite
from zstack_contract.mock.app import MockZStackApp

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

API_PATH = "/zstack/v1/database-backups/image-store"
GENERATED = "tests/contract/test_generated.py::test_generated_request"
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


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, SessionRefusingApp(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_run_against_a_server_refusing_the_valid_session_does_not_pass(tmp_path: Path, refusing_server: str) -> None:
    run = run_suite(
        tmp_path,
        "--zstack-url",
        refusing_server,
        "--zstack-account",
        "admin",
        "--zstack-password",
        "password",
        "--zstack-rate-limit",
        "0",
    )
    assert run.returncode != 0, run.output
    failed = {
        (r["test"], f["rule"]) for r in run.records if r["outcome"] == "failed" for f in r.get("findings", [])
    }
    # No positive values given (as on a real cloud without --zstack-image-store-url): only generated valid
    # requests reach the session check, and they accepted any 503 envelope before.
    assert (GENERATED, "request.authenticated") in failed, run.output
