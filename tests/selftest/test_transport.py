"""The transport against small hostile servers on 127.0.0.1: bounded, secret-free, read-only, honest about sessions.

Each server here is a few lines of ``http.server`` doing one bad thing; a server that must be slow sleeps inside
its own handler thread, never in the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from zstack_contract.engine.validation import validator_for
from zstack_contract.settings import Settings
from zstack_contract.transport import safejson
from zstack_contract.transport.client import (
    LOGIN_PATH,
    Auth,
    Exchange,
    TargetDownError,
    TargetUnreachableError,
    ZStackClient,
)
from zstack_contract.transport.secret import Secret
from zstack_contract.transport.target import TargetError, open_target

SESSION = "0123456789abcdef0123456789abcdef"
API = "/zstack/v1/database-backups/image-store"
VERSION = "/zstack/v1/management-nodes/actions"
# ZStack's AccountConstant.INITIAL_SYSTEM_ADMIN_PASSWORD as the protocol notes quote it (sha512 of "password").
ZSTACK_ADMIN_HASH_HEAD, ZSTACK_ADMIN_HASH_TAIL = "b109f3bb", "cacbc86"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Respond = Callable[[BaseHTTPRequestHandler, Seen], None]


@dataclass
class TinyServer:
    """A threaded HTTP server on 127.0.0.1 (port 0) that records every request and lets ``respond`` answer."""

    respond: Respond
    seen: list[Seen] = field(default_factory=list)
    sent_bytes: int = 0
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> TinyServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                outer.seen.append(seen)
                self.close_connection = True
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                    outer.respond(self, seen)

            do_GET = do_PUT = do_DELETE = do_POST = do_HEAD = _any  # noqa: N815 (http.server's names)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def methods(self) -> list[str]:
        return [s.method for s in self.seen]


def reply(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def zstack_like(
    login: Any = None, valid: Any = None, api: Callable[[BaseHTTPRequestHandler], None] | None = None
) -> Respond:
    """A node that answers GetVersion, login, ValidateSession, logout and the API the way ZStack does, unless told."""

    def respond(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        if seen.path == VERSION:
            reply(h, 200, {"version": "5.1.8"})
        elif seen.path == LOGIN_PATH:
            reply(h, 200, login if login is not None else {"inventory": {"uuid": SESSION}})
        elif seen.path.endswith("/valid"):
            reply(h, 200, valid if valid is not None else {"valid": True})
        elif seen.method == "DELETE":
            reply(h, 200, {})
        elif api is not None:
            api(h)
        else:
            reply(h, 200, {"infos": []})

    return respond


@pytest.fixture
def serve() -> Iterator[Callable[[Respond], TinyServer]]:
    servers: list[TinyServer] = []

    def start(respond: Respond) -> TinyServer:
        server = TinyServer(respond).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


def settings_for(url: str | None, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "url": url,
        "session": None,
        "account": "admin",
        "password": Secret("password"),
        "positive_params": {},
        "strict": False,
        "timeout": 5.0,
        "rate_limit": 0.0,
        "deviations": (),
        "examples": 1,
        "seed": None,
        "schemas_dir": Path("schemas"),
        "report_dir": None,
        "baseline": None,
        "update_baseline": False,
    }
    base.update(overrides)
    return Settings(**base)


# --- bounded: one deadline per response, a size cap, depth-safe JSON, a circuit breaker -------------------------


def _drip_body(h: BaseHTTPRequestHandler, seen: Seen) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "100")
    h.end_headers()
    for _ in range(100):
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(0.5)  # the hostile server drips; the test itself never sleeps


def _drip_headers(h: BaseHTTPRequestHandler, seen: Seen) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(100):
        h.wfile.write(b"a")
        h.wfile.flush()
        time.sleep(0.5)


@pytest.mark.parametrize("respond", [_drip_body, _drip_headers], ids=["body", "headers"])
def test_a_slow_drip_is_cut_at_the_total_deadline(serve: Callable[[Respond], TinyServer], respond: Respond) -> None:
    server = serve(respond)
    client = ZStackClient(server.url, session=Secret(SESSION), timeout=1.0)
    started = time.monotonic()
    with pytest.raises(TargetUnreachableError, match=r"no complete answer within 1 s") as info:
        client.send("GET", API)
    elapsed = time.monotonic() - started
    # Each byte arrives well within the socket timeout; only a deadline over the whole response cuts this.
    assert 0.9 <= elapsed < 2.0, elapsed
    assert not isinstance(info.value, TargetDownError)


def test_a_50_mb_body_is_not_read_whole(serve: Callable[[Respond], TinyServer]) -> None:
    total = 50 * 1024 * 1024
    chunk = b"[" * 65536

    def huge(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(total))
        h.end_headers()
        while server.sent_bytes < total:
            h.wfile.write(chunk)
            server.sent_bytes += len(chunk)

    server = serve(huge)
    cap = 1024 * 1024
    client = ZStackClient(server.url, session=Secret(SESSION), timeout=10.0, max_response_bytes=cap)
    tracemalloc.start()
    try:
        exchange = client.send("GET", API)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exchange.problem == f"body larger than {cap} bytes (cap: --zstack-max-response-bytes)"
    assert exchange.parsed == (False, None)
    assert len(exchange.text) <= cap
    assert peak < 8 * cap, peak  # a few copies of the capped body, not 50 MB
    assert server.sent_bytes < total / 2  # the client hung up: the server could not push it all


def test_body_at_the_cap_is_read_and_judged(serve: Callable[[Respond], TinyServer]) -> None:
    body = json.dumps({"infos": ["x" * 2000]}).encode()
    server = serve(lambda h, seen: reply(h, 200, body))
    exchange = ZStackClient(server.url, session=Secret(SESSION), timeout=5.0, max_response_bytes=len(body)).send(
        "GET", API
    )
    assert exchange.problem is None
    assert exchange.parsed == (True, {"infos": ["x" * 2000]})


def test_100000_levels_of_nesting_are_a_problem_not_a_recursion_error(serve: Callable[[Respond], TinyServer]) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    server = serve(lambda h, seen: reply(h, 200, deep))
    exchange = ZStackClient(server.url, session=Secret(SESSION), timeout=5.0).send("GET", API)
    assert exchange.problem == f"JSON nested deeper than {safejson.MAX_DEPTH} levels"
    assert exchange.parsed == (False, None)
    assert "cannot be judged: JSON nested deeper" in exchange.describe()


def test_safejson_counts_nesting_without_being_fooled_by_strings() -> None:
    assert safejson.loads('{"a": "[[[[[[[["}', max_depth=1) == (True, {"a": "[[[[[[[["}, None)
    assert safejson.loads('{"a": "\\"[[[["}', max_depth=1) == (True, {"a": '"[[[['}, None)
    assert safejson.loads("[[1]]", max_depth=1) == (False, None, "JSON nested deeper than 1 levels")
    assert safejson.loads("not json") == (False, None, None)  # not JSON is for the rules to judge, not a problem


def test_the_deepest_allowed_error_chain_validates_without_recursion_error() -> None:
    # jsonschema recurses about four frames per level of the error schema's 'cause'; MAX_DEPTH must fit in the
    # stack left under pytest, whose own frames are on it too.
    inner: dict[str, Any] = {"code": "SYS.1000", "description": "d", "details": "x"}
    for _ in range(safejson.MAX_DEPTH - 2):
        inner = {"code": "SYS.1000", "description": "d", "details": "x", "cause": inner}
    text = json.dumps({"error": inner})
    assert safejson.nesting_depth(text) == safejson.MAX_DEPTH
    ok, value, problem = safejson.loads(text)
    assert ok
    assert problem is None
    schema = json.loads(Path("schemas/GetDatabaseBackupFromImageStore/error.schema.json").read_text())
    errors = list(validator_for(schema).iter_errors(value))
    assert [e.message for e in errors] == []


def test_deep_json_from_login_and_get_version_ends_cleanly(serve: Callable[[Respond], TinyServer]) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    server = serve(lambda h, seen: reply(h, 200, deep))
    with pytest.raises(TargetError, match="cannot be judged: JSON nested deeper"):
        open_target(settings_for(server.url))
    assert ZStackClient(server.url, timeout=5.0).get_version() is None


def test_circuit_breaker_opens_after_three_transport_errors_and_a_success_resets_it(
    serve: Callable[[Respond], TinyServer],
) -> None:
    failing = threading.Event()

    def flaky(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        if not failing.is_set():
            reply(h, 200, {"infos": []})
        # else: close without a word, as a crashed node does

    server = serve(flaky)
    client = ZStackClient(server.url, timeout=5.0, session=Secret(SESSION))
    failing.set()
    for _ in range(2):
        with pytest.raises(TargetUnreachableError) as info:
            client.send("GET", API)
        assert not isinstance(info.value, TargetDownError)
    failing.clear()
    assert client.send("GET", API).status == 200  # a success resets the count
    failing.set()
    for _ in range(2):
        with pytest.raises(TargetUnreachableError) as info:
            client.send("GET", API)
        assert not isinstance(info.value, TargetDownError)
    with pytest.raises(TargetDownError, match=r"stopped answering: 3 consecutive requests got no answer \(last: "):
        client.send("GET", API)
    sent = client.requests_sent
    failing.clear()  # even a node that came back is not asked again: the run ends
    with pytest.raises(TargetDownError):
        client.send("GET", API)
    assert client.requests_sent == sent
    assert len(server.seen) == sent


def test_timeouts_open_the_circuit_breaker_too(serve: Callable[[Respond], TinyServer]) -> None:
    stop = threading.Event()

    def hang(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        stop.wait(30)  # no byte at all; released at the end of the test

    server = serve(hang)
    client = ZStackClient(server.url, timeout=0.3, session=Secret(SESSION))
    try:
        started = time.monotonic()
        for _ in range(2):
            with pytest.raises(TargetUnreachableError, match=r"no complete answer within 0\.3 s"):
                client.send("GET", API)
        with pytest.raises(TargetDownError, match="3 consecutive requests got no answer"):
            client.send("GET", API)
        assert time.monotonic() - started < 3
        with pytest.raises(TargetDownError):
            client.send("GET", API)
        assert client.requests_sent == 3
    finally:
        stop.set()


# --- secrets: exact values masked, never in an exception or a traceback local -----------------------------------


def test_transport_error_carries_no_secret_anywhere(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(lambda h, seen: None)  # closes every connection unanswered
    client = ZStackClient(server.url, timeout=5.0, session=Secret(SESSION))
    with pytest.raises(TargetUnreachableError) as info:
        client.send("GET", API, query=[("url", "sftp://x.invalid/")])
    with pytest.raises(TargetUnreachableError) as logout:
        client.logout(Secret(SESSION))
    for exc in (info.value, logout.value):
        assert exc.__cause__ is None  # no library frames chained to it
        assert exc.__context__ is None
        assert SESSION not in str(exc.args)
        frames: list[str] = []
        tb: TracebackType | None = exc.__traceback__
        while tb is not None:
            if "zstack_contract" in tb.tb_frame.f_code.co_filename:  # this test's own frames hold the server log
                frames += [f"{name}={value!r}" for name, value in tb.tb_frame.f_locals.items()]
            tb = tb.tb_next
        assert frames, "the traceback has frames to inspect"
        assert not [f for f in frames if SESSION in f]
    assert "{sessionUuid}" in str(logout.value)


def test_pytest_long_traceback_with_locals_shows_no_secret(
    serve: Callable[[Respond], TinyServer], tmp_path: Path
) -> None:
    server = serve(lambda h, seen: None)
    password = f"pw-{uuid.uuid4().hex[:8]}"
    test = tmp_path / "test_leak.py"
    test.write_text(  # the secrets come from the environment, so the test's source shows none
        "import os\n"
        "from zstack_contract.transport.client import ZStackClient\n"
        "from zstack_contract.transport.secret import Secret\n"
        "def test_send():\n"
        f"    client = ZStackClient({server.url!r}, timeout=5.0, session=Secret(os.environ.pop('S')))\n"
        "    client.send('GET', '/zstack/v1/database-backups/image-store')\n"
        "def test_login():\n"
        f"    ZStackClient({server.url!r}, timeout=5.0).login('admin', Secret(os.environ.pop('P')))\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test),
            "-l",
            "-vv",
            "--tb=long",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "S": SESSION, "P": password, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert "2 failed" in output, output
    assert "TargetUnreachableError" in output
    from zstack_contract.transport.client import sha512_hex

    for secret in (SESSION, password, sha512_hex(password)):
        assert secret not in output


def test_a_request_http_client_refuses_leaves_no_library_frames(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(zstack_like())
    client = ZStackClient(server.url, timeout=5.0, session=Secret(SESSION))
    with pytest.raises(ValueError, match="cannot send GET") as info:
        client.send("GET", API, headers={"X-Bad": "a\nb"})
    assert info.value.__context__ is None
    assert client.requests_sent == 1
    assert server.seen == []


def test_exchange_holds_masked_data_only(serve: Callable[[Respond], TinyServer]) -> None:
    def echo(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        auth = seen.headers.get("Authorization", "")
        reply(h, 500, {"error": {"details": f"bad header {auth}"}}, {"X-Echo": auth})

    server = serve(echo)
    client = ZStackClient(server.url, timeout=5.0, session=Secret(SESSION))
    exchange = client.send("GET", API)
    assert server.seen[0].headers["Authorization"] == f"OAuth {SESSION}"  # the real value went on the wire
    everything = repr(exchange) + exchange.describe() + json.dumps(exchange.to_json()) + repr(exchange.parsed)
    assert SESSION not in everything
    assert exchange.headers["Authorization"] == "OAuth {sessionUuid}"
    assert exchange.response_headers["X-Echo"] == "OAuth {sessionUuid}"
    assert exchange.parsed == (True, {"error": {"details": "bad header OAuth {sessionUuid}"}})
    assert exchange.auth == "session"
    assert client.secrets == (SESSION,)


def test_login_sends_the_sha512_hex_and_masks_it_without_touching_json_keys(
    serve: Callable[[Respond], TinyServer],
) -> None:
    server = serve(zstack_like())
    # The client already knows the session the node answers: login must still read it (the exchange masks it).
    client = ZStackClient(server.url, session=Secret(SESSION), timeout=5.0)
    session = client.login("admin", Secret("password"))
    assert session.reveal() == SESSION
    sent = json.loads(server.seen[0].body)["logInByAccount"]
    # The oracle is ZStack's own constant for sha512("password"), as the protocol notes quote it.
    wire_hash = sent["password"]
    assert len(wire_hash) == 128
    assert wire_hash == wire_hash.lower()
    assert wire_hash.startswith(ZSTACK_ADMIN_HASH_HEAD)
    assert wire_hash.endswith(ZSTACK_ADMIN_HASH_TAIL)
    assert set(client.secrets) == {wire_hash, SESSION}
    assert "password" not in client.secrets  # the plain text is never a masking target
    masked = Exchange(
        "PUT",
        server.url + LOGIN_PATH,
        LOGIN_PATH,
        [],
        {},
        server.seen[0].body.decode(),
        200,
        {},
        "",
        0.0,
        secrets=client.secrets,
    )
    assert json.loads(masked.body or "") == {"logInByAccount": {"accountName": "admin", "password": "{passwordSha512}"}}


def test_logout_answered_500_shows_no_session(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(lambda h, seen: reply(h, 500, f"cannot end session at {seen.path}".encode()))
    exchange = ZStackClient(server.url, timeout=5.0).logout(Secret(SESSION))
    assert server.seen[0].path == f"/zstack/v1/accounts/sessions/{SESSION}"
    assert exchange.path == "/zstack/v1/accounts/sessions/{sessionUuid}"
    assert exchange.text == "cannot end session at /zstack/v1/accounts/sessions/{sessionUuid}"
    assert SESSION not in repr(exchange) + exchange.describe()


def test_masking_takes_whole_tokens_only() -> None:
    from zstack_contract.transport.secret import mask_text

    assert mask_text(f"OAuth {SESSION}", [SESSION]) == "OAuth {sessionUuid}"
    assert mask_text(f"OAuth {SESSION.upper()}", [SESSION]) == "OAuth {sessionUuid}"
    assert mask_text(f"x{SESSION}0", [SESSION]) == f"x{SESSION}0"  # part of a longer token: not this value
    assert mask_text('{"password": "password"}', ["b" * 128]) == '{"password": "password"}'


# --- the read-only guard cannot be steered by a server's answer ---------------------------------------------------


def test_hostile_login_uuid_never_becomes_a_delete(serve: Callable[[Respond], TinyServer]) -> None:
    hostile = {"inventory": {"uuid": "../../vm-instances/0123456789abcdef0123456789abcdef"}}
    server = serve(zstack_like(login=hostile))
    with pytest.raises(TargetError, match=r"login answered a session uuid that is not a ZStack uuid .*not used"):
        open_target(settings_for(server.url))
    assert "DELETE" not in server.methods
    assert server.methods == ["PUT", "PUT"]  # GetVersion and login; nothing else


def test_login_404_names_the_url_not_the_credentials(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(lambda h, seen: reply(h, 404, b"<html>Not Found</html>"))
    with pytest.raises(TargetError) as info:
        open_target(settings_for(server.url))
    message = str(info.value)
    assert f"no ZStack login endpoint at {server.url}" in message
    assert "(HTTP 404)" in message
    assert "check --zstack-url" in message
    assert "--zstack-account" not in message


@pytest.mark.parametrize(
    ("valid", "status", "message"),
    [
        pytest.param({"valid": False}, 200, "is not valid on", id="invalid"),
        pytest.param({"valid": "yes"}, 200, "not a ZStack node or ValidateSession not served at", id="non-bool"),
        pytest.param(b"<html>hi</html>", 200, "not a ZStack node or ValidateSession not served at", id="html"),
        pytest.param(b"no api mapping", 404, "not a ZStack node or ValidateSession not served at", id="404"),
    ],
)
def test_given_session_must_be_confirmed_valid(
    serve: Callable[[Respond], TinyServer], valid: Any, status: int, message: str
) -> None:
    def respond(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        if seen.path.endswith("/valid"):
            reply(h, status, valid)
        else:
            zstack_like()(h, seen)

    server = serve(respond)
    with pytest.raises(TargetError, match=message):
        open_target(settings_for(server.url, session=Secret(SESSION), account=None, password=None))
    assert f"/zstack/v1/accounts/sessions/{SESSION}/valid" in [s.path for s in server.seen]


def test_valid_given_session_is_used_and_rechecked(serve: Callable[[Respond], TinyServer]) -> None:
    answers = iter([{"valid": True}, {"valid": True}, {"valid": False}])

    def respond(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        if seen.path.endswith("/valid"):
            reply(h, 200, next(answers))
        else:
            zstack_like()(h, seen)

    server = serve(respond)
    target = open_target(settings_for(server.url, session=Secret(SESSION), account=None, password=None))
    try:
        assert target.session_is_valid() is True
        assert target.session_is_valid() is False
        exchange = target.client.send("GET", API)
        assert exchange.status == 200
        assert (target.client.requests_sent, target.client.authenticated_successes) == (5, 1)
        target.client.send("GET", API, auth=Auth.NONE)
        assert (target.client.requests_sent, target.client.authenticated_successes) == (6, 1)
    finally:
        target.close()
    assert "DELETE" not in server.methods  # the user's session is never ended by the suite


def test_new_session_failure_is_a_target_error(serve: Callable[[Respond], TinyServer]) -> None:
    refused = {"error": {"code": "ID.1000", "details": "wrong account name or password"}}
    logins = iter([(200, {"inventory": {"uuid": SESSION}}), (503, refused)])

    def respond(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        if seen.path == LOGIN_PATH:
            reply(h, *next(logins))
        else:
            zstack_like()(h, seen)

    server = serve(respond)
    target = open_target(settings_for(server.url))
    try:
        with pytest.raises(TargetError, match=r"was refused: HTTP 503.*Check --zstack-account"):
            target.new_session()
    finally:
        target.close()


def test_workers_share_the_rate_cap() -> None:
    target = open_target(settings_for(None, rate_limit=8.0), workers=4)
    try:
        assert target.client.limiter.interval == pytest.approx(0.5)  # 8 req/s shared by 4 workers: 2 each
    finally:
        target.close()


# --- writes mode: the client's flags come from the settings, the target carries the ledger and run id -------------


def test_open_target_passes_the_write_flags_and_run_id(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(zstack_like())
    live = open_target(settings_for(server.url, allow_writes=True, run_id="ci7"))
    try:
        assert (live.client.allow_writes, live.client.embedded_mock) == (True, False)
        assert live.run_id == "ci7"
        assert live.ledger.entries() == []
    finally:
        live.close()
    mock = open_target(settings_for(None))
    try:
        assert (mock.client.allow_writes, mock.client.embedded_mock) == (False, True)
    finally:
        mock.close()
