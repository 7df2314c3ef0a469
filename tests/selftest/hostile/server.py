"""A tiny ZStack-speaking HTTP server on 127.0.0.1 that logs every request; subclasses make it hostile.

The base class answers login, GetVersion, ValidateSession, logout and the one API of the schema folder the
way the protocol notes describe (../shared/reference/zstack-rest-protocol.md, §1-2), written from the notes
and not from the suite's code, so a self-test judges the suite against behaviour, not against itself. Each
subclass in :mod:`tests.selftest.hostile.behaviours` overrides one handler with one hostile behaviour.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.selftest.page_example import DOC_EXAMPLE_ITEM

LOGIN = "/zstack/v1/accounts/login"
VERSION = "/zstack/v1/management-nodes/actions"
SESSIONS = "/zstack/v1/accounts/sessions/"
API = "/zstack/v1/database-backups/image-store"
JSON_TYPE = "application/json;charset=UTF-8"
_VALID = re.compile(r"/zstack/v1/accounts/sessions/([^/]*)/valid")
_DESCRIPTIONS = {
    "ID.1000": "Unable to authenticate a user",
    "ID.1001": "The session is invalid, either wrong session id or the session has been expired",
    "SYS.1007": "One or more API argument is invalid",
}
# What Double.valueOf accepts, in ASCII only (protocol notes §1, "Number parsing").
_JAVA_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[dDfF]?\s*", re.ASCII)
# The documented example reply of GetDatabaseBackupFromImageStore (published page), sizes as Gson prints longs.
_INFOS = {"infos": [DOC_EXAMPLE_ITEM]}


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it: the raw path (dot segments and all), headers, body, arrival time."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def kind(self) -> str:
        route = self.route
        if self.method == "PUT" and route == LOGIN:
            return "login"
        if self.method == "PUT" and route == VERSION:
            return "version"
        if self.method == "GET" and _VALID.fullmatch(route):
            return "valid"
        if self.method == "DELETE" and route.startswith(SESSIONS):
            return "logout"
        return "api"


@dataclass
class Reply:
    """An answer; ``chunks`` are streamed (no Content-Length, the connection ends the body)."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    chunks: Iterable[bytes] | None = None


DROP = None  # a handler returning this closes the connection without a reply


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, json.dumps(value).encode())


def text_reply(status: int, text: str, content_type: str | None = "text/plain;charset=UTF-8") -> Reply:
    return Reply(status, text.encode(), content_type)


def error_reply(code: str, details: str) -> Reply:
    return json_reply(503, {"error": {"code": code, "description": _DESCRIPTIONS[code], "details": details}})


