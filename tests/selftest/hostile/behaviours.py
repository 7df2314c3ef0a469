"""The hostile servers: each changes one thing of the conforming base, as issue 7 observed it (one line each)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.selftest.hostile.server import (
    DROP,
    Logged,
    Reply,
    ZStackServer,
    error_reply,
    json_reply,
    nested,
    stream,
    text_reply,
)

HTML_404 = "<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
HOSTILE_UUID = "../../vm-instances/0123456789abcdef0123456789abcdef"
DEEP = 100_000
HUGE = 50 * 1024 * 1024


class Conforming(ZStackServer):
    """No hostility: the base the others change one thing of (and the target of the rate-cap test)."""


class SessionsInvalidated(ZStackServer):
    """Accepts login; from the first API call on, every call is 503 ID.1001 and /valid says false."""

    def api(self, request: Logged) -> Reply | None:
        self.live.clear()
        return error_reply("ID.1001", "Session expired")

    def valid(self, request: Logged) -> Reply | None:
        return json_reply(200, {"valid": not self.api_seen.is_set() and bool(self.live)})


class NotZStack(ZStackServer):
    """Some other web server: 404 HTML for every path."""

    def answer(self, request: Logged) -> Reply | None:
        return text_reply(404, HTML_404, "text/html;charset=utf-8")


class ApiNotServed(ZStackServer):
    """A ZStack node without the API: 404 'no api mapping to /v1/database-backups/image-store'."""

    def api(self, request: Logged) -> Reply | None:
        return text_reply(404, f"no api mapping to {request.route.removeprefix('/zstack')}")


class DropsApi(ZStackServer):
    """Closes the connection without a reply to every API call."""

    def api(self, request: Logged) -> Reply | None:
        return DROP


class HangsApi(ZStackServer):
    """Never answers an API call (the handler sleeps until the server stops)."""

    def api(self, request: Logged) -> Reply | None:
        self.stopping.wait(600)
        return DROP


@dataclass
class DripsApi(ZStackServer):
    """Answers API calls 200, then drips the body 1 byte every 0.5 s (each read is quick; the whole is not)."""

    drips: list[tuple[float, float]] = field(default_factory=list)  # (first byte, client gone) per API call
    # Set when a drip ends: the server learns the client is gone only at its next byte, after the run may end.
    drip_ended: threading.Event = field(default_factory=threading.Event)

    def api(self, request: Logged) -> Reply | None:
        return Reply(200, chunks=self._drip(request.time))

    def _drip(self, started: float) -> Iterator[bytes]:
        try:
            for byte in b'{"infos": []' + b" " * 200 + b"}":
                if self.stopping.wait(0.5):
                    return
                yield bytes([byte])
        finally:
            self.drips.append((started, time.monotonic()))
            self.drip_ended.set()


class HugeApi(ZStackServer):
    """Answers API calls 200 with a 50 MB JSON body, streamed (the server never holds it)."""

    def api(self, request: Logged) -> Reply | None:
        return Reply(200, chunks=stream(HUGE, b"a" * 65536))


class DeepApi(ZStackServer):
    """Answers API calls 200 with JSON nested 100000 levels deep."""

    def api(self, request: Logged) -> Reply | None:
        return Reply(200, nested(DEEP).encode())


class DeepLogin(ZStackServer):
    """Answers login 200 with JSON nested 100000 levels deep."""

    def login(self, request: Logged) -> Reply | None:
        return Reply(200, nested(DEEP).encode())


class DeepVersion(ZStackServer):
    """Answers GetVersion 200 with JSON nested 100000 levels deep."""

    def version(self, request: Logged) -> Reply | None:
        return Reply(200, nested(DEEP).encode())


class LogoutEcho500(ZStackServer):
    """Answers logout 500 with a body echoing the request path (the session) and Authorization header."""

    def logout(self, request: Logged) -> Reply | None:
        super().logout(request)
        return text_reply(500, f"cannot end {request.path}; Authorization: {request.headers.get('Authorization')}")


class ApiEcho500(ZStackServer):
    """Answers API calls 500 with a body echoing the Authorization header."""

    def api(self, request: Logged) -> Reply | None:
        return text_reply(500, f"java.lang.NullPointerException: Authorization={request.headers.get('Authorization')}")


class RefusalEcho500(ZStackServer):
    """Serves valid calls; answers every other API call 500 echoing the Authorization header (Bearer <session>)."""

    def api(self, request: Logged) -> Reply | None:
        reply = super().api(request)
        if reply is None or reply.status == 200:
            return reply
        return text_reply(500, f"java.lang.NullPointerException: Authorization={request.headers.get('Authorization')}")


class PathInLoginUuid(ZStackServer):
    """Login hands out '../../vm-instances/<32 hex>' as the session uuid, to steer a logout into a DELETE."""

    def issue_login_uuid(self) -> str:
        self.issued.append(HOSTILE_UUID)
        self.live.add(HOSTILE_UUID)
        return HOSTILE_UUID


class NoLogin(ZStackServer):
    """GetVersion works, login is 404: a URL that is not (or not only) a ZStack management node."""

    def login(self, request: Logged) -> Reply | None:
        return text_reply(404, HTML_404, "text/html;charset=utf-8")


_SAFE_WRITE = re.compile(
    r"(PUT /zstack/v1/accounts/login|PUT /zstack/v1/management-nodes/actions"
    r"|DELETE /zstack/v1/accounts/sessions/[0-9a-f]{32})"
)


def unsafe_requests(server: ZStackServer) -> list[str]:
    """Requests that are neither GET nor one of the suite's own session calls on a real 32-hex session."""
    return [
        f"{r.method} {r.path}"
        for r in list(server.requests)
        if r.method not in ("GET", "HEAD") and not _SAFE_WRITE.fullmatch(f"{r.method} {r.route}")
    ]
