"""An independent ZStack-compatible REST server, used as a second target for the contract suite.

It is written only from the protocol notes and the published API pages, on the standard library's
HTTP server; its Query engine and resources live in alt_query and alt_inventory. It deliberately
uses freedoms the contract leaves open (newer-JDK date rendering, float sizes, an extra ``success``
key, ``causes`` sometimes absent, a ``schema`` map in Query replies, no Content-Type on plain-text
errors). A test that passes against both this server and the project's own mock therefore checks
the documented contract rather than one implementation's accidents.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, Literal, TypeAlias, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.selftest import alt_inventory
from tests.selftest.alt_backups import BackupFailedError, BackupStore
from tests.selftest.alt_jobs import DEFAULT_POLLS_WHILE_RUNNING, DEFAULT_RETENTION, JobOutcome, JobTable
from tests.selftest.alt_query import QueryFailedError, QueryRefusedError, Record, Resource, answer, parse_query

__all__ = ["AltZStackServer", "main"]

JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None"
_Param: TypeAlias = "str | int | bool | list[str] | dict[str, str]"

_CONTEXT_PATH: Final = "/zstack"
_JSON_CONTENT_TYPE: Final = "application/json;charset=UTF-8"
_CONTROLLER_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})
_BODY_METHODS: Final = frozenset({"POST", "PUT"})
_MAX_BODY_BYTES: Final = 16 * 1024 * 1024
_DETAILS_LIMIT: Final = 4096

_ADMIN_NAME: Final = "admin"
# The well-known uuid of ZStack's built-in admin account; the admin user shares it.
_ADMIN_ACCOUNT_UUID: Final = "36c27e8ff05c4780bf6d2fa65700f22e"
_ADMIN_PASSWORD_SHA512: Final = hashlib.sha512(b"password").hexdigest()
_SESSION_TTL: Final = timedelta(seconds=7200)
_ACCESS_KEY_MAX_SKEW: Final = timedelta(minutes=15)
_VERSION: Final = "5.1.8"

_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "ID.1000": "Unable to authenticate a user",
    "ID.1001": "The session is invalid, either wrong session id or the session has been expired",
    "SYS.1003": "A resource can not be found",
    "SYS.1000": "An internal error happened in system",
    "SYS.1006": "An operation failed",
    "SYS.1007": "One or more API argument is invalid",
    "SYS.1016": "Cannot do an IO operation (e.g. network IO error, file IO error)",
}

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _gson_date(moment: datetime) -> str:
    """Render a timestamp the way Gson's default US format does on a CLDR-era JDK.

    Newer JDKs put a comma after the year and U+202F before AM/PM; the docs show the older form.
    Emitting the newer one checks that clients accept both. strftime is avoided because %b and
    %p follow the process locale.
    """
    hour = moment.hour % 12 or 12
    marker = "PM" if moment.hour >= 12 else "AM"
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}, "
        f"{hour}:{moment.minute:02d}:{moment.second:02d}\u202f{marker}"
    )


# ---------------------------------------------------------------------------------------------
# Replies and failures


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()


class _AbortError(Exception):
    """Carries a finished reply out of arbitrarily deep validation code."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _text(status: int, message: str) -> _Reply:
    # RestException bodies are written raw and the real server never sets a Content-Type,
    # so none is sent here either: clients must not depend on it.
    return _Reply(status, message.encode("utf-8"))


def _json(status: int, payload: JsonValue) -> _Reply:
    # ensure_ascii=False keeps U+202F as real UTF-8 bytes on the wire, as Gson writes it.
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _Reply(status, encoded.encode("utf-8"), _JSON_CONTENT_TYPE)


def _error_code(code: str, details: str, *, cause: dict[str, JsonValue] | None = None) -> dict[str, JsonValue]:
    error: dict[str, JsonValue] = {
        "code": code,
        "description": _DESCRIPTIONS[code],
        "details": details[:_DETAILS_LIMIT],
    }
    # An ErrorCodeList copy carries "causes"; a wrapped error built with a root cause does not.
    # Emitting both shapes keeps clients from requiring either key.
    if cause is None:
        error["causes"] = []
    else:
        error["cause"] = cause
    return error


def _api_failure(code: str, details: str, *, cause: dict[str, JsonValue] | None = None) -> _AbortError:
    return _AbortError(_json(503, {"error": _error_code(code, details, cause=cause)}))


def _invalid_argument(details: str) -> _AbortError:
    return _api_failure("SYS.1007", details)


_NOT_FOUND_PAGE: Final = _Reply(
    404,
    b"<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
    "text/html;charset=utf-8",
)


# ---------------------------------------------------------------------------------------------
# Java number parsing

_JAVA_DECIMAL: Final = re.compile(r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)")
_JAVA_HEX: Final = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?"
)
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1


def _java_trim(text: str) -> str:
    # String.trim() drops every char <= U+0020, which is not the same set as str.strip().
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _java_int(text: str) -> int:
    """Emulate ``Double.valueOf(text).intValue()``, the real server's query-string int coercion.

    Its NumberFormatException escapes the REST layer, hence the plain-text 500s with the JDK's wording.
    """
    trimmed = _java_trim(text)
    if not trimmed:
        raise _AbortError(_text(500, "empty String"))
    if _JAVA_DECIMAL.fullmatch(trimmed):
        value = float(trimmed.rstrip("fFdD"))
    elif _JAVA_HEX.fullmatch(trimmed):
        try:
            value = float.fromhex(trimmed.rstrip("fFdD"))
        except OverflowError:
            value = -math.inf if trimmed.startswith("-") else math.inf
    else:
        raise _AbortError(_text(500, f'For input string: "{trimmed}"'))
    # A (int) cast of a double saturates instead of overflowing, and maps NaN to zero.
    if math.isnan(value):
        return 0
    if value >= _INT_MAX:
        return _INT_MAX
    if value <= _INT_MIN:
        return _INT_MIN
    return int(value)


