"""The WSGI application: ZStack's REST server behaviour for the APIs the contract suite exercises.

The processing order follows the real server. RestServer first parses the body, then checks the
Authorization header, then turns the query string into message fields. Its 400 and 500 answers are plain
text. The API mediator then validates parameters, and only after that do the session checks run. Sync
failures there are 503 with an ``{"error": ...}`` envelope. The asynchronous APIs and their job table live in
async_api.py, jobs.py and writes.py; this module routes to them.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from zstack_contract.mock import jvm, query
from zstack_contract.mock.async_api import AsyncApis
from zstack_contract.mock.data import (
    ACCOUNTS,
    DEFAULT_REGISTRY_PORT,
    INT32_LIMIT,
    MANAGEMENT_NODE_VERSION,
    SEEDED_IMAGE_STORE_HOST,
    SESSION_TIMEOUT,
    Account,
    ImageInfo,
    is_reachable,
    repository,
    repository_host,
)
from zstack_contract.mock.deviations import DEVIATIONS, DeviationName
from zstack_contract.mock.family import BACKUP_STORAGE, DATABASE_BACKUP, ZONE, Kind, Record, Store
from zstack_contract.mock.jobs import JOB_DELAY, JOB_RETENTION
from zstack_contract.mock.wire import (
    HTML,
    BareResponse,
    HaltError,
    JsonObject,
    error_code,
    gson_token,
    mandatory,
    plain_text,
    server_now,
    string_param,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Methods Spring's RestServerController maps to RestServer.handle; anything else never reaches it.
_MAPPED_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD"})
_QUERY_METHODS = frozenset({"GET", "DELETE"})

_TAG_LISTS = frozenset({"systemTags", "userTags"})
# GetDatabaseBackupFromImageStore's scalar query fields and how each is converted.
IMAGE_STORE_SCALARS: Mapping[str, Callable[[str], object]] = {"url": str, "registryPort": jvm.parse_double_int_value}

# What trips the broken tag parser of server-error-on-tag-chars: a format specifier, a SQL quote, or
# anything outside ASCII.
_TAG_BREAKING_CHARS = re.compile(r"[%'\u0080-\U0010ffff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# RestServer refuses access-key requests whose Date is more than 15 minutes off.
_ACCESS_KEY_SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class _Session:
    uuid: str
    account: Account
    created: datetime
    expires: datetime


@dataclass(frozen=True)
class _BackupQuery:
    url: str | None
    registry_port: int
    tags: tuple[str, ...]


class MockZStackApp:
    """A WSGI app holding the enabled deviations, the session table and any handler errors it recorded."""

    def __init__(
        self,
        deviations: Iterable[str] = (),
        *,
        job_delay: float = JOB_DELAY,
        job_retention: float = JOB_RETENTION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``job_delay``, ``job_retention`` and ``clock`` drive the async job table (jobs.py); unit tests pass a
        fake clock so a job's end and expiry need no sleep."""
        self.deviations = frozenset(deviations)
        unknown = self.deviations - DEVIATIONS.keys()
        if unknown:
            raise ValueError(f"unknown deviations: {sorted(unknown)}")
        # Unexpected exceptions from handlers. They must surface in the test that caused them, not hide
        # behind a plausible-looking 500.
        self._errors: list[Exception] = []
        self._sessions: dict[str, _Session] = {}
        # Sessions ended by LogOut, remembered only so validate-session-true-after-logout can misreport them.
        self._logged_out: set[str] = set()
        self.store = Store()
        self._lock = threading.Lock()
        self._served = 0
        self.async_apis = AsyncApis(self, job_delay=job_delay, job_retention=job_retention, clock=clock)
        self._routes: tuple[tuple[re.Pattern[str], Callable[..., Response]], ...] = (
            (re.compile(r"/v1/accounts/login"), self._login),
            (re.compile(r"/v1/accounts/sessions/([^/]+)"), self._logout),
            (re.compile(r"/v1/accounts/sessions/([^/]+)/valid"), self._validate_session),
            (re.compile(r"/v1/management-nodes/actions"), self._management_node_actions),
            # Exact paths first, as RestServer tries an exact key before its pattern matches.
            (re.compile(r"/v1/database-backups/image-store"), self._database_backups_from_image_store),
            (re.compile(r"/v1/backup-storage/capacities"), self._backup_storage_capacity),
            *((re.compile(path), handler) for path, handler in self.async_apis.routes()),
            *(
                (re.compile(rf"/v1/{kind.name}(?:/([^/]+))?"), self._query_handler(kind))
                for kind in (ZONE, BACKUP_STORAGE, DATABASE_BACKUP)
            ),
        )

    @property
    def requests_served(self) -> int:
        with self._lock:
            return self._served

    def recorded_errors(self) -> list[Exception]:
        """Exceptions handlers raised so far, oldest first."""
        with self._lock:
            return list(self._errors)

    def deviates(self, name: DeviationName) -> bool:
        # A name the catalogue lacks is a typo in this module. Failing loudly keeps a deviation from
        # being silently dead.
        if name not in DEVIATIONS:
            raise KeyError(f"deviation {name!r} is not in the catalogue")
        return name in self.deviations

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self._served += 1
        try:
            response = self.dispatch(request)
        except Exception as exc:
            with self._lock:
                self._errors.append(exc)
            response = plain_text(500, f"mock handler error: {exc!r}")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Answer one request. Raises only on a bug in the mock."""
        try:
            return self._route(request)
        except HaltError as halt:
            return halt.response

    # Routing and shared parsing.

    def _route(self, request: Request) -> Response:
        path = request.path
        if path != "/zstack/v1" and not path.startswith("/zstack/v1/"):
            return BareResponse(
                b"<!doctype html><html><head><title>HTTP Status 404 - Not Found</title></head>"
                b"<body><h1>HTTP Status 404 - Not Found</h1></body></html>",
                status=404,
                content_type=HTML,
            )
        if request.method not in _MAPPED_METHODS:
            return plain_text(405, f"Request method '{request.method}' not supported")
        api_path = path.removeprefix("/zstack")
        for pattern, handler in self._routes:
            match = pattern.fullmatch(api_path)
            if match is not None:
                return handler(request, *match.groups())
        return plain_text(404, f"no api mapping to {api_path}")

    def read_body(self, request: Request) -> JsonObject | None:
        """The body as RestServer parses it, always and first, even on GET. Empty gives None."""
        text = request.get_data().decode("utf-8", errors="replace")
        if not text.strip():
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HaltError(
                plain_text(
                    500,
                    f"com.google.gson.stream.MalformedJsonException: {exc.msg}"
                    f" at line {exc.lineno} column {exc.colno} path $",
                )
            ) from None
        except (ValueError, RecursionError) as exc:
            # Over-long integers and very deep nesting: Gson fails on these as well, just with other texts.
            raise HaltError(plain_text(500, f"com.google.gson.JsonSyntaxException: {exc}")) from None
        if value is None:
            return None
        if not isinstance(value, dict):
            raise HaltError(
                plain_text(
                    500,
                    "java.lang.IllegalStateException: Expected BEGIN_OBJECT but was "
                    f"{gson_token(value).removeprefix('BEGIN_')} at line 1 column 1 path $",
                )
            )
        return value

    def object_param(self, body: JsonObject | None, name: str) -> JsonObject:
        """body[name], the action's parameter object, as a message. Absent means all fields are null."""
        value = (body or {}).get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise HaltError(
                plain_text(500, f"java.lang.IllegalStateException: Expected BEGIN_OBJECT but was {gson_token(value)}")
            )
        return value

    def query_fields(
        self,
        request: Request,
        scalars: Mapping[str, Callable[[str], object]],
        lists: frozenset[str] = _TAG_LISTS,
    ) -> dict[str, object]:
        """Turn the query string into message fields, the way RestServer.handleApi does for GET/DELETE.

        List fields take repeated keys and indexed keys (``systemTags.0``), repeated first, then indexed in
        index order. Unknown keys are ignored. An input the real server refuses raises an internal
        exception that carries the refusal.
        """
        fields: dict[str, object] = {}
        indexed: dict[str, list[tuple[int, str]]] = {}
        for key, values in request.args.lists():
            name, dot, index = key.partition(".")
            if dot and name in lists:
                if self.deviates(DeviationName.INDEXED_LISTS_REJECTED):
                    raise HaltError(self._api_error(error_code("SYS.1007", f"unknown parameter[{key}]")))
                if len(values) > 1:
                    raise HaltError(plain_text(400, _only_one_value(key)))
                try:
                    position = jvm.parse_int(index)
                except jvm.NumberFormatError as exc:
                    raise HaltError(plain_text(500, str(exc))) from None
                indexed.setdefault(name, []).append((position, values[0]))
            elif not dot and name in lists:
                fields[name] = list(values)
            elif not dot and name in scalars:
                if len(values) > 1 and not self.deviates(DeviationName.DUPLICATE_SCALAR_ACCEPTED):
                    raise HaltError(plain_text(400, _only_one_value(key)))
                try:
                    fields[name] = scalars[name](values[0])
                except jvm.NumberFormatError as exc:
                    # TypeUtils lets NumberFormatException escape, so RestServer's catch-all answers 500.
                    raise HaltError(plain_text(500, str(exc))) from None
            elif self.deviates(DeviationName.UNKNOWN_PARAM_REJECTED):
                raise HaltError(self._api_error(error_code("SYS.1007", f"unknown parameter[{key}]")))
            # Otherwise the real server logs "unknown query parameter[...], ignored" and moves on.
        for name, pairs in indexed.items():
            repeated = fields.get(name)
            ordered = [value for _, value in sorted(pairs, key=lambda pair: pair[0])]
            fields[name] = [*(repeated if isinstance(repeated, list) else []), *ordered]
        return fields

    # Response building.

    def json_answer(self, status: int, payload: JsonObject) -> Response:
        # Gson writes a lone surrogate (a write API stores whatever JSON escapes it was sent) as is, and the
        # servlet's UTF-8 encoder replaces it with '?'.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
        if self.deviates(DeviationName.CONTENT_TYPE_HTML):
            return BareResponse(body, status=status, content_type=HTML)
        return BareResponse(body, status=status)

    def _api_error(self, error: JsonObject, status: int = 503) -> Response:
        """A sync API failure: 503 with ``{"error": ErrorCode}``, unless a deviation bends it."""
        error = dict(error)
        cause = error.get("cause")
        if self.deviates(DeviationName.CAUSE_AS_STRING) and isinstance(cause, dict):
            error["cause"] = cause["details"]
        if self.deviates(DeviationName.ERROR_MISSING_CODE):
            del error["code"]
        payload = error if self.deviates(DeviationName.ERROR_UNWRAPPED) else {"error": error}
        if status == 503 and self.deviates(DeviationName.ERROR_AS_200):
            status = 200
        return self.json_answer(status, payload)

    # Sessions.

    def _open_session(self, account: Account) -> _Session:
        created = server_now()
        session = _Session(uuid.uuid4().hex, account, created, created + SESSION_TIMEOUT)
        with self._lock:
            self._sessions[session.uuid] = session
        return session

    def session_is_valid(self, session_uuid: str) -> bool:
        with self._lock:
            session = self._sessions.get(session_uuid)
        return session is not None and server_now() < session.expires

    def _close_session(self, session_uuid: str) -> None:
        if self.deviates(DeviationName.SESSION_NOT_INVALIDATED):
            return
        with self._lock:
            if self._sessions.pop(session_uuid, None) is not None:
                self._logged_out.add(session_uuid)

    def _has_live_session(self, account: Account) -> bool:
        now = server_now()
        with self._lock:
            return any(s.account == account and now < s.expires for s in self._sessions.values())

    def authorization(self, request: Request) -> str | None:
        """RestServer's header check for APIs that need a session. Returns the claimed session uuid.

        None means the check is switched off. Whether the session exists is decided later, by the API
        mediator, after parameter validation.
        """
        if self.deviates(DeviationName.AUTH_IGNORED):
            return None
        header = request.headers.get("Authorization")
        if header is None:
            raise HaltError(self._unauthenticated(400, "missing header 'Authorization'"))
        auth = jvm.java_trim(header)
        if auth.startswith("OAuth"):
            return jvm.java_trim(auth.replace("OAuth", "", 1))
        if auth.startswith("ZStack"):
            raise HaltError(self._access_key_answer(request, auth))
        raise HaltError(self._unauthenticated(400, "Authorization type must be 'OAuth'"))

    def _unauthenticated(self, status: int, text: str) -> Response:
        if self.deviates(DeviationName.AUTH_401):
            return self._api_error(error_code("ID.1001", text), status=401)
        return plain_text(status, text)

    def _access_key_answer(self, request: Request, auth: str) -> Response:
        """The access-key scheme ('ZStack <id>:<signature>'). The mock has no access keys, so any
        well-formed request still fails authentication."""
        parts = jvm.java_trim(auth.removeprefix("ZStack")).split(":")
        if len(parts) != 2:
            return plain_text(400, "accessKey format is 'ZStack AccessKeyId:Signature'")
        date = request.headers.get("Date")
        if date is None:
            # The typo is ZStack's own.
            return plain_text(400, "'Date' must be incuded in request header")
        try:
            sent = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return plain_text(400, "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'")
        if sent.tzinfo is None:
            # RFC 5322's "-0000" zone means UTC with no claim about local time.
            sent = sent.replace(tzinfo=UTC)
        if abs(time.time() - sent.timestamp()) > _ACCESS_KEY_SKEW_SECONDS:
            return plain_text(403, "requestTimeTooSkewed")
        return self._api_error(error_code("ID.1000", f"invalid access key[{parts[0]}]"))

    def _require_session(self, session_uuid: str | None) -> None:
        if session_uuid is None or self.session_is_valid(session_uuid):
            return
        if self.deviates(DeviationName.UNKNOWN_SESSION_400):
            raise HaltError(plain_text(400, "invalid session"))
        code = "SYS.1000" if self.deviates(DeviationName.WRONG_SESSION_CODE) else "ID.1001"
        status = 401 if self.deviates(DeviationName.AUTH_401) else 503
        raise HaltError(self._api_error(error_code(code, "Session expired"), status=status))

    # Identity APIs (all @SuppressCredentialCheck).

    def _login(self, request: Request) -> Response:
        body = self.read_body(request)
        params: Mapping[str, object]
        if request.method in _QUERY_METHODS:
            params = self.query_fields(
                request, dict.fromkeys(("accountName", "password", "accountType", "captchaUuid"), str)
            )
        else:
            params = self.object_param(body, "logInByAccount")
        account_name = string_param(params, "accountName")
        password = string_param(params, "password")
        if account_name is None:
            if self.deviates(DeviationName.LOGIN_MISSING_ACCOUNT_ACCEPTED):
                return self._api_error(error_code("ID.1000", "wrong account name or password"))
            return self._api_error(mandatory("accountName"))
        if password is None:
            return self._api_error(mandatory("password"))
        account = ACCOUNTS.get(account_name)
        if account is None or (
            password != account.password_sha512 and not self.deviates(DeviationName.LOGIN_ANY_PASSWORD)
        ):
            return self._api_error(error_code("ID.1000", "wrong account name or password"))
        # The deviation spares an account's first live session, so a client can still sign in once.
        drop_uuid = self.deviates(DeviationName.LOGIN_INVENTORY_WITHOUT_UUID) and self._has_live_session(account)
        session = self._open_session(account)
        inventory: JsonObject = {
            "uuid": session.uuid,
            "accountUuid": account.uuid,
            "userUuid": account.uuid,
            # LogInByAccount sets AccountVO.class.getSimpleName() as the user type; the page leaves it out, and
            # clients tolerate extra keys (protocol notes §2).
            "userType": "AccountVO",
            "expiredDate": jvm.gson_date(session.expires),
            "createDate": jvm.gson_date(session.created),
        }
        if drop_uuid:
            del inventory["uuid"]
        return self.json_answer(200, {"inventory": inventory})

    def _logout(self, request: Request, session_uuid: str) -> Response:
        # A single-API path: the method is never checked, so any mapped method logs out.
        self.read_body(request)
        if request.method in _QUERY_METHODS:
            self.query_fields(request, {"sessionUuid": str})
        self._close_session(session_uuid)
        return self.json_answer(200, {})

    def _validate_session(self, request: Request, session_uuid: str) -> Response:
        self.read_body(request)
        if self.deviates(DeviationName.VALIDATE_REQUIRES_AUTH):
            self.authorization(request)
        if request.method in _QUERY_METHODS:
            self.query_fields(request, {"sessionUuid": str})
        valid = self.session_is_valid(session_uuid)
        if self.deviates(DeviationName.VALIDATE_SESSION_TRUE_AFTER_LOGOUT):
            with self._lock:
                valid = valid or session_uuid in self._logged_out
        return self.json_answer(200, {"valid": valid})

    # Management node APIs: one path shared by several actions, so the method and body key choose.

    def _management_node_actions(self, request: Request) -> Response:
        body = self.read_body(request)
        if request.method != "PUT" or body is None or "getVersion" not in body:
            return _no_api_on_shared_path(request, body)
        if self.deviates(DeviationName.VERSION_REQUIRES_AUTH):
            self.authorization(request)
        self.object_param(body, "getVersion")
        return self.json_answer(200, {"version": MANAGEMENT_NODE_VERSION, "success": True})

    # GetDatabaseBackupFromImageStore.

    def _database_backups_from_image_store(self, request: Request) -> Response:
        if request.method in {"POST", "PUT"} and self.deviates(DeviationName.METHOD_NOT_ALLOWED):
            return plain_text(405, f"Request method '{request.method}' not supported")
        self.read_body(request)
        session_uuid = self.authorization(request)
        query = self._backup_query(request)
        if self.deviates(DeviationName.SERVER_ERROR_ON_TAG_CHARS):
            for tag in query.tags:
                if _TAG_BREAKING_CHARS.search(tag):
                    return plain_text(500, f"java.lang.IllegalArgumentException: cannot parse tag[{tag}]")

        url = query.url
        url_missing = url is None or not jvm.java_trim(url)
        if url is None and self.deviates(DeviationName.PLAIN_500_ON_MISSING_URL):
            return plain_text(500, "java.lang.NullPointerException")
        if url is None and self.deviates(DeviationName.MISSING_ARG_AS_SESSION_ERROR):
            return self._api_error(error_code("ID.1001", "session of message[GetDatabaseBackupFromImageStore] is null"))
        if url_missing and not self.deviates(DeviationName.VALIDATION_SKIPPED):
            return self._api_error(
                mandatory("url") if url is None else error_code("SYS.1007", "field[url] cannot be an empty string")
            )
        registry_port = query.registry_port
        if not 1 <= registry_port <= 65535:
            if not self.deviates(DeviationName.PORT_RANGE_UNCHECKED):
                return self._api_error(error_code("SYS.1007", "field[registryPort] must be in range of [1, 65535]"))
            # The unchecked server falls back to its default registry port instead of refusing.
            registry_port = DEFAULT_REGISTRY_PORT
        self._require_session(session_uuid)

        if url is None or url_missing:
            # A server that skips url validation ends up scanning its default store.
            return self._infos(repository(SEEDED_IMAGE_STORE_HOST, DEFAULT_REGISTRY_PORT))
        if self.deviates(DeviationName.SERVER_ERROR_NON_ASCII_URL):
            match = _NON_ASCII.search(url)
            if match is not None:
                return plain_text(
                    500, f"java.net.URISyntaxException: Illegal character in authority at index {match.start()}: {url}"
                )
        host = repository_host(url)
        if host is None or not is_reachable(host, registry_port):
            return self._api_error(
                error_code(
                    "SYS.1006",
                    f"failed to scan database backups from image store[{url}]",
                    cause=error_code("SYS.1016", "connection refused"),
                )
            )
        return self._infos(repository(host, registry_port))

    def _backup_query(self, request: Request) -> _BackupQuery:
        if request.method not in _QUERY_METHODS:
            # parameterName is "" for this API, so the body never carries its fields.
            return _BackupQuery(None, DEFAULT_REGISTRY_PORT, ())
        fields = self.query_fields(request, IMAGE_STORE_SCALARS)
        url = fields.get("url")
        port = fields.get("registryPort", DEFAULT_REGISTRY_PORT)
        tags = [tag for name in sorted(_TAG_LISTS) for tag in _as_strings(fields.get(name))]
        return _BackupQuery(
            url if isinstance(url, str) else None,
            port if isinstance(port, int) else DEFAULT_REGISTRY_PORT,
            tuple(tags),
        )

    def _infos(self, images: list[ImageInfo]) -> Response:
        items = [self._image_info(image) for image in images]
        if not items and self.deviates(DeviationName.INFOS_OMITTED_WHEN_EMPTY):
            return self.json_answer(200, {})
        return self.json_answer(200, {"backups" if self.deviates(DeviationName.BACKUPS_KEY) else "infos": items})

    def _image_info(self, image: ImageInfo) -> JsonObject:
        item: JsonObject = {
            "id": image.id,
            "parent": image.parent,
            "blobsum": image.blobsum,
            "created": self._created(image.created),
            "author": image.author,
            "arch": image.arch,
            "desc": image.desc,
            "size": self._size(image.size),
            "virtualsize": float(image.virtualsize)
            if self.deviates(DeviationName.SIZE_AS_FLOAT)
            else image.virtualsize,
            "name": image.name,
        }
        if self.deviates(DeviationName.MISSING_AUTHOR):
            del item["author"]
        return item

    def _created(self, moment: datetime) -> str | int:
        if self.deviates(DeviationName.CREATED_EPOCH_MILLIS):
            return int(moment.replace(tzinfo=UTC).timestamp()) * 1000
        if self.deviates(DeviationName.ISO_DATES):
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return jvm.gson_date(moment)

    def _size(self, size: int) -> int | float | str:
        if self.deviates(DeviationName.SIZE_AS_STRING) or (
            self.deviates(DeviationName.SIZE_STRING_WHEN_LARGE) and size >= INT32_LIMIT
        ):
            return str(size)
        if self.deviates(DeviationName.SIZE_AS_FLOAT):
            return float(size)
        return size

    # The Query APIs: one engine over the store (protocol notes §6).

    def _query_handler(self, kind: Kind) -> Callable[[Request, str | None], Response]:
        def handle(request: Request, uuid: str | None) -> Response:
            # The kind's paths are shared with its create and delete APIs; the method picks (protocol notes §1).
            if kind is DATABASE_BACKUP and request.method == "POST" and uuid is None:
                return self.async_apis.create(request)
            if kind is DATABASE_BACKUP and request.method == "DELETE" and uuid is not None:
                return self.async_apis.delete(request, uuid)
            return self._query(request, kind, uuid)

        return handle

    def _quirks(self) -> query.Quirks:
        return query.Quirks(
            limit_ignored=self.deviates(DeviationName.QUERY_LIMIT_IGNORED),
            start_one_based=self.deviates(DeviationName.QUERY_START_OFF_BY_ONE),
            count_plus_one=self.deviates(DeviationName.QUERY_COUNT_WRONG),
            total_missing=self.deviates(DeviationName.QUERY_TOTAL_MISSING),
            conditions_ignored=self.deviates(DeviationName.QUERY_Q_IGNORED),
            ne_as_eq=self.deviates(DeviationName.QUERY_NE_AS_EQ),
            fields_ignored=self.deviates(DeviationName.QUERY_FIELDS_IGNORED),
            sort_reversed=self.deviates(DeviationName.QUERY_SORT_REVERSED),
            non_integer_limit_accepted=self.deviates(DeviationName.QUERY_LIMIT_NON_INTEGER_ACCEPTED),
            operatorless_condition_accepted=self.deviates(DeviationName.QUERY_CONDITION_WITHOUT_OPERATOR_ACCEPTED),
        )

    def _query(self, request: Request, kind: Kind, resource_uuid: str | None) -> Response:
        if resource_uuid is not None and self.deviates(DeviationName.QUERY_SHORT_FORM_404):
            return plain_text(404, f"no api mapping to {request.path.removeprefix('/zstack')}")
        body = self.read_body(request)
        # The path is shared with the kind's create/delete/update APIs, so the method picks; only GET is served.
        if request.method != "GET":
            return _no_api_on_shared_path(request, body)
        session_uuid = self.authorization(request)
        quirks = self._quirks()
        try:
            spec = (
                query.short_form(resource_uuid)
                if resource_uuid is not None
                else query.parse(request.args.lists(), quirks)
            )
        except query.QueryRefusedError as refused:
            return plain_text(400, str(refused))
        self._require_session(session_uuid)
        try:
            result = query.run(spec, kind, self.store.list(kind), quirks)
        except query.QueryFailedError as failed:
            return self._api_error(error_code(failed.code, failed.details))
        payload: JsonObject = {}
        schema: dict[str, str] = {}
        if "inventories" in result:
            items = [self.render(kind, record) for record in result["inventories"]]
            payload["inventories"] = items
            schema = _schema(kind, items)
        if "total" in result:
            payload["total"] = result["total"]
        # Query replies always carry RestServer's "schema" map: the class of every org.zstack object in the reply.
        payload["schema"] = schema
        return self.json_answer(200, payload)

    def render(self, kind: Kind, record: Record) -> JsonObject:
        """A record as Gson writes the inventory: declaration order, nulls left out, dates in Gson's format."""
        item: JsonObject = {}
        for name, field_type in kind.fields.items():
            value = record.get(name)
            if value is None:
                continue
            if field_type == "timestamp" and isinstance(value, datetime):
                if kind is ZONE and name == "createDate" and self.deviates(DeviationName.QUERY_INVENTORY_WRONG_TYPE):
                    item[name] = int(value.replace(tzinfo=UTC).timestamp()) * 1000
                else:
                    item[name] = jvm.gson_date(value)
            elif field_type == "refs" and isinstance(value, list):
                nested = kind.nested[name]
                item[name] = [self.render(nested, ref) for ref in value if isinstance(ref, dict)]
            else:
                item[name] = value
        return item

    # GetBackupStorageCapacity.

    def _backup_storage_capacity(self, request: Request) -> Response:
        self.read_body(request)
        session_uuid = self.authorization(request)
        fields: dict[str, object] = {}
        if request.method in _QUERY_METHODS:
            fields = self.query_fields(request, {"all": _java_boolean}, _TAG_LISTS | _CAPACITY_LISTS)
        self._require_session(session_uuid)
        storage_uuids = _as_strings(fields.get("backupStorageUuids"))
        zone_uuids = _as_strings(fields.get("zoneUuids"))
        everything = fields.get("all") is True
        if not storage_uuids and not zone_uuids and not everything:
            # BackupStorageApiInterceptor, which runs after the session check.
            return self._api_error(
                error_code(
                    "SYS.1007",
                    "zoneUuids, backupStorageUuids must have at least one be none-empty list, or all is set to true",
                )
            )
        storages = self.store.list(BACKUP_STORAGE)
        if storage_uuids:
            chosen = [bs for bs in storages if bs["uuid"] in storage_uuids]
        elif everything:
            chosen = storages
        else:
            # A join over the zone refs: a storage attached to two of the zones is added twice, as in the SQL.
            chosen = [bs for bs in storages for zone in _as_strings(bs.get("attachedZoneUuids")) if zone in zone_uuids]
        total = sum(_as_int(bs.get("totalCapacity")) for bs in chosen)
        available = sum(_as_int(bs.get("availableCapacity")) for bs in chosen)
        return self.json_answer(
            200,
            {
                "totalCapacity": str(total) if self.deviates(DeviationName.CAPACITY_AS_STRING) else total,
                "availableCapacity": available,
                "success": True,
            },
        )