@dataclass
class ZStackServer:
    """Conforming enough to be logged in to and queried; one instance per test, stopped by the fixture."""

    password: str = "password"
    account: str = "admin"
    requests: list[Logged] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every session uuid handed out (secrets to scan for)
    live: set[str] = field(default_factory=set)
    api_seen: threading.Event = field(default_factory=threading.Event)  # set at the first API request
    stopping: threading.Event = field(default_factory=threading.Event)  # releases handlers that hang or drip
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> ZStackServer:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def port(self) -> int:
        assert self._http is not None
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, request: Logged) -> None:
        with self._lock:
            self.requests.append(request)
        if request.kind == "api":
            self.api_seen.set()

    def of_kind(self, kind: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.requests if r.kind == kind]

    # -- the protocol ----------------------------------------------------------------------------------

    def answer(self, request: Logged) -> Reply | None:
        handler = getattr(self, request.kind)
        reply: Reply | None = handler(request)
        return reply

    def new_session(self) -> str:
        session = uuid.uuid4().hex
        with self._lock:
            self.issued.append(session)
            self.live.add(session)
        return session

    def login(self, request: Logged) -> Reply | None:
        try:
            credentials = json.loads(request.body)["logInByAccount"]
        except (ValueError, KeyError, TypeError):
            return text_reply(500, "Expected BEGIN_OBJECT but was STRING at line 1 column 1 path $")
        expected = hashlib.sha512(self.password.encode()).hexdigest()
        for mandatory in ("accountName", "password"):  # @APIParam(required = true): argerr before the check
            if not isinstance(credentials, dict) or mandatory not in credentials:
                return error_reply("SYS.1007", f"field[{mandatory}] of message[APILogInByAccountMsg] is mandatory")
        if credentials.get("accountName") != self.account or credentials.get("password") != expected:
            return error_reply("ID.1000", "wrong account name or password")
        # APILogInReply's SessionInventory (protocol notes §2), dates in Gson's format.
        inventory = {
            "uuid": self.issue_login_uuid(),
            "accountUuid": "36c27e8ff05c4780bf6d2fa65700f22e",
            "userUuid": "36c27e8ff05c4780bf6d2fa65700f22e",
            "expiredDate": "Nov 15, 2017 12:20:57 AM",
            "createDate": "Nov 14, 2017 10:20:57 PM",
        }
        return json_reply(200, {"inventory": inventory})

    def issue_login_uuid(self) -> str:
        return self.new_session()

    def version(self, request: Logged) -> Reply | None:
        return json_reply(200, {"version": "5.0.0"})

    def valid(self, request: Logged) -> Reply | None:
        match = _VALID.fullmatch(request.route)
        assert match is not None
        return json_reply(200, {"valid": match.group(1) in self.live})

    def logout(self, request: Logged) -> Reply | None:
        with self._lock:
            self.live.discard(request.route[len(SESSIONS) :])
        return json_reply(200, {})

    def api(self, request: Logged) -> Reply | None:
        if request.route != API:
            return text_reply(404, f"no api mapping to {request.route.removeprefix('/zstack')}")
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return text_reply(400, "missing header 'Authorization'")
        scheme, _, session = authorization.partition(" ")
        if scheme != "OAuth":
            return text_reply(400, "Authorization type must be 'OAuth'")
        if session not in self.live:
            return error_reply("ID.1001", "Session expired")
        query = parse_qs(urlsplit(request.path).query, keep_blank_values=True)
        for name in ("url", "registryPort"):  # the API's scalars; list fields take repeated keys
            if len(query.get(name, [])) > 1:
                return text_reply(
                    400,
                    f"Invalid query parameter[{name}], only one value is allowed for the parameter but "
                    "multiple values found",
                )
        ports = query.get("registryPort", [])
        if ports and not _JAVA_NUMBER.fullmatch(ports[0]):
            return text_reply(500, f'For input string: "{ports[0]}"' if ports[0] else "empty String")
        if ports and not 1 <= int(float(ports[0].strip().rstrip("dDfF"))) <= 65535:
            return error_reply("SYS.1007", "field[registryPort] must be in range of [1, 65535]")
        if not query.get("url", [""])[0]:
            return error_reply(
                "SYS.1007",
                "field[url] of message[org.zstack.header.message.ApiMessageParamValidator] is mandatory, can not "
                "be null",
            )
        return json_reply(200, _INFOS)


def _handler_for(server: ZStackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = Logged(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
            server.log(request)
            reply = server.answer(request)
            if reply is None:  # DROP
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may have gone already
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            if reply.chunks is None:
                self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for chunk in [reply.body] if reply.chunks is None else reply.chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up or was cut off: exactly what some hostile cases wait for
            finally:
                close = getattr(reply.chunks, "close", None)
                if close is not None:
                    close()  # a streaming generator learns now (GeneratorExit) that the client is gone

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the server keeps its own log (ZStackServer.requests); stderr stays quiet

    return Handler


def nested(depth: int) -> str:
    """JSON nested ``depth`` levels deep: what a recursive parser chokes on."""
    return '{"a":' * depth + "1" + "}" * depth


def stream(total: int, piece: bytes) -> Iterator[bytes]:
    """``total`` bytes of one JSON string in a JSON object, produced piece by piece (never held whole)."""
    head, tail = b'{"infos":[{"name":"', b'"}]}'
    yield head
    left = total - len(head) - len(tail)
    while left > 0:
        yield piece[:left]
        left -= len(piece)
    yield tail