# ---------------------------------------------------------------------------------------------
# Sessions


@dataclass(frozen=True)
class _Session:
    uuid: str
    created: datetime
    expires: datetime

    def inventory(self) -> dict[str, JsonValue]:
        return {
            "uuid": self.uuid,
            "accountUuid": _ADMIN_ACCOUNT_UUID,
            "userUuid": _ADMIN_ACCOUNT_UUID,
            "createDate": _gson_date(self.created),
            "expiredDate": _gson_date(self.expires),
            # @APINoSee on the Java side, but Gson ignores that annotation, so real replies leak it.
            "noSessionEvaluation": False,
        }


class _SessionStore:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def open(self) -> _Session:
        # Dates use the server's local zone, as a JVM would; tests only need them well formed.
        now = self._clock()
        session = _Session(uuid.uuid4().hex, now, now + _SESSION_TTL)
        with self._lock:
            self._sessions[session.uuid] = session
        return session

    def lookup(self, session_uuid: str) -> _Session | None:
        with self._lock:
            session = self._sessions.get(session_uuid)
            if session is not None and session.expires <= self._clock():
                del self._sessions[session_uuid]
                session = None
        return session

    def close(self, session_uuid: str) -> None:
        with self._lock:
            self._sessions.pop(session_uuid, None)


@dataclass(frozen=True)
class _Context:
    """What an API's work may touch: the sessions, the database backups and their wire form."""

    sessions: _SessionStore
    backups: BackupStore
    render_backup: Callable[[Record], dict[str, object]]


# ---------------------------------------------------------------------------------------------
# Image-store catalogue

# The docs were generated in UTC+8; pinning that zone keeps backup dates reproducible for tests.
_DOC_ZONE: Final = timezone(timedelta(hours=8))
_CATALOGUE_HOST: Final = "image-store.invalid"


@dataclass(frozen=True)
class _ImageInfo:
    id: str
    parent: str
    blobsum: str
    created: datetime
    author: str
    arch: str
    desc: str
    size: int
    virtualsize: int
    name: str

    def to_json(self) -> dict[str, JsonValue]:
        # Sizes go out as integral doubles, as a server whose Gson rehashed the reply through an
        # untyped map did before LONG_OR_DOUBLE; a conforming client must accept 7995392.0.
        # Keys are alphabetical rather than in documentation order: JSON objects are unordered.
        return {
            "arch": self.arch,
            "author": self.author,
            "blobsum": self.blobsum,
            "created": _gson_date(self.created),
            "desc": self.desc,
            "id": self.id,
            "name": self.name,
            "parent": self.parent,
            "size": float(self.size),
            "virtualsize": float(self.virtualsize),
        }


_DOCS_EXAMPLE_IMAGE: Final = _ImageInfo(
    id="270c67e3699f72ba",
    parent="5f0e9d2c81b4a736",
    blobsum="sha256:" + hashlib.sha256(b"zstack-database-backup/270c67e3699f72ba").hexdigest(),
    created=datetime.fromtimestamp(1510669257.141, _DOC_ZONE),
    author="cloud",
    arch="amd64",
    desc="zstack management database backup",
    size=7995392,
    virtualsize=12682240,
    name="78b6afbc9da73932a000fb9a75947962",
)
_SECOND_IMAGE: Final = _ImageInfo(
    id="9c1f2e7d45ab3068",
    parent="270c67e3699f72ba",
    blobsum="sha256:" + hashlib.sha256(b"zstack-database-backup/9c1f2e7d45ab3068").hexdigest(),
    created=datetime(2018, 3, 2, 9, 5, 3, tzinfo=_DOC_ZONE),
    author="cloud",
    arch="amd64",
    desc="incremental backup after upgrade",
    size=104857600,
    virtualsize=214748364800,
    name="d41c3b0a6f5e48e79a2b1c0d9e8f7a6b",
)


def _hostname(url: str) -> str | None:
    # Bare "host/path" forms are read as network locations so they are judged by host too.
    candidate = url if "://" in url else "//" + url
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


# ---------------------------------------------------------------------------------------------
# API descriptions


@dataclass(frozen=True)
class _Field:
    kind: Literal["string", "int", "bool", "list", "map"] = "string"
    required: bool = False
    allow_empty: bool = True
    bounds: tuple[int, int] | None = None
    default: int | None = None
    # In Java chars (UTF-16 code units), as String.length() counts them.
    max_length: int | None = None
    # @APIParam(noTrim = true): every other String field is String.trim()med before it is validated and used.
    no_trim: bool = False


# Declared on NeedReplyMessage, so every API accepts them.
_INHERITED_FIELDS: Final[Mapping[str, _Field]] = {"systemTags": _Field("list"), "userTags": _Field("list")}


