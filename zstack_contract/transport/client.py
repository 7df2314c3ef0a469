"""A small, safe HTTP client for a ZStack management node.

Safe means:

- bounded: one total deadline per request (connect, headers and the whole body, not per read), a cap on the
  body size, depth-safe JSON, a request-rate cap, and a circuit breaker that gives up on a node that stopped
  answering instead of waiting out every later request;
- read-only by default: every request is judged as it goes on the wire by :func:`safety.request_refusal`
  (lifted by ``allow_writes``), and by :func:`safety.never_live_refusal` whatever the flags, unless the node is
  the embedded mock;
- secret-free: the session uuid and the password's SHA-512 hex exist only inside :class:`Secret` objects and the
  wire request (whose repr is masked); every :class:`Exchange` holds masked data only, and transport failures
  are raised afresh, without the library frames (whose locals hold the headers) chained to them.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import re
import shlex
import socket
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from zstack_contract.generation.safety import (
    LOGIN_PATH,
    SESSIONS_PATH,
    VERSION_PATH,
    is_session_uuid,
    never_live_refusal,
    request_refusal,
)
from zstack_contract.transport import safejson
from zstack_contract.transport.safejson import excerpt
from zstack_contract.transport.secret import PASSWORD_HASH_PLACEHOLDER, SESSION_PLACEHOLDER, Secret, mask_text

__all__ = [
    "LOGIN_PATH",
    "SESSIONS_PATH",
    "SESSION_PLACEHOLDER",
    "VERSION_PATH",
    "Auth",
    "Exchange",
    "LoginRejectedError",
    "RateLimiter",
    "TargetDownError",
    "TargetUnreachableError",
    "UnsafeRequestError",
    "ZStackClient",
    "sha512_hex",
]

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
BREAKER_THRESHOLD = 3  # consecutive requests without an answer before the node counts as down
_READ_SIZE = 64 * 1024


class Auth(Enum):
    """What a request authenticates with; the header itself is built inside the client only."""

    SESSION = "session"  # the run's own session: OAuth <session>
    NONE = "none"  # no Authorization header
    WRONG_SCHEME = "scheme"  # Bearer <session>: a scheme ZStack does not accept
    UNKNOWN_SESSION = "unknown-session"  # OAuth <a random uuid no node issued>


EXPLICIT_AUTH = "explicit"  # Exchange.auth when a Secret session was passed as ``auth``


class UnsafeRequestError(RuntimeError):
    """The suite was about to send a request that could change the cloud's state."""


class TargetUnreachableError(RuntimeError):
    """No complete HTTP answer in time (connection refused or dropped, DNS failure, deadline passed)."""


class TargetDownError(TargetUnreachableError):
    """The circuit breaker is open: the node stopped answering, so every later request fails at once."""