_CAPACITY_LISTS = frozenset({"zoneUuids", "backupStorageUuids"})


def _java_boolean(text: str) -> bool:
    # TypeUtils.stringToValue for a boolean field is Boolean.valueOf: anything but "true" is false.
    return text.lower() == "true"


def _as_int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _schema(kind: Kind, items: list[JsonObject]) -> dict[str, str]:
    """JsonSchemaBuilder's map for a query reply: each item's path and inventory class, nested items included."""
    schema: dict[str, str] = {}
    for index, item in enumerate(items):
        for name, nested in kind.nested.items():
            refs = item.get(name)
            for ref_index in range(len(refs) if isinstance(refs, list) else 0):
                schema[f"inventories[{index}].{name}[{ref_index}]"] = nested.inventory_class
        schema[f"inventories[{index}]"] = kind.inventory_class
    return schema


def _no_api_on_shared_path(request: Request, body: JsonObject | None) -> Response:
    """RestServer.handleNonUniqueApi when no API on the path takes this method (or this PUT's action key)."""
    uri = request.path
    if request.method == "POST":
        return plain_text(500, f"No creational API found for the path[{uri}]")
    if request.method == "GET":
        return plain_text(500, f"No query API found for the path[{uri}]")
    if request.method == "DELETE":
        return plain_text(500, f"No delete API found for the path[{uri}]")
    if request.method != "PUT":
        return plain_text(405, f"The method[{request.method}] is not allowed for the path[{uri}]")
    if body is None:
        # body.containsKey on a null map: a NullPointerException, whose message is null.
        return plain_text(500, "")
    return plain_text(400, f"the body doesn't contain action mapping to the URL[{uri.removeprefix('/zstack')}]")


def _only_one_value(key: str) -> str:
    return f"Invalid query parameter[{key}], only one value is allowed for the parameter but multiple values found"


def _as_strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