@dataclass(frozen=True)
class _Invocation:
    params: Mapping[str, _Param]
    session: _Session | None

    def text(self, name: str) -> str:
        value = self.params[name]
        assert isinstance(value, str)
        return value

    def number(self, name: str) -> int:
        value = self.params[name]
        assert isinstance(value, int)
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.params.get(name)
        assert value is None or isinstance(value, str)
        return value

    def texts(self, name: str) -> list[str]:
        value = self.params.get(name, [])
        assert isinstance(value, list)
        return value

    def flag(self, name: str) -> bool:
        return self.params.get(name) is True


_Runner: TypeAlias = "Callable[[_Context, _Invocation], dict[str, JsonValue]]"


@dataclass(frozen=True)
class _Api:
    message_class: str
    parameter_name: str
    fields: Mapping[str, _Field]
    run: _Runner
    needs_session: bool = True
    # A Query API names the resource it lists; the REST layer parses its query string itself.
    lister: str | None = None
    # Set for an asynchronous API: the apiTimeout (ms) its 202 announces. None: a sync API.
    api_timeout_ms: int | None = None

    def all_fields(self) -> dict[str, _Field]:
        return {**self.fields, **_INHERITED_FIELDS}


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    single: _Api | None = None
    create: _Api | None = None
    query: _Api | None = None
    delete: _Api | None = None
    actions: Mapping[str, _Api] = field(default_factory=dict)

    def select(self, method: str, body: Mapping[str, object], api_path: str) -> _Api:
        # A path owned by one API never looks at the method; only shared paths dispatch on it.
        if self.single is not None:
            return self.single
        if method == "POST":
            if self.create is None:
                raise _AbortError(_text(500, f"No creational API found for the path[{api_path}]"))
            return self.create
        if method == "PUT":
            for key in body:
                if key in self.actions:
                    return self.actions[key]
            raise _AbortError(_text(400, f"the body doesn't contain action mapping to the URL[{api_path}]"))
        if method == "GET":
            if self.query is None:
                raise _AbortError(_text(500, f"No query API found for the path[{api_path}]"))
            return self.query
        if method == "DELETE":
            if self.delete is None:
                raise _AbortError(_text(500, f"No delete API found for the path[{api_path}]"))
            return self.delete
        raise _AbortError(_text(405, f"The method[{method}] is not allowed for the path[{api_path}]"))