class LoginRejectedError(RuntimeError):
    """Login gave no usable session; ``kind`` says why: refused, no-endpoint, bad-uuid or unjudgeable."""

    def __init__(self, message: str, *, kind: str = "refused", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def sha512_hex(plain: str) -> str:
    return hashlib.sha512(plain.encode("utf-8")).hexdigest()


class RateLimiter:
    """At most ``rate`` requests per second across threads; ``rate <= 0`` means no cap."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            # Pacing requests to a live cloud is the point of the cap; this is not test synchronisation.
            self._sleep(start - now)


@dataclass
class Exchange:
    """One request and its response, as evidence. Holds masked data only: ``secrets`` are replaced on creation.

    ``problem`` says why the body cannot be judged at all (over the size cap, nested too deep); a body that is
    simply not JSON is not a problem, the rules judge that.
    """

    method: str
    url: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: str | None
    status: int
    response_headers: dict[str, str]
    text: str
    elapsed: float
    auth: str = Auth.SESSION.value
    problem: str | None = None
    secrets: InitVar[Iterable[str]] = ()
    _parsed: tuple[bool, Any] = field(default=(False, None), init=False, repr=False, compare=False)

    def __post_init__(self, secrets: Iterable[str]) -> None:
        values = tuple(secrets)
        if values:

            def m(text: str) -> str:
                return mask_text(text, values)

            self.url, self.path = m(self.url), m(self.path)
            self.query = [(m(k), m(v)) for k, v in self.query]
            self.headers = {k: m(v) for k, v in self.headers.items()}
            self.body = None if self.body is None else m(self.body)
            self.response_headers = {k: m(v) for k, v in self.response_headers.items()}
            self.text = m(self.text)
        if self.problem is None:
            is_json, value, self.problem = safejson.loads(self.text)
            self._parsed = (is_json, value)

    @property
    def parsed(self) -> tuple[bool, Any]:
        """(is JSON, value) of the body, parsed once; ``(False, None)`` when ``problem`` is set."""
        return self._parsed

    @property
    def content_type(self) -> str | None:
        for k, v in self.response_headers.items():
            if k.lower() == "content-type":
                return v
        return None

    def as_curl(self) -> str:
        full = self.url + ("?" + urlencode(self.query) if self.query else "")
        parts = ["curl", "-X", self.method, shlex.quote(full)]
        for k, v in self.headers.items():
            parts += ["-H", shlex.quote(f"{k}: {v}")]
        if self.body is not None:
            parts += ["--data", shlex.quote(self.body)]
        return " ".join(parts)

    def describe(self, limit: int = 600) -> str:
        shown = {k: v for k, v in self.response_headers.items() if k.lower() in ("content-type", "content-length")}
        problem = f"\n          cannot be judged: {self.problem}" if self.problem else ""
        return (
            f"request:  {self.as_curl()}\nresponse: HTTP {self.status} {shown}\n          "
            f"{excerpt(self.text, limit)}{problem}"
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request": self.as_curl(),
            "status": self.status,
            "contentType": self.content_type,
            "body": excerpt(self.text, 2000),
        }
        if self.problem:
            out["problem"] = self.problem
        return out


class _MaskedHeaders(dict[str, str]):
    """Request headers; they may carry the session, so a traceback local shows names only."""

    def __repr__(self) -> str:
        return f"<headers {sorted(self)} (values masked)>"


@dataclass(repr=False)
class _Wire:
    """The request exactly as sent, secrets included; never rendered, never stored past the send."""

    method: str
    target: str  # path?query relative to the base URL
    headers: _MaskedHeaders
    body: bytes | None

    def __repr__(self) -> str:
        return f"<{self.method} request (masked)>"


@dataclass(repr=False)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    charset: str | None
    over_cap: bool

    def __repr__(self) -> str:  # the raw body may echo a secret; the Exchange built from it is masked
        return f"<HTTP {self.status} answer, {len(self.body)} bytes (not shown)>"


class _TransportFailureError(Exception):
    def __init__(self, reason: str, *, deadline: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.deadline = deadline

    def __repr__(self) -> str:  # the reason may quote what the server sent
        return "<transport failure (masked)>"


def _transmit(scheme: str, host: str, port: int | None, wire: _Wire, timeout: float, cap: int) -> _Answer:
    """One request on a fresh connection, bounded by one deadline over connect, headers and the whole body.

    A socket timeout bounds each read only, so a node dripping one byte at a time would never be cut. A
    watchdog therefore shuts the socket down when the deadline passes, which ends any blocked read at once.
    """
    conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_class(host, port, timeout=timeout)
    deadline = time.monotonic() + timeout
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # the base method below: no TLS state is touched
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    response: http.client.HTTPResponse | None = None
    try:
        conn.connect()
        if expired.is_set():
            raise TimeoutError("deadline passed while connecting")
        conn.request(wire.method, wire.target, body=wire.body, headers=wire.headers)
        response = conn.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size <= cap and time.monotonic() < deadline:
            chunk = response.read1(min(_READ_SIZE, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if expired.is_set() or (size <= cap and time.monotonic() >= deadline):
            raise TimeoutError("deadline passed while reading")
        if size <= cap and response.length:  # the connection closed before Content-Length bytes arrived
            raise http.client.IncompleteRead(b"", response.length)
        return _Answer(
            status=response.status,
            headers=_joined(response.getheaders()),
            body=b"".join(chunks)[:cap],
            charset=response.headers.get_content_charset(),
            over_cap=size > cap,
        )
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError) or time.monotonic() >= deadline:
            raise _TransportFailureError(
                f"no complete answer within {timeout:g} s (--zstack-timeout: one deadline for connect, "
                "headers and the whole body)",
                deadline=True,
            ) from None
        raise _TransportFailureError(f"{type(exc).__name__}: {exc}") from None
    finally:
        watchdog.cancel()
        if response is not None:
            response.close()  # its file object holds the socket open past conn.close()
        conn.close()


def _joined(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _decode(body: bytes, charset: str | None) -> str:
    # ZStack writes UTF-8 (setCharacterEncoding("utf-8")) whether or not it names a charset.
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class ZStackClient:
    """Requests to one management node; every call goes through :meth:`send`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        rate_limit: float = 0.0,
        session: Secret | None = None,
        allow_writes: bool = False,
        embedded_mock: bool = False,
        write_only: Iterable[re.Pattern[str]] = (),
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ValueError("the base URL must be http(s)://host[:port] without userinfo")
        self._scheme, self._host, self._port, self._prefix = parts.scheme, parts.hostname, parts.port, parts.path
        self.timeout = timeout
        self.session = session
        self.allow_writes = allow_writes
        # Paths a GET would run a state-changing API on (safety.write_only_paths): the catalogue's, set by its user.
        self.write_only: tuple[re.Pattern[str], ...] = tuple(write_only)
        # Only the suite's own in-process mock may get requests that restore a management node's data.
        self.embedded_mock = embedded_mock
        self.max_response_bytes = max_response_bytes
        self.limiter = RateLimiter(rate_limit)
        self.requests_sent = 0
        self.authenticated_successes = 0
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        if session:
            self._secrets.add(session.reveal())

    def close(self) -> None:
        """Nothing to release: every request has its own connection, closed when it ends."""

    def remember_secret(self, value: str) -> None:
        with self._lock:
            self._secrets.add(value)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value this client has seen (longest first): what a report scrubber must mask."""
        with self._lock:
            return tuple(sorted(self._secrets, key=len, reverse=True))

    def mask(self, text: str) -> str:
        return mask_text(text, self.secrets)

    @property
    def is_down(self) -> bool:
        return self._failures >= BREAKER_THRESHOLD

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        auth: Auth | Secret = Auth.SESSION,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        raw_body: str | None = None,
        path_secrets: Mapping[str, Secret] | None = None,
    ) -> Exchange:
        """Send one request. ``query`` is a list of pairs so repeated and indexed keys go out as written.

        ``headers`` are extra, non-secret headers; authorization comes only from ``auth``. ``path_secrets`` maps
        placeholders in ``path`` (e.g. ``{sessionUuid}``) to secrets filled in here, so no caller's frame holds them.
        """
        return self._send(method, path, query, auth, headers, json_body, raw_body, dict(path_secrets or {}))[0]

    def _send(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        auth: Auth | Secret,
        headers: Mapping[str, str] | None,
        json_body: Any,
        raw_body: str | None,
        fill: Mapping[str, Secret],
    ) -> tuple[Exchange, _Answer]:
        """The masked exchange, and the raw answer for the client's own use (login reads its session from it).

        ``fill`` maps placeholders in ``path`` and the body to secrets, so no caller's frame holds them.
        """
        self._raise_if_down()
        body = raw_body if json_body is None else json.dumps(json_body)
        wire = self._wire(method, path, list(query), auth, headers, body, fill)
        never = None if self.embedded_mock else never_live_refusal(wire.method, wire.target, _text(wire.body))
        if never is not None:
            raise UnsafeRequestError(
                f"refusing {method} {self.mask(wire.target)}: never sent to a live management node ({never})"
            )
        refusal = None if self.allow_writes else request_refusal(
            wire.method, wire.target, _text(wire.body), self.write_only
        )
        if refusal is not None:
            raise UnsafeRequestError(
                f"refusing {method} {self.mask(wire.target)}: the suite is read-only against a live cloud ({refusal})"
            )
        self.limiter.wait()
        with self._lock:
            self.requests_sent += 1
        started = time.monotonic()
        answer: _Answer | None = None
        failure: _TransportFailureError | None = None
        interrupted = False
        malformed = ""
        try:
            answer = _transmit(self._scheme, self._host, self._port, wire, self.timeout, self.max_response_bytes)
        except _TransportFailureError as exc:
            failure = exc
        except KeyboardInterrupt:
            interrupted = True
        except ValueError as exc:  # http.client refused to build the request (e.g. a newline in a header value)
            malformed = self.mask(f"{type(exc).__name__}: {exc}")
        # Raised afresh, outside the except blocks: the library frames of the failure hold the wire request.
        if interrupted:
            raise KeyboardInterrupt
        if malformed:
            raise ValueError(f"cannot send {method} {self.mask(wire.target)}: {malformed}")
        if answer is None:
            assert failure is not None
            raise self._failed(method, wire, failure.reason)
        with self._lock:
            self._failures = 0
            if auth is Auth.SESSION and answer.status == 200:
                self.authenticated_successes += 1
        cap = self.max_response_bytes
        exchange = Exchange(
            method=method,
            url=self.base_url + wire.target.partition("?")[0],
            path=wire.target.partition("?")[0][len(self._prefix) :],
            query=list(query),
            headers=dict(wire.headers),
            body=_text(wire.body),
            status=answer.status,
            response_headers=answer.headers,
            text=_decode(answer.body, answer.charset),
            elapsed=time.monotonic() - started,
            auth=auth.value if isinstance(auth, Auth) else EXPLICIT_AUTH,
            problem=f"body larger than {cap} bytes (cap: --zstack-max-response-bytes)" if answer.over_cap else None,
            secrets=self.secrets,
        )
        return exchange, answer

    def _raise_if_down(self) -> None:
        if self.is_down:
            raise TargetDownError(self._down_message())

    def _down_message(self) -> str:
        return (
            f"the management node at {self.base_url} stopped answering: {self._failures} consecutive requests "
            f"got no answer (last: {self._last_failure})"
        )

    def _failed(self, method: str, wire: _Wire, reason: str) -> TargetUnreachableError:
        message = self.mask(f"{method} {self.base_url}{wire.target}: {reason}")
        with self._lock:
            self._failures += 1
            self._last_failure = message
            down = self._failures >= BREAKER_THRESHOLD
        return TargetDownError(self._down_message()) if down else TargetUnreachableError(message)

    def _wire(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        auth: Auth | Secret,
        headers: Mapping[str, str] | None,
        body: str | None,
        fill: Mapping[str, Secret],
    ) -> _Wire:
        authorization = self._authorization(auth)  # first: it may raise, and nothing secret is in this frame yet
        for placeholder, secret in fill.items():
            self.remember_secret(secret.reveal())
            path = path.replace(placeholder, secret.reveal())
            body = None if body is None else body.replace(placeholder, secret.reveal())
        target = self._prefix + quote(path, safe="/%:@!$&'()*+,;=-._~")
        if query:
            target += "?" + urlencode(query)
        sent = _MaskedHeaders({"User-Agent": "zstack-contract", "Accept": "*/*", "Connection": "close"})
        sent.update({k: v for k, v in (headers or {}).items() if k.lower() != "authorization"})
        if authorization is not None:
            sent["Authorization"] = authorization.reveal()
        if body is not None:
            sent.setdefault("Content-Type", "application/json;charset=UTF-8")
        return _Wire(method, target, sent, None if body is None else body.encode("utf-8"))

    def _authorization(self, auth: Auth | Secret) -> Secret | None:
        if auth is Auth.NONE:
            return None
        if auth is Auth.UNKNOWN_SESSION:
            return Secret(f"OAuth {uuidlib.uuid4().hex}")
        session = auth if isinstance(auth, Secret) else self.session
        if session is None:
            raise RuntimeError("no session: log in first or pass --zstack-session")
        self.remember_secret(session.reveal())
        scheme = "Bearer" if auth is Auth.WRONG_SCHEME else "OAuth"
        return Secret(f"{scheme} {session.reveal()}")

    def login(self, account: str, password: Secret) -> Secret:
        """Log in with a plain-text password (SHA-512 hex on the wire); returns the session uuid.

        Raises LoginRejectedError when the answer carries no session the suite may use.
        """
        exchange, answer = self._send_login(account, password)
        return self._session_from_login(exchange, answer, account)

    def login_exchange(self, account: str, password: Secret) -> tuple[Exchange, Secret | None]:
        """Log in and keep the answer as evidence: the masked exchange, and the session when it carries a usable
        one (a 32-hex uuid), else None. For the tests that judge login itself; :meth:`login` is for using it."""
        exchange, answer = self._send_login(account, password)
        try:
            return exchange, self._session_from_login(exchange, answer, account)
        except LoginRejectedError:
            return exchange, None

    def _send_login(self, account: str, password: Secret) -> tuple[Exchange, _Answer]:
        """PUT accounts/login with the password's SHA-512 hex, filled in by the client only."""
        hashed = Secret(sha512_hex(password.reveal()))
        body = {"logInByAccount": {"accountName": account, "password": PASSWORD_HASH_PLACEHOLDER}}
        return self._send("PUT", LOGIN_PATH, (), Auth.NONE, None, body, None, {PASSWORD_HASH_PLACEHOLDER: hashed})

    def _session_from_login(self, exchange: Exchange, answer: _Answer, account: str) -> Secret:
        """The session from the raw answer: the masked exchange hides a session the client already knows."""
        where = f"{self.base_url}{LOGIN_PATH}"
        if exchange.status == 404:
            raise LoginRejectedError(
                f"no ZStack login endpoint at {where} (HTTP 404): check --zstack-url (ZSTACK_URL) names a ZStack "
                "management node, e.g. http://mn:8080",
                kind="no-endpoint",
                status=404,
            )
        if exchange.problem:
            raise LoginRejectedError(
                f"login at {where} answered HTTP {exchange.status} with a body that cannot be judged: "
                f"{exchange.problem}",
                kind="unjudgeable",
                status=exchange.status,
            )
        is_json, body, _ = safejson.loads(_decode(answer.body, answer.charset))
        inventory = body.get("inventory") if is_json and isinstance(body, dict) else None
        uuid = inventory.get("uuid") if isinstance(inventory, dict) else None
        if exchange.status != 200 or not isinstance(uuid, str):
            raise LoginRejectedError(
                f"login as {account!r} at {self.base_url} was refused: HTTP {exchange.status} "
                f"{excerpt(exchange.text, 300)}",
                status=exchange.status,
            )
        if not is_session_uuid(uuid):
            raise LoginRejectedError(
                f"login answered a session uuid that is not a ZStack uuid ({len(uuid)} characters, expected 32 "
                "hex digits): not used",
                kind="bad-uuid",
                status=200,
            )
        self.remember_secret(uuid)
        return Secret(uuid)

    def logout(self, session: Secret) -> Exchange:
        """End one of the suite's own sessions (DELETE accounts/sessions/{uuid}); refuses a non-uuid."""
        if not is_session_uuid(session.reveal()):
            raise UnsafeRequestError("refusing to log out a session that is not a 32-hex ZStack uuid")
        path = SESSIONS_PATH + SESSION_PLACEHOLDER
        return self._send("DELETE", path, (), Auth.NONE, None, None, None, {SESSION_PLACEHOLDER: session})[0]

    def validate_session(self, session: Secret) -> Exchange:
        """ValidateSession (GET accounts/sessions/{uuid}/valid), which needs no Authorization header."""
        if not is_session_uuid(session.reveal()):
            raise UnsafeRequestError("refusing to validate a session that is not a 32-hex ZStack uuid")
        path = SESSIONS_PATH + SESSION_PLACEHOLDER + "/valid"
        return self._send("GET", path, (), Auth.NONE, None, None, None, {SESSION_PLACEHOLDER: session})[0]

    def get_version(self) -> str | None:
        """GetVersion needs no session; None when the node does not answer it as documented."""
        exchange = self.send("PUT", VERSION_PATH, auth=Auth.NONE, json_body={"getVersion": {}})
        is_json, body = exchange.parsed
        version = body.get("version") if is_json and isinstance(body, dict) else None
        return str(version) if exchange.status == 200 and isinstance(version, (str, int, float)) else None


def _text(body: bytes | None) -> str | None:
    return None if body is None else body.decode("utf-8")
