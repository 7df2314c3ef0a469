"""A small, safe HTTP client for a ZStack management node.

Safe means: a timeout on every request, a request-rate cap shared by every caller, read-only by default
(only GET, plus the session calls the suite itself needs), and no secret in anything it renders: the session
uuid becomes ``{sessionUuid}`` in curl commands and evidence, passwords never leave :meth:`login`.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import requests

from zstack_contract.findings import excerpt
from zstack_contract.secret import Secret

SESSION_PLACEHOLDER = "{sessionUuid}"
LOGIN_PATH = "/zstack/v1/accounts/login"
SESSIONS_PATH = "/zstack/v1/accounts/sessions/"
VERSION_PATH = "/zstack/v1/management-nodes/actions"

# The only non-GET calls the suite makes: they create or end the suite's own session or read the version.
_SAFE_WRITES = (("PUT", LOGIN_PATH), ("PUT", VERSION_PATH), ("DELETE", SESSIONS_PATH))


class Auth(Enum):
    """What a request authenticates with; the header itself is built inside :meth:`ZStackClient.send` only."""

    SESSION = "session"  # the run's own session: OAuth <session>
    NONE = "none"  # no Authorization header
    WRONG_SCHEME = "scheme"  # Bearer <session>: a scheme ZStack does not accept
    UNKNOWN_SESSION = "unknown-session"  # OAuth <a random uuid no node issued>


class UnsafeRequestError(RuntimeError):
    """The suite was about to send a request that could change the cloud's state."""


class TargetUnreachableError(RuntimeError):
    """No HTTP answer at all (connection refused, DNS failure, timeout)."""


class LoginRejectedError(RuntimeError):
    """The management node refused the credentials."""


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
    """One request and its response, as evidence; secrets are masked when rendered."""

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
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @cached_property
    def parsed(self) -> tuple[bool, Any]:
        """(is JSON, value) of the body, parsed once however many rules look at it."""
        try:
            return True, json.loads(self.text)
        except ValueError:
            return False, None

    @property
    def content_type(self) -> str | None:
        for k, v in self.response_headers.items():
            if k.lower() == "content-type":
                return v
        return None

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, SESSION_PLACEHOLDER)
        return text

    def as_curl(self) -> str:
        full = self.url + ("?" + urlencode(self.query) if self.query else "")
        parts = ["curl", "-X", self.method, shlex.quote(full)]
        for k, v in self.headers.items():
            parts += ["-H", shlex.quote(f"{k}: {v}")]
        if self.body is not None:
            parts += ["--data", shlex.quote(self.body)]
        return self.mask(" ".join(parts))

    def describe(self, limit: int = 600) -> str:
        shown = {k: v for k, v in self.response_headers.items() if k.lower() in ("content-type", "content-length")}
        return self.mask(
            f"request:  {self.as_curl()}\nresponse: HTTP {self.status} {shown}\n          {excerpt(self.text, limit)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.as_curl(),
            "status": self.status,
            "contentType": self.content_type,
            "body": self.mask(excerpt(self.text, 2000)),
        }


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session
        self.allow_writes = allow_writes
        self.limiter = RateLimiter(rate_limit)
        self.http = requests.Session()
        self.http.trust_env = False  # a proxy from the environment must not see (or reroute) the suite's traffic
        self.requests_sent = 0
        self._secrets: set[str] = set()
        self._count_lock = threading.Lock()
        if session:
            self._secrets.add(session.reveal())

    def close(self) -> None:
        self.http.close()

    def remember_secret(self, value: str) -> None:
        self._secrets.add(value)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(sorted(self._secrets, key=len, reverse=True))

    def _authorization(self, auth: Auth | Secret) -> str | None:
        if auth is Auth.NONE:
            return None
        if auth is Auth.UNKNOWN_SESSION:
            return f"OAuth {uuidlib.uuid4().hex}"
        session = auth if isinstance(auth, Secret) else self.session
        if session is None:
            raise RuntimeError("no session: log in first or pass --zstack-session")
        self._secrets.add(session.reveal())
        scheme = "Bearer" if auth is Auth.WRONG_SCHEME else "OAuth"
        return f"{scheme} {session.reveal()}"

    def _check_safe(self, method: str, path: str) -> None:
        if method in ("GET", "HEAD") or self.allow_writes:
            return
        if any(method == m and (path == p or (p.endswith("/") and path.startswith(p))) for m, p in _SAFE_WRITES):
            return
        raise UnsafeRequestError(
            f"refusing {method} {path}: the suite is read-only against a live cloud; only GET and its own "
            "session calls are sent"
        )

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
    ) -> Exchange:
        """Send one request. ``query`` is a list of pairs so repeated and indexed keys go out as written.

        ``headers`` are extra, non-secret headers; authorization comes only from ``auth``.
        """
        self._check_safe(method, path)
        body = raw_body
        if json_body is not None:
            body = json.dumps(json_body)
        sent_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        authorization = self._authorization(auth)
        if authorization is not None:
            sent_headers["Authorization"] = authorization
        if body is not None:
            sent_headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        url = self.base_url + path
        self.limiter.wait()
        with self._count_lock:
            self.requests_sent += 1
        started = time.monotonic()
        try:
            response = self.http.request(
                method,
                url,
                params=list(query),
                headers=sent_headers,
                data=body.encode("utf-8") if body is not None else None,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TargetUnreachableError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        return Exchange(
            method=method,
            url=url,
            path=path,
            query=list(query),
            headers=sent_headers,
            body=body,
            status=response.status_code,
            response_headers=dict(response.headers),
            text=response.text,
            elapsed=time.monotonic() - started,
            secrets=self.secrets,
        )

    def login(self, account: str, password: Secret) -> Secret:
        """Log in with a plain-text password (SHA-512 hex on the wire); returns the session uuid."""
        hashed = sha512_hex(password.reveal())
        self._secrets.add(hashed)
        exchange = self.send(
            "PUT",
            LOGIN_PATH,
            auth=Auth.NONE,
            json_body={"logInByAccount": {"accountName": account, "password": hashed}},
        )
        return Secret(self.session_from_login(exchange, account))

    def session_from_login(self, exchange: Exchange, account: str) -> str:
        try:
            body = json.loads(exchange.text)
            uuid = body["inventory"]["uuid"]
        except (ValueError, KeyError, TypeError):
            raise LoginRejectedError(
                f"login as {account!r} at {self.base_url} was refused: HTTP {exchange.status} "
                f"{excerpt(exchange.mask(exchange.text), 300)}"
            ) from None
        if exchange.status != 200 or not isinstance(uuid, str):
            raise LoginRejectedError(f"login as {account!r} at {self.base_url} answered HTTP {exchange.status}")
        self._secrets.add(uuid)
        return uuid

    def logout(self, session: Secret) -> Exchange:
        self._secrets.add(session.reveal())
        return self.send("DELETE", SESSIONS_PATH + session.reveal(), auth=Auth.NONE)

    def get_version(self) -> str | None:
        """GetVersion needs no session; None when the node does not answer it as documented."""
        exchange = self.send("PUT", VERSION_PATH, auth=Auth.NONE, json_body={"getVersion": {}})
        try:
            version = json.loads(exchange.text).get("version")
        except (ValueError, AttributeError):
            return None
        return str(version) if exchange.status == 200 and version is not None else None