def _run_login(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    # The stored hash is compared verbatim, so an upper-case hex digest is a wrong password.
    if call.text("accountName") != _ADMIN_NAME or call.text("password") != _ADMIN_PASSWORD_SHA512:
        raise _api_failure("ID.1000", "wrong account name or password")
    return {"inventory": ctx.sessions.open().inventory()}


def _run_logout(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    # Logging out an unknown session is not an error: the reply has no fields at all.
    ctx.sessions.close(call.text("sessionUuid"))
    return {}


def _run_validate_session(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    return {"valid": ctx.sessions.lookup(call.text("sessionUuid")) is not None}


def _run_get_version(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    # fieldsTo={"all"} drags the inherited success flag along with the version.
    return {"version": _VERSION, "success": True}


def _run_get_backups(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    url = call.text("url")
    port = call.number("registryPort")
    host = _hostname(url)
    # Only reserved .invalid names get data, so the server never opens a connection anywhere.
    if host is None or not host.endswith(".invalid"):
        raise _api_failure(
            "SYS.1006",
            f"failed to scan database backups on image store[{url}] through registry port {port}",
            cause={"code": "SYS.1016", "description": _DESCRIPTIONS["SYS.1016"], "details": "connection refused"},
        )
    images = [_DOCS_EXAMPLE_IMAGE, _SECOND_IMAGE] if host == _CATALOGUE_HOST else [_DOCS_EXAMPLE_IMAGE]
    # "success" is not in the docs' example; real fieldsTo={"all"} replies carry it anyway.
    return {"infos": [image.to_json() for image in images], "success": True}


def _run_get_capacity(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    backup_storage, zones, every = call.texts("backupStorageUuids"), call.texts("zoneUuids"), call.flag("all")
    # The backup storage API interceptor refuses a request that names nothing to add up.
    if not backup_storage and not zones and not every:
        raise _invalid_argument(
            "zoneUuids, backupStorageUuids must have at least one be none-empty list, or all is set to true"
        )
    total, available = alt_inventory.capacity(backup_storage, zones, every)
    # fieldsTo={"all"}: the inherited success flag comes along.
    return {"totalCapacity": total, "availableCapacity": available, "success": True}


def _inventory(ctx: _Context, row: Record) -> dict[str, JsonValue]:
    return {"inventory": cast(JsonValue, ctx.render_backup(row))}


def _run_create_backup(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    row = ctx.backups.create(
        call.text("name"),
        call.optional_text("description"),
        call.text("backupStorageUuid"),
        call.optional_text("resourceUuid"),
    )
    return _inventory(ctx, row)


def _run_delete_backup(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    ctx.backups.delete(call.text("uuid"), call.texts("backupStorageUuids"))
    return {}


def _run_export_backup(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    url = ctx.backups.export(call.text("databaseBackupUuid"), call.text("backupStorageUuid"))
    return {"databaseBackupUrl": url}


def _run_delete_exported_backup(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    ctx.backups.delete_export(call.text("databaseBackupUuid"), call.text("backupStorageUuid"))
    return {}


def _run_sync_backup(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    row = ctx.backups.sync(call.text("uuid"), call.text("srcBackupStorageUuid"), call.text("dstBackupStorageUuid"))
    return _inventory(ctx, row)


def _run_recover_database(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    port = ctx.backups.check_recoverable(
        call.optional_text("uuid"), call.optional_text("backupStorageUrl"), call.optional_text("backupInstallPath")
    )
    return {"logListenPort": port}


def _run_query(ctx: _Context, call: _Invocation) -> dict[str, JsonValue]:
    raise AssertionError("Query APIs are answered by the query engine, never run as plain APIs")


def _query_api(message_class: str, resource: str) -> _Api:
    return _Api(message_class, "", {}, _run_query, lister=resource)


_QUERY_ZONE: Final = _query_api("org.zstack.header.zone.APIQueryZoneMsg", "zones")
_QUERY_BACKUP_STORAGE: Final = _query_api("org.zstack.header.storage.backup.APIQueryBackupStorageMsg", "backup-storage")
_QUERY_DATABASE_BACKUP: Final = _query_api(
    "org.zstack.header.storage.database.backup.APIQueryDatabaseBackupMsg", "database-backups"
)
_GET_CAPACITY: Final = _Api(
    "org.zstack.header.storage.backup.APIGetBackupStorageCapacityMsg",
    "",
    {"zoneUuids": _Field("list"), "backupStorageUuids": _Field("list"), "all": _Field("bool")},
    _run_get_capacity,
)

_LOGIN: Final = _Api(
    "org.zstack.header.identity.APILogInByAccountMsg",
    "logInByAccount",
    {
        "accountName": _Field(required=True),
        "password": _Field(required=True, no_trim=True),
        "accountType": _Field(),
        "captchaUuid": _Field(),
        "verifyCode": _Field(),
        "clientInfo": _Field("map"),
    },
    _run_login,
    needs_session=False,
)
_LOGOUT: Final = _Api(
    "org.zstack.header.identity.APILogOutMsg",
    "logOut",
    {"sessionUuid": _Field(required=True)},
    _run_logout,
    needs_session=False,
)
_VALIDATE_SESSION: Final = _Api(
    "org.zstack.header.identity.APIValidateSessionMsg",
    "validateSession",
    {"sessionUuid": _Field(required=True)},
    _run_validate_session,
    needs_session=False,
)
_GET_VERSION: Final = _Api(
    "org.zstack.header.managementnode.APIGetVersionMsg",
    "getVersion",
    {},
    _run_get_version,
    needs_session=False,
)
_GET_BACKUPS: Final = _Api(
    "org.zstack.header.storage.backup.APIGetDatabaseBackupFromImageStoreMsg",
    "",
    {
        "url": _Field(required=True, allow_empty=False),
        "registryPort": _Field("int", bounds=(1, 65535), default=8000),
    },
    _run_get_backups,
)

# The async family. Each apiTimeout differs from the others and from the embedded mock's single
# value: the contract only asks for a positive number of milliseconds.
_DB_BACKUP_MSG: Final = "org.zstack.header.storage.database.backup."
_CREATE_BACKUP: Final = _Api(
    _DB_BACKUP_MSG + "APICreateDatabaseBackupMsg",
    "params",
    {
        "name": _Field(required=True, allow_empty=False, max_length=255),
        "description": _Field(max_length=1024),
        "backupStorageUuid": _Field(required=True, allow_empty=False),
        "resourceUuid": _Field(),
        "tagUuids": _Field("list"),
    },
    _run_create_backup,
    api_timeout_ms=5_400_000,
)
_DELETE_BACKUP: Final = _Api(
    _DB_BACKUP_MSG + "APIDeleteDatabaseBackupMsg",
    "",
    {"uuid": _Field(required=True), "backupStorageUuids": _Field("list")},
    _run_delete_backup,
    api_timeout_ms=900_000,
)
_EXPORT_BACKUP: Final = _Api(
    _DB_BACKUP_MSG + "APIExportDatabaseBackupFromBackupStorageMsg",
    "exportDatabaseBackupFromBackupStorage",
    {"databaseBackupUuid": _Field(required=True), "backupStorageUuid": _Field(required=True)},
    _run_export_backup,
    api_timeout_ms=3_600_000,
)
_DELETE_EXPORTED_BACKUP: Final = _Api(
    _DB_BACKUP_MSG + "APIDeleteExportedDatabaseBackupFromBackupStorageMsg",
    "",
    {"databaseBackupUuid": _Field(required=True), "backupStorageUuid": _Field(required=True)},
    _run_delete_exported_backup,
    api_timeout_ms=900_000,
)
_SYNC_BACKUP: Final = _Api(
    _DB_BACKUP_MSG + "APISyncDatabaseBackupFromImageStoreBackupStorageMsg",
    "syncDatabaseBackupFromImageStoreBackupStorage",
    {
        "uuid": _Field(required=True),
        "srcBackupStorageUuid": _Field(required=True, allow_empty=False),
        "dstBackupStorageUuid": _Field(required=True, allow_empty=False),
    },
    _run_sync_backup,
    api_timeout_ms=7_200_000,
)
_RECOVER_DATABASE: Final = _Api(
    _DB_BACKUP_MSG + "APIRecoverDatabaseFromBackupMsg",
    "recoverDatabaseFromBackup",
    {
        "uuid": _Field(),
        "backupStorageUrl": _Field(),
        "backupInstallPath": _Field(),
        "mysqlRootPassword": _Field(required=True, no_trim=True),
    },
    _run_recover_database,
    api_timeout_ms=10_800_000,
)

_ROUTES: Final = (
    _Route(re.compile(r"/v1/accounts/login"), single=_LOGIN),
    _Route(re.compile(r"/v1/accounts/sessions/(?P<sessionUuid>[^/]+)/valid"), single=_VALIDATE_SESSION),
    _Route(re.compile(r"/v1/accounts/sessions/(?P<sessionUuid>[^/]+)"), delete=_LOGOUT),
    _Route(re.compile(r"/v1/management-nodes/actions"), actions={"getVersion": _GET_VERSION}),
    # Exact paths come before the {uuid} patterns that would also match them, as the real lookup
    # tries an exact key before any pattern.
    _Route(re.compile(r"/v1/database-backups/image-store"), single=_GET_BACKUPS),
    _Route(re.compile(r"/v1/backup-storage/capacities"), single=_GET_CAPACITY),
    # Each Query API shares its paths with the resource's create/delete APIs, which are not served.
    _Route(re.compile(r"/v1/zones(?:/(?P<uuid>[^/]+))?"), query=_QUERY_ZONE),
    _Route(re.compile(r"/v1/backup-storage(?:/(?P<uuid>[^/]+))?"), query=_QUERY_BACKUP_STORAGE),
    # A path that only one API serves never looks at the method: whatever is sent here is a Recover.
    _Route(re.compile(r"/v1/database-backups/actions"), single=_RECOVER_DATABASE),
    _Route(
        re.compile(
            r"/v1/database-backups/(?P<databaseBackupUuid>[^/]+)/backup-storage/(?P<backupStorageUuid>[^/]+)/actions"
        ),
        single=_EXPORT_BACKUP,
    ),
    _Route(re.compile(r"/v1/database-backups/(?P<uuid>[^/]+)/actions"), single=_SYNC_BACKUP),
    _Route(
        re.compile(
            r"/v1/exported-database-backup/(?P<databaseBackupUuid>[^/]+)/backup-storage/(?P<backupStorageUuid>[^/]+)"
        ),
        single=_DELETE_EXPORTED_BACKUP,
    ),
    _Route(re.compile(r"/v1/database-backups"), create=_CREATE_BACKUP, query=_QUERY_DATABASE_BACKUP),
    _Route(re.compile(r"/v1/database-backups/(?P<uuid>[^/]+)"), query=_QUERY_DATABASE_BACKUP, delete=_DELETE_BACKUP),
)
_JOB_PATH: Final = re.compile(r"/v1/api-jobs/(?P<job>[^/]+)")


# ---------------------------------------------------------------------------------------------
# Parameter extraction and validation


def _duplicate_parameter(name: str) -> _AbortError:
    return _AbortError(
        _text(
            400,
            f"Invalid query parameter[{name}], only one value is allowed for the parameter but multiple values found",
        )
    )


def _params_from_query(fields: Mapping[str, _Field], query: str) -> dict[str, _Param]:
    plain: dict[str, list[str]] = {}
    indexed: dict[str, list[tuple[int, str]]] = {}
    mapped: dict[str, dict[str, str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        name, dot, suffix = key.partition(".")
        spec = fields.get(name)
        if spec is None:
            continue  # the real server only logs unknown keys
        if not dot:
            plain.setdefault(name, []).append(value)
        elif spec.kind == "list":
            if re.fullmatch(r"[0-9]+", suffix) is None:
                raise _AbortError(_text(400, f"Invalid query parameter[{key}], the list index must be an integer"))
            indexed.setdefault(name, []).append((int(suffix), value))
        elif spec.kind == "map":
            entries = mapped.setdefault(name, {})
            if suffix in entries:
                raise _duplicate_parameter(key)
            entries[suffix] = value
        # A dotted key on a scalar field names nothing the server knows, so it is dropped too.

    params: dict[str, _Param] = {}
    for name, spec in fields.items():
        if spec.kind == "list":
            if name in plain or name in indexed:
                # Repeated values keep arrival order; indexed ones follow, sorted by index (stable).
                ordered = sorted(indexed.get(name, []), key=lambda pair: pair[0])
                params[name] = plain.get(name, []) + [value for _, value in ordered]
        elif spec.kind == "map":
            if name in mapped:
                params[name] = mapped[name]
        elif name in plain:
            values = plain[name]
            if len(values) > 1:
                raise _duplicate_parameter(name)
            if spec.kind == "int":
                params[name] = _java_int(values[0])
            elif spec.kind == "bool":
                params[name] = values[0].lower() == "true"  # Boolean.valueOf: anything else is false
            else:
                params[name] = values[0]
    return params


def _gson_type_failure(expected: str, value: object) -> _AbortError:
    found = "BEGIN_OBJECT" if isinstance(value, dict) else "BEGIN_ARRAY" if isinstance(value, list) else "a value"
    return _AbortError(_text(500, f"com.google.gson.JsonSyntaxException: Expected {expected} but was {found}"))


def _scalar_text(value: object) -> str:
    # Gson reads JSON numbers and booleans into String fields by their literal text.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise _gson_type_failure("a string", value)


def _coerce_body_value(name: str, spec: _Field, value: object) -> _Param:
    if spec.kind == "int":
        # TypeVerifier rejects non-numbers with a 400; Gson itself then refuses fractional ints.
        if isinstance(value, int) and not isinstance(value, bool) and _INT_MIN <= value <= _INT_MAX:
            return value
        if isinstance(value, float) and value.is_integer() and _INT_MIN <= value <= _INT_MAX:
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,10}\s*", value):
            return int(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise _AbortError(_text(500, f"java.lang.NumberFormatException: Expected an int but was {value}"))
        shown = value if isinstance(value, str) else json.dumps(value)
        raise _AbortError(_text(400, f"[{name}] field is excepted an int or long, but was [{shown}]."))
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        shown = value if isinstance(value, str) else json.dumps(value)
        raise _AbortError(
            _text(
                400, f"Invalid value for boolean field [{name}], [{shown}] is not a valid boolean string[true, false]."
            )
        )
    if spec.kind == "list":
        if not isinstance(value, list):
            raise _gson_type_failure("BEGIN_ARRAY", value)
        return [_scalar_text(item) for item in value]
    if spec.kind == "map":
        if not isinstance(value, dict):
            raise _gson_type_failure("BEGIN_OBJECT", value)
        return {str(key): _scalar_text(item) for key, item in value.items()}
    return _scalar_text(value)


def _params_from_body(api: _Api, body: Mapping[str, object]) -> dict[str, _Param]:
    # Own fields live under the API's parameter name; tags sit at the top level of the body.
    own = body.get(api.parameter_name)
    if own is None:
        own = {}
    if not isinstance(own, dict):
        raise _gson_type_failure("BEGIN_OBJECT", own)
    params: dict[str, _Param] = {}
    for source, fields in ((own, api.fields), (body, _INHERITED_FIELDS)):
        for name, spec in fields.items():
            value = source.get(name)
            if value is not None:
                params[name] = _coerce_body_value(name, spec, value)
    return params


def _trimmed(api: _Api, params: Mapping[str, _Param]) -> dict[str, _Param]:
    """The parameters as ApiMessageProcessorImpl leaves them: String fields trimmed (Java's trim) unless noTrim."""
    fields = api.all_fields()
    return {
        name: _java_trim(value)
        if isinstance(value, str) and (spec := fields.get(name)) is not None and not spec.no_trim
        else value
        for name, value in params.items()
    }


def _validate(api: _Api, params: Mapping[str, _Param]) -> None:
    # The order of ApiMessageProcessorImpl.apiParamValidation, which decides the message when several apply.
    for name, spec in api.all_fields().items():
        value = params.get(name)
        if spec.max_length is not None and isinstance(value, str):
            length = len(value.encode("utf-16-le")) // 2
            if length > spec.max_length:
                raise _invalid_argument(
                    f"field[{name}] of message[{api.message_class}] exceeds max length of string. "
                    f"expected was <= {spec.max_length}, actual was {length}"
                )
        if value is None:
            if spec.required:
                raise _invalid_argument(f"field[{name}] of message[{api.message_class}] is mandatory, can not be null")
            continue
        if not spec.allow_empty and value == "":
            raise _invalid_argument(f"field[{name}] cannot be an empty string")
        if spec.bounds is not None and isinstance(value, int):
            low, high = spec.bounds
            if not low <= value <= high:
                raise _invalid_argument(f"field[{name}] must be in range of [{low}, {high}]")


def _parse_body(raw: bytes) -> dict[str, object]:
    # The real server parses the body for every method, GET included, before routing to an API.
    if not raw.strip():
        return {}
    try:
        parsed: object = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _AbortError(_text(500, f"com.google.gson.stream.MalformedJsonException: {exc}")) from exc
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise _gson_type_failure("BEGIN_OBJECT", parsed)
    return parsed


# ---------------------------------------------------------------------------------------------
# Authentication


@dataclass(frozen=True)
class _Credential:
    scheme: Literal["OAuth", "ZStack"]
    value: str


def _read_credential(headers: Mapping[str, str], now: datetime) -> _Credential:
    authorization = headers.get("authorization")
    if authorization is None:
        raise _AbortError(_text(400, "missing header 'Authorization'"))
    # The scheme test is a case-sensitive prefix match, exactly like String.startsWith.
    if authorization.startswith("OAuth"):
        return _Credential("OAuth", authorization.removeprefix("OAuth").strip())
    if not authorization.startswith("ZStack"):
        raise _AbortError(_text(400, "Authorization type must be 'OAuth'"))
    parts = authorization.removeprefix("ZStack").strip().split(":")
    while parts and not parts[-1]:
        parts.pop()  # Java's split drops trailing empty strings
    if len(parts) != 2:
        raise _AbortError(_text(400, "accessKey format is 'ZStack AccessKeyId:Signature'"))
    date = headers.get("date")
    if date is None:
        raise _AbortError(_text(400, "'Date' must be incuded in request header"))
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError) as exc:
        message = "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'"
        raise _AbortError(_text(400, message)) from exc
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    if abs(now - sent) > _ACCESS_KEY_MAX_SKEW:
        raise _AbortError(_text(403, "requestTimeTooSkewed"))
    return _Credential("ZStack", parts[0])


# ---------------------------------------------------------------------------------------------
# The protocol, independent of the socket layer


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


class _ZStackApp:
    def __init__(
        self,
        *,
        sparse: bool = False,
        polls_while_running: int = DEFAULT_POLLS_WHILE_RUNNING,
        job_retention: float = DEFAULT_RETENTION,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.sessions = _SessionStore(lambda: datetime.now().astimezone())
        self.backups = BackupStore(
            alt_inventory.BACKUP_STORAGE,
            alt_inventory.DATABASE_BACKUPS,
            clock=lambda: datetime.now(_DOC_ZONE),
            version=_VERSION,
            describe_missing=not sparse,
        )
        self.resources = alt_inventory.resources(_gson_date, sparse=sparse, database_backups=self.backups.rows)
        self.context = _Context(self.sessions, self.backups, self.resources["database-backups"].render)
        self.jobs = (
            JobTable(polls_while_running=polls_while_running, retention=job_retention)
            if clock is None
            else JobTable(polls_while_running=polls_while_running, retention=job_retention, clock=clock)
        )
        # "host:port" the 202 locations name: the management node's own address, set once bound.
        self.node_address = ""

    def handle(self, request: _Request) -> _Reply:
        try:
            return self._dispatch(request)
        except _AbortError as abort:
            return abort.reply
        except Exception as exc:  # mirrors RestServer's catch (Throwable)
            return _text(500, str(exc))

    def _dispatch(self, request: _Request) -> _Reply:
        target = urlsplit(request.target)
        path = target.path
        if path != _CONTEXT_PATH and not path.startswith(_CONTEXT_PATH + "/"):
            return _NOT_FOUND_PAGE
        api_path = path.removeprefix(_CONTEXT_PATH)
        if api_path != "/v1" and not api_path.startswith("/v1/"):
            return _NOT_FOUND_PAGE
        if request.method not in _CONTROLLER_METHODS:
            # Spring rejects methods the controller does not map before RestServer ever runs.
            allow = ", ".join(sorted(_CONTROLLER_METHODS))
            return _Reply(405, f"Request method '{request.method}' not supported".encode(), None, (("Allow", allow),))
        job_path = _JOB_PATH.fullmatch(api_path)
        if job_path is not None:
            # Answered before any credential is looked at: polling needs no session.
            if request.method != "GET":
                return _text(405, "only GET method is allowed for querying job status")
            outcome = self.jobs.poll(unquote(job_path.group("job")))
            if outcome is None:
                return _text(404, "the job has been expired")
            return _Reply(outcome.status, outcome.body, _JSON_CONTENT_TYPE)

        route, path_vars = self._route(api_path)
        job_uuid = request.headers.get("x-job-uuid")
        if job_uuid is not None and len(job_uuid) != 32:
            return _text(400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
        body = _parse_body(request.body)
        api = route.select(request.method, body, api_path)

        # Order matters and follows the real pipeline: REST-layer header and query checks
        # (400/500) come before the session check (503 ID.1001), which precedes validation.
        now = datetime.now(UTC)
        credential = _read_credential(request.headers, now) if api.needs_session else None
        if api.lister is not None:
            assert credential is not None
            return self._query(self.resources[api.lister], credential, target.query, path_vars.get("uuid"))
        fields = api.all_fields()
        params = (
            _params_from_body(api, body)
            if request.method in _BODY_METHODS
            else _params_from_query(fields, target.query)
        )
        params.update(path_vars)
        for name, spec in fields.items():
            if name not in params and spec.default is not None:
                params[name] = spec.default
        if api.api_timeout_ms is not None:
            assert credential is not None
            return self._submit(api, credential, params, job_uuid)
        session = self._authenticate(credential) if credential is not None else None
        params = _trimmed(api, params)
        _validate(api, params)
        return _json(200, api.run(self.context, _Invocation(params, session)))

    def _submit(self, api: _Api, credential: _Credential, params: dict[str, _Param], job_uuid: str | None) -> _Reply:
        """Accept an async API: 202 now; the session, validation and work are the job's business."""
        # The session is judged when the message is sent, its failure told only by the job.
        try:
            session: _Session | _Reply = self._authenticate(credential)
        except _AbortError as refused:
            session = refused.reply

        def work() -> JobOutcome:
            reply = session if isinstance(session, _Reply) else self._run_job(api, params, session)
            return JobOutcome(reply.status, reply.body)

        job = job_uuid if job_uuid is not None else uuid.uuid4().hex
        if not self.jobs.submit(job, work):
            return _text(400, f"Duplicate job uuid[{job}]")
        location = f"http://{self.node_address}{_CONTEXT_PATH}/v1/api-jobs/{job}"
        return _json(202, {"location": location, "apiTimeout": api.api_timeout_ms})

    def _run_job(self, api: _Api, params: Mapping[str, _Param], session: _Session) -> _Reply:
        try:
            trimmed = _trimmed(api, params)
            _validate(api, trimmed)
            return _json(200, api.run(self.context, _Invocation(trimmed, session)))
        except _AbortError as failed:
            return failed.reply
        except BackupFailedError as failed:
            return _api_failure(failed.code, failed.details).reply
        except Exception as exc:  # a job that throws ends as an internal error, not a dead poll
            return _api_failure("SYS.1000", str(exc)).reply

    def _query(self, resource: Resource, credential: _Credential, query: str, uuid_var: _Param | None) -> _Reply:
        # The REST layer parses q/limit/start/fields (plain-text 400s) before the session is checked.
        try:
            spec = parse_query(parse_qsl(query, keep_blank_values=True), None if uuid_var is None else str(uuid_var))
        except QueryRefusedError as refused:
            raise _AbortError(_text(refused.status, refused.message)) from refused
        self._authenticate(credential)
        try:
            reply = answer(resource, spec)
        except QueryFailedError as failed:
            raise _api_failure(failed.code, failed.details) from failed
        return _json(200, cast(JsonValue, reply))

    @staticmethod
    def _route(api_path: str) -> tuple[_Route, dict[str, _Param]]:
        for route in _ROUTES:
            match = route.pattern.fullmatch(api_path)
            if match is not None:
                return route, {name: unquote(value) for name, value in match.groupdict().items() if value is not None}
        raise _AbortError(_text(404, f"no api mapping to {api_path}"))

    def _authenticate(self, credential: _Credential) -> _Session:
        if credential.scheme == "ZStack":
            raise _api_failure("ID.1000", f"access key[{credential.value}] does not exist")
        if not credential.value:
            raise _api_failure("ID.1001", "session uuid is null")
        session = self.sessions.lookup(credential.value)
        if session is None:
            raise _api_failure("ID.1001", "Session expired")
        return session


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _FramingError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AltZStack/1.0"
    timeout = 120  # idle keep-alive connections must not pin a worker forever
    # Headers and body leave in separate writes; with Nagle on, each keep-alive reply waits for a delayed ACK.
    disable_nagle_algorithm = True
    server: _AltHTTPServer

    def version_string(self) -> str:
        return self.server_version  # the default appends the Python version, which is nobody's business

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    # PATCH and OPTIONS are answered too, with Spring's 405, rather than http.server's bare 501.
    def do_PATCH(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _FramingError as exc:
            # After a framing error the stream position is unknown, so the connection cannot be reused.
            self.close_connection = True
            self._send(_text(400, str(exc)))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(self.server.app.handle(_Request(self.command, self.path, headers, body)))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError as exc:
            raise _FramingError(f"invalid Content-Length[{length_header}]") from exc
        if not 0 <= length <= _MAX_BODY_BYTES:
            raise _FramingError(f"unacceptable Content-Length[{length}]")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _FramingError("malformed chunk size") from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # discard trailers
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY_BYTES:
                raise _FramingError("request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        # Always framed by length, also for HEAD, so keep-alive clients never wait for a close.
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.extra_headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class _AltHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: _ZStackApp) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        # ThreadingMixIn forgets daemon workers, so they are tracked here: stop() must be able to
        # unblock idle keep-alive connections and wait for them instead of leaking sockets.
        worker = threading.Thread(target=self._serve_connection, args=(request, client_address), daemon=True)
        with self._lock:
            self._workers.add(worker)
            if isinstance(request, socket.socket):
                self._connections.add(request)
        worker.start()

    def _serve_connection(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())
                if isinstance(request, socket.socket):
                    self._connections.discard(request)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        # Peers vanishing mid-exchange (or stop() cutting them off) is routine, not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def drop_connections(self, timeout: float) -> None:
        with self._lock:
            connections = list(self._connections)
            workers = list(self._workers)
        for connection in connections:
            # OSError means its worker already closed it.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout)


class AltZStackServer:
    """A ZStack-compatible REST server on a background thread, bound to 127.0.0.1 and port 0 by default."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sparse: bool = False,
        polls_while_running: int = DEFAULT_POLLS_WHILE_RUNNING,
        job_retention: float = DEFAULT_RETENTION,
        job_clock: Callable[[], float] | None = None,
        node_address: str | None = None,
    ) -> None:
        """``sparse`` leaves out the descriptions never set, as Gson does (see alt_inventory).

        A job answers 202 to ``polls_while_running`` polls, then its result; it is kept
        ``job_retention`` seconds of ``job_clock`` after it finished. ``node_address`` ("ip:port")
        is the address job locations name, as a management node behind NAT names its own; by
        default the address the server is bound to.
        """
        self._host = host
        self._port = port
        self._sparse = sparse
        self._polls_while_running = polls_while_running
        self._job_retention = job_retention
        self._job_clock = job_clock
        self._node_address = node_address
        self._httpd: _AltHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("AltZStackServer is not running")
        return f"http://{self._host}:{self._httpd.server_port}"

    @property
    def app(self) -> _ZStackApp:
        """The running server's state, for tests that look behind the wire (e.g. the backups)."""
        if self._httpd is None:
            raise RuntimeError("AltZStackServer is not running")
        return self._httpd.app

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("AltZStackServer is already running")
        app = _ZStackApp(
            sparse=self._sparse,
            polls_while_running=self._polls_while_running,
            job_retention=self._job_retention,
            clock=self._job_clock,
        )
        httpd = _AltHTTPServer((self._host, self._port), app)
        app.node_address = self._node_address or f"{self._host}:{httpd.server_port}"
        # A short poll interval only bounds how long shutdown() waits; it is not a sleep.
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="alt-zstack-server", daemon=True
        )
        thread.start()
        self._httpd, self._thread = httpd, thread

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.server_close()
        httpd.drop_connections(timeout=5.0)
        thread.join()

    def __enter__(self) -> AltZStackServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the independent ZStack-compatible REST API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--sparse", action="store_true", help="leave out descriptions never set, as Gson does")
    args = parser.parse_args(argv)
    with AltZStackServer(str(args.host), int(args.port), sparse=bool(args.sparse)) as server:
        print(f"alt ZStack server listening on {server.url}{_CONTEXT_PATH}/v1", flush=True)
        # Background launches inherit an ignored SIGINT and CI stops jobs with SIGTERM; both must
        # end the wait so the context manager can close the socket cleanly.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
