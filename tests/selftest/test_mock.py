"""Self-tests of the embedded mock ZStack management node, over real HTTP.

The mock is the reference server the contract suite is checked against, so these tests pin its wire
behaviour: status codes, error codes, and exact plain-text bodies. They also check that every
catalogued deviation changes the behaviour it claims to change, and nothing else.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from tests.selftest.jvm_vectors import JvmVector, vector_params
from tests.selftest.page_example import DOC_EXAMPLE_ITEM
from zstack_contract.mock import (
    ADMIN_ACCOUNT,
    ADMIN_PASSWORD,
    DEVIATIONS,
    SEEDED_IMAGE_STORE_URL,
    MockZStack,
    UnknownDeviationError,
    data,
    family,
    jvm,
)
from zstack_contract.mock import query as engine
from zstack_contract.mock.app import IMAGE_STORE_SCALARS, MockZStackApp
from zstack_contract.mock.deviations import resolve

API = "/zstack/v1/database-backups/image-store"
LOGIN = "/zstack/v1/accounts/login"
VERSION = "/zstack/v1/management-nodes/actions"
UNKNOWN_SESSION = "0123456789abcdef0123456789abcdef"
GSON_DATE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M")
IMAGE_FIELDS = ["id", "parent", "blobsum", "created", "author", "arch", "desc", "size", "virtualsize", "name"]
INVALID_ARGUMENT = "One or more API argument is invalid"
MISSING_URL = "field[url] of message[org.zstack.header.message.ApiMessageParamValidator] is mandatory, can not be null"
RANGE = "field[registryPort] must be in range of [1, 65535]"
IO_ERROR = "Cannot do an IO operation (e.g. network IO error, file IO error)"
SESSION_INVALID = {
    "code": "ID.1001",
    "description": "The session is invalid, either wrong session id or the session has been expired",
    "details": "Session expired",
}
# The deviations the brief requires by name; the catalogue may hold more.
REQUIRED_DEVIATIONS = [
    "auth-ignored",
    "auth-401",
    "session-not-invalidated",
    "login-any-password",
    "backups-key",
    "size-as-string",
    "iso-dates",
    "created-epoch-millis",
    "missing-author",
    "infos-omitted-when-empty",
    "validation-skipped",
    "port-range-unchecked",
    "error-unwrapped",
    "error-as-200",
    "error-missing-code",
    "cause-as-string",
    "plain-500-on-missing-url",
    "server-error-on-tag-chars",
    "server-error-non-ascii-url",
    "size-string-when-large",
    "duplicate-scalar-accepted",
    "unknown-param-rejected",
    "indexed-lists-rejected",
    "wrong-session-code",
    "content-type-html",
    # Issue 8: the Query APIs, the session APIs and GetBackupStorageCapacity.
    "query-limit-ignored",
    "query-start-off-by-one",
    "query-count-wrong",
    "query-total-missing",
    "query-q-ignored",
    "query-ne-as-eq",
    "query-fields-ignored",
    "query-sort-reversed",
    "query-short-form-404",
    "query-limit-non-integer-accepted",
    "query-condition-without-operator-accepted",
    "query-inventory-wrong-type",
    "validate-session-true-after-logout",
    "version-requires-auth",
    "validate-requires-auth",
    "login-inventory-without-uuid",
    "login-missing-account-accepted",
    "capacity-as-string",
]


def _find_host(wanted: Callable[[list[data.ImageInfo]], bool]) -> str:
    for index in range(1000):
        host = f"repo-{index}.invalid"
        if wanted(data.repository(host, data.DEFAULT_REGISTRY_PORT)):
            return host
    raise AssertionError("no synthetic repository has the wanted shape")


EMPTY_HOST = _find_host(lambda images: not images)
# Mixed sizes, so the per-item effect of int32-overflow deviations is visible.
LARGE_HOST = _find_host(lambda images: any(i.size >= 2**31 for i in images) and any(i.size < 2**31 for i in images))


def only_one_value(key: str) -> str:
    return f"Invalid query parameter[{key}], only one value is allowed for the parameter but multiple values found"


def sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


NEW_SESSION = "<new session>"


class Client:
    """A requests session bound to one mock, with helpers for the mock's APIs."""

    def __init__(self, mock: MockZStack) -> None:
        self.base = mock.url
        # The async probes read the mock's store directly, so no query deviation can blur what they observe.
        self.store = mock.app.store
        self.http = requests.Session()
        self._kept: str | None = None

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=10, **kwargs)

    def login(self, account: str = ADMIN_ACCOUNT, password: str = ADMIN_PASSWORD) -> requests.Response:
        return self.request(
            "PUT", LOGIN, json={"logInByAccount": {"accountName": account, "password": sha512(password)}}
        )

    def session(self) -> str:
        """A fresh session; "" when the login inventory has no uuid (login-inventory-without-uuid)."""
        response = self.login()
        assert response.status_code == 200, response.text
        return str(response.json()["inventory"].get("uuid", ""))

    def kept_session(self) -> str:
        """One session reused by this client's calls, so most probes log in only once."""
        if self._kept is None:
            self._kept = self.session()
        return self._kept

    def query(
        self, path: str, params: list[tuple[str, str]] | None = None, auth: str | None = NEW_SESSION
    ) -> requests.Response:
        """GET /zstack/v1/<path> with the kept session (or the given Authorization, or none)."""
        headers = {"Authorization": f"OAuth {self.kept_session()}"} if auth == NEW_SESSION else {}
        if auth not in (None, NEW_SESSION):
            headers["Authorization"] = str(auth)
        return self.request("GET", f"/zstack/v1/{path}", params=params or [], headers=headers)

    def backups(
        self,
        params: list[tuple[str, str]] | None = None,
        auth: str | None = NEW_SESSION,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Call GetDatabaseBackupFromImageStore; params default to the seeded url, auth to a fresh session."""
        all_headers = dict(headers or {})
        if auth == NEW_SESSION:
            all_headers["Authorization"] = f"OAuth {self.kept_session()}"
        elif auth is not None:
            all_headers["Authorization"] = auth
        query = [("url", SEEDED_IMAGE_STORE_URL)] if params is None else params
        return self.request(method, API, params=query, headers=all_headers)


def body_of(response: requests.Response) -> Any:
    """Parsed JSON when the body is JSON (whatever the Content-Type says), else the text."""
    try:
        return response.json()
    except ValueError:
        return response.text


def error_of(body: Any) -> dict[str, Any] | None:
    """The ErrorCode in a body, wrapped in "error" or bare, else None."""
    if isinstance(body, dict):
        wrapped = body.get("error")
        if isinstance(wrapped, dict):
            return wrapped
        if "description" in body and "details" in body:
            return body
    return None


def outcome(response: requests.Response) -> tuple[int, Any]:
    """A compact summary: the status plus the error code, the item count, or the plain text."""
    body = body_of(response)
    error = error_of(body)
    if error is not None:
        return response.status_code, error.get("code")
    if isinstance(body, dict):
        found = body.get("infos", body.get("backups"))
        if isinstance(found, list):
            return response.status_code, len(found)
    return response.status_code, body


def items_of(response: requests.Response) -> list[dict[str, Any]]:
    body = response.json()
    found = body.get("infos", body.get("backups"))
    assert isinstance(found, list), body
    return found


# Jobs end at the second poll (job_delay=0), so the async probes below need no waiting; test_mock_writes.py pins
# the delay itself with a fake clock.
@pytest.fixture(scope="module")
def mock() -> Iterator[MockZStack]:
    with MockZStack(job_delay=0.0) as server:
        yield server
        server.check()


@pytest.fixture(scope="module")
def client(mock: MockZStack) -> Iterator[Client]:
    c = Client(mock)
    yield c
    c.close()


@pytest.fixture(scope="module")
def deviant() -> Iterator[Callable[[str], Client]]:
    """One running mock per deviation, started on first use and shared by the module."""
    started: dict[str, tuple[MockZStack, Client]] = {}

    def get(name: str) -> Client:
        if name not in started:
            server = MockZStack([name], job_delay=0.0)
            server.start()
            c = Client(server)
            # A live session from the start, so login-inventory-without-uuid behaves the same whatever runs first.
            c.kept_session()
            started[name] = (server, c)
        return started[name][1]

    yield get
    for server, c in started.values():
        c.close()
        server.stop()
    for server, _ in started.values():
        server.check()


# Identity and version APIs.


def test_login_returns_a_session_inventory(client: Client) -> None:
    response = client.login()
    assert response.status_code == 200
    assert "Content-Type" not in response.headers
    inventory = response.json()["inventory"]
    assert sorted(inventory) == sorted(["uuid", "accountUuid", "userUuid", "userType", "expiredDate", "createDate"])
    assert re.fullmatch(r"[0-9a-f]{32}", inventory["uuid"])
    assert inventory["accountUuid"] == inventory["userUuid"] == data.ADMIN_ACCOUNT_UUID
    assert inventory["userType"] == "AccountVO"
    assert GSON_DATE.fullmatch(inventory["createDate"])
    assert GSON_DATE.fullmatch(inventory["expiredDate"])


@pytest.mark.parametrize(
    ("account", "password"),
    [(ADMIN_ACCOUNT, "wrong"), ("nobody", ADMIN_PASSWORD), (ADMIN_ACCOUNT.upper(), ADMIN_PASSWORD)],
)
def test_login_with_wrong_credentials_is_id_1000(client: Client, account: str, password: str) -> None:
    response = client.login(account, password)
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "ID.1000",
            "description": "Unable to authenticate a user",
            "details": "wrong account name or password",
        }
    }


def test_login_password_is_the_sha512_hex_of_the_plaintext(client: Client) -> None:
    assert sha512(ADMIN_PASSWORD).startswith("b109f3bb")
    plaintext = {"logInByAccount": {"accountName": ADMIN_ACCOUNT, "password": ADMIN_PASSWORD}}
    assert outcome(client.request("PUT", LOGIN, json=plaintext)) == (503, "ID.1000")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"logInByAccount": {"password": sha512("x")}}, "accountName"),
        ({"logInByAccount": {"accountName": "admin"}}, "password"),
        ({}, "accountName"),
    ],
)
def test_login_without_a_field_is_sys_1007(client: Client, body: dict[str, Any], expected: str) -> None:
    response = client.request("PUT", LOGIN, json=body)
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "SYS.1007",
        "description": INVALID_ARGUMENT,
        "details": f"field[{expected}] of message[org.zstack.header.message.ApiMessageParamValidator] is mandatory, "
        "can not be null",
    }


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("{not json", "com.google.gson.stream.MalformedJsonException: "),
        ("[1, 2]", "java.lang.IllegalStateException: Expected BEGIN_OBJECT but was ARRAY"),
        ('{"logInByAccount": "admin"}', "java.lang.IllegalStateException: Expected BEGIN_OBJECT but was STRING"),
    ],
)
def test_login_with_a_malformed_body_is_a_plain_500(client: Client, raw: str, prefix: str) -> None:
    response = client.request("PUT", LOGIN, data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/plain;charset=utf-8"
    assert response.text.startswith(prefix)


def test_logout_invalidates_the_session(client: Client) -> None:
    session = client.session()
    valid = f"/zstack/v1/accounts/sessions/{session}/valid"
    assert client.request("GET", valid).json() == {"valid": True}
    assert client.backups(auth=f"OAuth {session}").status_code == 200

    response = client.request("DELETE", f"/zstack/v1/accounts/sessions/{session}")
    assert (response.status_code, response.json()) == (200, {})

    assert client.request("GET", valid).json() == {"valid": False}
    after = client.backups(auth=f"OAuth {session}")
    assert (after.status_code, after.json()) == (503, {"error": SESSION_INVALID})


def test_login_on_get_reads_the_query_string(client: Client) -> None:
    # The login path is served by one API, so RestServer never checks the method and GET works too.
    query = [("accountName", ADMIN_ACCOUNT), ("password", sha512(ADMIN_PASSWORD))]
    assert client.request("GET", LOGIN, params=query).status_code == 200
    assert outcome(client.request("GET", LOGIN, params=query[:1])) == (503, "SYS.1007")


def test_logout_of_an_unknown_session_still_succeeds(client: Client) -> None:
    response = client.request("DELETE", f"/zstack/v1/accounts/sessions/{UNKNOWN_SESSION}")
    assert (response.status_code, response.json()) == (200, {})


def test_validate_session_needs_no_authorization(client: Client) -> None:
    response = client.request("GET", f"/zstack/v1/accounts/sessions/{UNKNOWN_SESSION}/valid")
    assert (response.status_code, response.json()) == (200, {"valid": False})


def test_get_version_needs_no_authorization(client: Client) -> None:
    response = client.request("PUT", VERSION, json={"getVersion": {}})
    assert response.status_code == 200
    assert response.json() == {"version": "4.8.0", "success": True}
    assert "Content-Type" not in response.headers


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "text"),
    [
        (
            "PUT",
            {"json": {"getThing": {}}},
            400,
            f"the body doesn't contain action mapping to the URL[{VERSION[len('/zstack') :]}]",
        ),
        ("PUT", {}, 500, ""),
        ("POST", {"json": {"getVersion": {}}}, 500, f"No creational API found for the path[{VERSION}]"),
        ("GET", {}, 500, f"No query API found for the path[{VERSION}]"),
        ("DELETE", {}, 500, f"No delete API found for the path[{VERSION}]"),
    ],
)
def test_shared_action_path_misuse(client: Client, method: str, kwargs: dict[str, Any], status: int, text: str) -> None:
    response = client.request(method, VERSION, **kwargs)
    assert (response.status_code, response.text) == (status, text)


# GetDatabaseBackupFromImageStore: success.


def test_seeded_store_answers_the_curated_infos(client: Client) -> None:
    response = client.backups()
    assert response.status_code == 200
    assert "Content-Type" not in response.headers
    body = response.json()
    assert list(body) == ["infos"]
    infos = body["infos"]
    assert len(infos) == 3
    assert {key: infos[0][key] for key in DOC_EXAMPLE_ITEM} == DOC_EXAMPLE_ITEM
    for item in infos:
        assert list(item) == IMAGE_FIELDS
        assert all(item[field] is not None for field in IMAGE_FIELDS)
        assert type(item["size"]) is int
        assert type(item["virtualsize"]) is int
        assert GSON_DATE.fullmatch(item["created"])


def test_registry_port_absent_means_8000(client: Client) -> None:
    explicit = client.backups([("url", SEEDED_IMAGE_STORE_URL), ("registryPort", "8000")])
    assert explicit.json() == client.backups().json()


def test_synthetic_repositories_are_deterministic_and_mirror_the_data_module(client: Client) -> None:
    url = f"sftp://root@{LARGE_HOST}/zstack_bs"
    first = client.backups([("url", url)])
    second = client.backups([("url", url)])
    assert first.status_code == 200
    assert first.json() == second.json()
    images = data.repository(LARGE_HOST, data.DEFAULT_REGISTRY_PORT)
    infos = items_of(first)
    assert [item["id"] for item in infos] == [image.id for image in images]
    assert [item["size"] for item in infos] == [image.size for image in images]
    assert any(item["size"] >= 2**31 and item["virtualsize"] >= 2**31 for item in infos)
    assert all(type(item["size"]) is int and list(item) == IMAGE_FIELDS for item in infos)


def test_an_empty_repository_answers_an_empty_list(client: Client) -> None:
    response = client.backups([("url", f"sftp://root@{EMPTY_HOST}/zstack_bs")])
    assert (response.status_code, response.json()) == (200, {"infos": []})


def test_another_port_on_the_seeded_host_is_a_refused_connection(client: Client) -> None:
    response = client.backups([("url", SEEDED_IMAGE_STORE_URL), ("registryPort", "8001")])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SYS.1006"
    assert response.json()["error"]["cause"]["code"] == "SYS.1016"


def test_another_invalid_host_is_a_synthetic_repository(client: Client) -> None:
    response = client.backups([("url", "sftp://other.invalid/x"), ("registryPort", "8001")])
    assert response.status_code == 200
    assert [item["id"] for item in items_of(response)] == [image.id for image in data.repository("other.invalid", 8001)]


@pytest.mark.parametrize("port", ["8000", "8000.9", "8e3", "8000d", "0x1.f4p12", " 8000 ", "+8000", "80e2f"])
def test_registry_port_parses_like_java_double_int_value(client: Client, port: str) -> None:
    assert outcome(client.backups([("url", SEEDED_IMAGE_STORE_URL), ("registryPort", port)])) == (200, 3)


def test_delete_reads_the_query_string_like_get(client: Client) -> None:
    assert outcome(client.backups(method="DELETE")) == (200, 3)


@pytest.mark.parametrize("url", ["sftp://root@store.example.com/zstack_bs", "http://10.0.0.1:8000/bs", "not a url"])
def test_a_store_outside_invalid_is_unreachable(client: Client, url: str) -> None:
    response = client.backups([("url", url)])
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "SYS.1006",
            "description": "An operation failed",
            "details": f"failed to scan database backups from image store[{url}]",
            "cause": {
                "code": "SYS.1016",
                "description": "Cannot do an IO operation (e.g. network IO error, file IO error)",
                "details": "connection refused",
            },
        }
    }


# GetDatabaseBackupFromImageStore: parameter errors.

SEEDED = ("url", SEEDED_IMAGE_STORE_URL)


@pytest.mark.parametrize(
    ("params", "status", "expected"),
    [
        ([], 503, ("SYS.1007", MISSING_URL)),
        ([("url", "")], 503, ("SYS.1007", "field[url] cannot be an empty string")),
        ([("url", "  ")], 503, ("SYS.1007", "field[url] cannot be an empty string")),
        ([SEEDED, ("registryPort", "70000")], 503, ("SYS.1007", RANGE)),
        ([SEEDED, ("registryPort", "0")], 503, ("SYS.1007", RANGE)),
        ([SEEDED, ("registryPort", "-1")], 503, ("SYS.1007", RANGE)),
        ([SEEDED, ("registryPort", "1e10")], 503, ("SYS.1007", RANGE)),
        ([SEEDED, ("registryPort", "NaN")], 503, ("SYS.1007", RANGE)),
        ([SEEDED, ("registryPort", "abc")], 500, 'For input string: "abc"'),
        ([SEEDED, ("registryPort", " 12x ")], 500, 'For input string: "12x"'),
        ([SEEDED, ("registryPort", "")], 500, "empty String"),
        ([SEEDED, ("registryPort", "8_000")], 500, 'For input string: "8_000"'),
        ([SEEDED, ("registryPort", "١٢")], 500, 'For input string: "١٢"'),
        ([SEEDED, ("registryPort", "1"), ("registryPort", "2")], 400, only_one_value("registryPort")),
        ([SEEDED, SEEDED], 400, only_one_value("url")),
        ([SEEDED, ("systemTags.x", "a")], 500, 'For input string: "x"'),
        ([SEEDED, ("systemTags.0", "a"), ("systemTags.0", "b")], 400, only_one_value("systemTags.0")),
    ],
)
def test_parameter_errors(client: Client, params: list[tuple[str, str]], status: int, expected: Any) -> None:
    response = client.backups(params)
    assert response.status_code == status
    if isinstance(expected, tuple):
        code, details = expected
        assert response.json() == {"error": {"code": code, "description": INVALID_ARGUMENT, "details": details}}
    else:
        assert response.headers["Content-Type"] == "text/plain;charset=utf-8"
        assert response.text == expected


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_body_methods_never_carry_the_query_fields(client: Client, method: str) -> None:
    response = client.backups(method=method)
    assert response.status_code == 503
    assert response.json()["error"] == {"code": "SYS.1007", "description": INVALID_ARGUMENT, "details": MISSING_URL}


def test_head_runs_the_api_without_a_body(client: Client) -> None:
    response = client.backups(method="HEAD")
    assert response.status_code == 503
    assert response.content == b""


@pytest.mark.parametrize(
    "params",
    [
        [SEEDED, ("systemTags", "a"), ("systemTags", "b,c"), ("userTags", "x")],
        [SEEDED, ("systemTags.1", "b"), ("systemTags.0", "a"), ("userTags.0", "x")],
        [SEEDED, ("unknownKey", "1"), ("unknownKey", "2"), ("url.0", "ignored")],
    ],
)
def test_list_encodings_and_unknown_keys_are_accepted(client: Client, params: list[tuple[str, str]]) -> None:
    assert outcome(client.backups(params)) == (200, 3)


def _fields(query: str, deviations: tuple[str, ...] = ()) -> dict[str, object]:
    request = Request(EnvironBuilder(path=API, query_string=query).get_environ())
    return MockZStackApp(deviations).query_fields(request, IMAGE_STORE_SCALARS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("systemTags=a&systemTags=b", {"systemTags": ["a", "b"]}),
        ("systemTags=a,b", {"systemTags": ["a,b"]}),
        ("systemTags.1=b&systemTags.0=a", {"systemTags": ["a", "b"]}),
        ("systemTags.10=c&systemTags.2=b", {"systemTags": ["b", "c"]}),
        ("systemTags.1=c&systemTags=a&systemTags.0=b", {"systemTags": ["a", "b", "c"]}),
        ("userTags=x%26y&foo=1", {"userTags": ["x&y"]}),
        ("url=u&registryPort=8e3", {"url": "u", "registryPort": 8000}),
        ("registryPort=1e10", {"registryPort": 2**31 - 1}),
    ],
)
def test_query_string_to_message_fields(query: str, expected: dict[str, object]) -> None:
    assert _fields(query) == expected


# Authentication.


DATE_FORMAT_ERROR = "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'"


def _http_date(offset_seconds: float = 0) -> str:
    return formatdate(time.time() + offset_seconds, usegmt=True)


@pytest.mark.parametrize(
    ("auth", "headers", "status", "text"),
    [
        (None, {}, 400, "missing header 'Authorization'"),
        ("Basic YWRtaW46cGFzc3dvcmQ=", {}, 400, "Authorization type must be 'OAuth'"),
        (f"oauth {UNKNOWN_SESSION}", {}, 400, "Authorization type must be 'OAuth'"),
        (f"Bearer {UNKNOWN_SESSION}", {}, 400, "Authorization type must be 'OAuth'"),
        ("ZStack key", {}, 400, "accessKey format is 'ZStack AccessKeyId:Signature'"),
        ("ZStack key:sig", {}, 400, "'Date' must be incuded in request header"),
        ("ZStack key:sig", {"Date": "yesterday"}, 400, DATE_FORMAT_ERROR),
        ("ZStack key:sig", {"Date": _http_date(-3600)}, 403, "requestTimeTooSkewed"),
    ],
)
def test_authorization_header_errors_are_plain_text(
    client: Client, auth: str | None, headers: dict[str, str], status: int, text: str
) -> None:
    response = client.backups(auth=auth, headers=headers)
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["Content-Type"] == "text/plain;charset=utf-8"


def test_a_well_formed_unknown_access_key_fails_authentication(client: Client) -> None:
    response = client.backups(auth="ZStack key:sig", headers={"Date": _http_date()})
    assert outcome(response) == (503, "ID.1000")


@pytest.mark.parametrize("auth", [f"OAuth {UNKNOWN_SESSION}", "OAuth", f"OAuth   {UNKNOWN_SESSION}  "])
def test_an_unknown_session_is_id_1001(client: Client, auth: str) -> None:
    response = client.backups(auth=auth)
    assert (response.status_code, response.json()) == (503, {"error": SESSION_INVALID})


@pytest.mark.parametrize(
    ("auth", "params", "expected"),
    [
        # RestServer checks the header before it parses the query string...
        (None, [SEEDED, ("registryPort", "abc")], (400, "missing header 'Authorization'")),
        # ...parses the query string before the session is looked at...
        (f"OAuth {UNKNOWN_SESSION}", [SEEDED, ("registryPort", "abc")], (500, 'For input string: "abc"')),
        # ...and the API mediator validates parameters before its session check.
        (f"OAuth {UNKNOWN_SESSION}", [], (503, "SYS.1007")),
        (f"OAuth {UNKNOWN_SESSION}", [("url", "sftp://root@store.example.com/bs")], (503, "ID.1001")),
    ],
)
def test_checks_run_in_the_real_servers_order(
    client: Client, auth: str | None, params: list[tuple[str, str]], expected: tuple[int, Any]
) -> None:
    assert outcome(client.backups(params, auth=auth)) == expected


# Routing.


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("GET", "/zstack/v1/nope", 404, "no api mapping to /v1/nope"),
        ("GET", "/zstack/v1/database-backups/image-store/", 404, "no api mapping to /v1/database-backups/image-store/"),
        ("GET", "/zstack/v1/accounts/sessions", 404, "no api mapping to /v1/accounts/sessions"),
        ("PUT", "/zstack/v1/accounts/login/extra", 404, "no api mapping to /v1/accounts/login/extra"),
        ("PATCH", API, 405, "Request method 'PATCH' not supported"),
    ],
)
def test_routing_errors_are_plain_text(client: Client, method: str, path: str, status: int, text: str) -> None:
    response = client.request(method, path)
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["Content-Type"] == "text/plain;charset=utf-8"


def test_paths_outside_the_api_get_the_containers_html_404(client: Client) -> None:
    response = client.request("GET", "/zstack/other")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")


def test_a_malformed_body_fails_even_a_get(client: Client) -> None:
    response = client.request("GET", API, params=[SEEDED], data="{oops")
    assert response.status_code == 500
    assert response.text.startswith("com.google.gson.stream.MalformedJsonException: ")


# The Query APIs: the engine on its own (parsing as RestServer.handleQueryApi does, evaluation as the facade does).

NO_OPERATOR = (
    "Invalid query parameter. The '{}' in the parameter[q] doesn't contain any query operator. Valid query "
    "operators are [[!=, >=, <=, !?=, !~=, ~=, ?=, =, >, <, is null, not null]]"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name=vm1", ("name", "=", "vm1")),
        ("name!=vm1", ("name", "!=", "vm1")),
        ("size>=10", ("size", ">=", "10")),
        ("size<=10", ("size", "<=", "10")),
        ("size>10", ("size", ">", "10")),
        ("size<10", ("size", "<", "10")),
        ("state?=Running,Stopped", ("state", "in", "Running,Stopped")),
        ("state!?=Running", ("state", "not in", "Running")),
        ("name~=vm%", ("name", "like", "vm%")),
        ("name!~=vm%", ("name", "not like", "vm%")),
        ("description is null", ("description", "is null", None)),
        ("description not null", ("description", "is not null", None)),
        # The first operator of the list that the text contains wins, wherever it sits.
        ("name=a!=b", ("name=a", "!=", "b")),
        ("name=is null", ("name", "=", "is null")),
        # The name is trimmed, the value is not; adjacent separators are skipped.
        (" name = x ", ("name", "=", " x ")),
        ("name==x", ("name", "=", "x")),
        ("name=", ("name", "=", "")),
    ],
)
def test_query_condition_parsing(text: str, expected: tuple[str, str, str | None]) -> None:
    assert engine.parse_condition(text) == engine.Condition(*expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name", NO_OPERATOR.format("name")),
        ("", NO_OPERATOR.format("")),
        ("=x", "Invalid query parameter. The '=x' in parameter[q] is not a key-value pair split by ="),
        ("?=", "Invalid query parameter. The '?=' in parameter[q] is not a key-value pair split by in"),
    ],
)
def test_query_condition_refusals(text: str, message: str) -> None:
    with pytest.raises(engine.QueryRefusedError) as refused:
        engine.parse_condition(text)
    assert str(refused.value) == message


def _spec(*pairs: tuple[str, str]) -> engine.QuerySpec:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return engine.parse(grouped.items())


@pytest.mark.parametrize(
    ("pairs", "field", "expected"),
    [
        ((), "limit", 1000),
        ((("limit", " 5 "),), "limit", 5),
        ((("limit", "+5"),), "limit", 5),
        ((("limit", "\u0665"),), "limit", 5),  # Integer.valueOf takes any Unicode decimal digit
        ((("limit", "1"), ("limit", "abc")), "limit", 1),  # only the first value is read
        ((("start", "3"),), "start", 3),
        ((("count", "TRUE"),), "count", True),
        ((("count", "yes"),), "count", False),
        ((("replyWithCount", "true"),), "reply_with_count", True),
        ((("sort", "-name"),), "sort_direction", "desc"),
        ((("sort", "-name"),), "sort_by", "name"),
        ((("sort", " name"),), "sort_direction", "asc"),  # sort=+name unencoded: the + arrives as a space
        ((("sort", "+name"),), "sort_by", "name"),
        ((("fields", "uuid, name,"),), "fields", ["uuid", "name"]),
        ((("groupBy", "type"),), "group_by", "type"),
        ((("q", "a=1"), ("q", "b=2"), ("", "c=3")), "conditions", [
            engine.Condition("a", "=", "1"), engine.Condition("b", "=", "2"), engine.Condition("c", "=", "3")
        ]),
        ((("filterName", "x"), ("nonsense", "1")), "conditions", []),
    ],
)
def test_query_parameters_parse_like_rest_server(pairs: tuple[tuple[str, str], ...], field: str, expected: Any) -> None:
    assert getattr(_spec(*pairs), field) == expected


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("limit", "abc"),), "Invalid query parameter. 'limit' must be an integer"),
        ((("limit", "5.0"),), "Invalid query parameter. 'limit' must be an integer"),
        ((("limit", "2147483648"),), "Invalid query parameter. 'limit' must be an integer"),
        ((("start", "x"),), "Invalid query parameter. 'start' must be an integer"),
        ((("fields", ","),), "Invalid query parameter. 'fields' contains zero field"),
        ((("q", "name"),), NO_OPERATOR.format("name")),
    ],
)
def test_query_parameter_refusals(pairs: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(engine.QueryRefusedError) as refused:
        _spec(*pairs)
    assert str(refused.value) == message


KIND = family.Kind(
    "things",
    "org.example.ThingInventory",
    {"uuid": "string", "name": "string", "size": "long", "createDate": "timestamp", "tags": "strings"},
)
THINGS: list[family.Record] = [
    {"uuid": "a", "name": "alpha", "size": 9, "createDate": datetime(2020, 1, 1, 13, 0, 0), "tags": ["x"]},
    {"uuid": "b", "name": "beta_1", "size": 100, "createDate": datetime(2021, 6, 1, 1, 0, 0), "tags": []},
    {"uuid": "c", "name": None, "size": 50, "createDate": datetime(2019, 3, 3, 3, 3, 3), "tags": ["x", "y"]},
    {"uuid": "d", "name": "Beta%2", "size": None, "createDate": None, "tags": ["y"]},
]


def _uuids(*conditions: str, **options: Any) -> list[str]:
    spec = engine.QuerySpec(conditions=[c for c in map(engine.parse_condition, conditions) if c is not None])
    for key, value in options.items():
        setattr(spec, key, value)
    return [str(item["uuid"]) for item in engine.run(spec, KIND, THINGS)["inventories"]]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("name=alpha", ["a"]),
        # SQL NULL semantics: c has no name, so it matches neither name=alpha nor name!=alpha.
        ("name!=alpha", ["b", "d"]),
        ("name?=alpha, beta_1", ["a", "b"]),  # in-values are trimmed
        ("name!?=alpha", ["b", "d"]),
        ("name~=beta%", ["b"]),  # like is case-sensitive here, and % is a wildcard
        ("name~=%\\%%", ["d"]),  # an escaped % is literal
        ("name~=beta__", ["b"]),  # _ is one character
        ("name!~=%t%", ["a"]),
        ("name is null", ["c"]),
        ("name not null", ["a", "b", "d"]),
        # Numbers compare as numbers (9 < 50 < 100), not as text.
        ("size>=50", ["b", "c"]),
        ("size<50", ["a"]),
        ("size>9", ["b", "c"]),
        ("size<=9", ["a"]),
        ("size=9.0", ["a"]),
        ("size!=9", ["b", "c"]),
        ("size?=9,100", ["a", "b"]),
        # Dates compare as time, given as the API prints them or as SQL writes them.
        ("createDate>Jan 1, 2020 1:00:00 PM", ["b"]),
        ("createDate>=Jan 1, 2020 1:00:00 PM", ["a", "b"]),
        ("createDate<2020-01-01 13:00:00", ["c"]),
        ("createDate=Mar 3, 2019, 3:03:03\u202fAM", ["c"]),
        ("createDate~=2021-%", ["b"]),
        # A list field matches when one of its elements does.
        ("tags=y", ["c", "d"]),
        ("tags is null", ["b"]),
    ],
)
def test_query_operators(condition: str, expected: list[str]) -> None:
    assert _uuids(condition) == expected


def test_query_conditions_are_anded() -> None:
    assert _uuids("name not null", "size>20") == ["b"]


@pytest.mark.parametrize(
    ("condition", "details"),
    [
        ("nope=1", "condition name[nope] is invalid, no such field on inventory class[org.example.ThingInventory]"),
        (
            "size=abc",
            'failed to parse value[abc] of field[size] on org.example.ThingInventory, For input string: "abc"',
        ),
        (
            "createDate=yesterday",
            "failed to parse value[yesterday] of field[createDate] on org.example.ThingInventory as a timestamp",
        ),
    ],
)
def test_query_bad_conditions_fail_with_sys_1007(condition: str, details: str) -> None:
    with pytest.raises(engine.QueryFailedError) as failed:
        _uuids(condition)
    assert (failed.value.code, failed.value.details) == ("SYS.1007", details)


def test_query_paging_count_and_sort() -> None:
    assert _uuids(limit=2) == ["a", "b"]
    assert _uuids(limit=2, start=2) == ["c", "d"]
    assert _uuids(start=4) == []
    assert _uuids(limit=0) == []
    # MySQL sorts NULLs first ascending, last descending.
    assert _uuids(sort_by="size") == ["d", "a", "c", "b"]
    assert _uuids(sort_by="size", sort_direction="desc") == ["b", "c", "a", "d"]
    assert _uuids(sort_by="name", limit=2, start=1) == ["d", "a"]
    count = engine.run(engine.QuerySpec(count=True, limit=1), KIND, THINGS)
    assert count == {"total": 4}
    with_count = engine.run(engine.QuerySpec(reply_with_count=True, limit=1), KIND, THINGS)
    assert with_count["total"] == 4
    assert len(with_count["inventories"]) == 1


def test_query_fields_keep_only_the_named_keys() -> None:
    result = engine.run(engine.QuerySpec(fields=["size", "uuid"]), KIND, THINGS)
    assert result["inventories"][0] == {"uuid": "a", "size": 9}
    with pytest.raises(engine.QueryFailedError, match=r"field\[tags\] is not a primitive of the inventory"):
        engine.run(engine.QuerySpec(fields=["tags"]), KIND, THINGS)
    with pytest.raises(engine.QueryFailedError, match=r"illegal sortBy\[tags\]"):
        engine.run(engine.QuerySpec(sort_by="tags"), KIND, THINGS)


def test_query_short_form_is_the_uuid_condition_alone() -> None:
    assert engine.short_form("c") == engine.QuerySpec(conditions=[engine.Condition("uuid", "=", "c")])


def test_query_nested_conditions_match_any_ref(client: Client) -> None:
    body = client.query("database-backups", [("q", "backupStorageRefs.exportUrl not null"), ("fields", "name")]).json()
    assert [item["name"] for item in body["inventories"]] == ["nightly-2024-03-01", "weekly-2024-w09"]


# The Query APIs over HTTP.


QUERY_PATHS = ["zones", "backup-storage", "database-backups"]


@pytest.mark.parametrize("path", QUERY_PATHS)
def test_query_lists_the_seeded_records_as_gson_writes_them(client: Client, path: str) -> None:
    response = client.query(path)
    assert response.status_code == 200
    assert "Content-Type" not in response.headers
    body = response.json()
    assert sorted(body) == ["inventories", "schema"]
    items = body["inventories"]
    assert len(items) == {"zones": 3, "backup-storage": 3, "database-backups": 7}[path]
    assert all(GSON_DATE.fullmatch(item["createDate"]) for item in items)
    assert all(value is not None for item in items for value in item.values())
    assert set(body["schema"]) >= {f"inventories[{index}]" for index in range(len(items))}


def test_query_items_carry_the_documented_fields(client: Client) -> None:
    zones = client.query("zones").json()["inventories"]
    assert list(zones[0]) == ["uuid", "name", "description", "state", "type", "createDate", "lastOpDate"]
    assert "description" not in zones[2]  # never set: Gson leaves the null out
    storages = client.query("backup-storage").json()["inventories"]
    assert sum(bs["type"] == "ImageStoreBackupStorage" for bs in storages) == 2
    assert all(type(bs["totalCapacity"]) is int and isinstance(bs["attachedZoneUuids"], list) for bs in storages)
    backups = client.query("database-backups").json()["inventories"]
    assert backups[0]["name"] == "db-backup"
    assert sum("description" not in backup for backup in backups) >= 2
    refs = [ref for backup in backups for ref in backup["backupStorageRefs"]]
    assert any("exportUrl" in ref for ref in refs)
    assert all({"backupStorageUuid", "databaseBackupUuid", "installPath"} <= set(ref) for ref in refs)


def test_query_count_answers_only_the_total(client: Client) -> None:
    response = client.query("database-backups", [("count", "true"), ("q", "description is null")])
    assert response.json() == {"total": 3, "schema": {}}


@pytest.mark.parametrize("path", QUERY_PATHS)
def test_query_short_form_ignores_other_parameters(client: Client, path: str) -> None:
    first = client.query(path).json()["inventories"][1]
    response = client.query(f"{path}/{first['uuid']}", [("limit", "abc"), ("q", "no operator")])
    assert response.status_code == 200
    assert response.json()["inventories"] == [first]
    assert client.query(f"{path}/{UNKNOWN_SESSION}").json()["inventories"] == []


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ([("limit", "abc")], "Invalid query parameter. 'limit' must be an integer"),
        ([("start", "1.5")], "Invalid query parameter. 'start' must be an integer"),
        ([("q", "name")], NO_OPERATOR.format("name")),
    ],
)
def test_query_refusals_are_plain_400(client: Client, params: list[tuple[str, str]], text: str) -> None:
    response = client.query("zones", params)
    assert (response.status_code, response.text) == (400, text)
    assert response.headers["Content-Type"] == "text/plain;charset=utf-8"


def test_query_facade_failures_are_503(client: Client) -> None:
    assert outcome(client.query("zones", [("q", "nope=1")])) == (503, "SYS.1007")
    assert outcome(client.query("zones", [("fields", "nope")])) == (503, "SYS.1007")
    assert outcome(client.query("zones", [("sort", "nope")])) == (503, "SYS.1000")


@pytest.mark.parametrize(
    ("auth", "params", "expected"),
    [
        (None, [], (400, "missing header 'Authorization'")),
        ("Basic x", [], (400, "Authorization type must be 'OAuth'")),
        (f"OAuth {UNKNOWN_SESSION}", [], (503, "ID.1001")),
        # The query string is parsed before the session is looked at.
        (f"OAuth {UNKNOWN_SESSION}", [("limit", "x")], (400, "Invalid query parameter. 'limit' must be an integer")),
    ],
)
def test_query_authentication(client: Client, auth: str | None, params: list[tuple[str, str]], expected: Any) -> None:
    assert outcome(client.query("zones", params, auth=auth)) == expected


@pytest.mark.parametrize(
    ("method", "status", "text"),
    [
        ("POST", 500, "No creational API found for the path[/zstack/v1/zones]"),
        ("DELETE", 500, "No delete API found for the path[/zstack/v1/zones]"),
        ("PUT", 500, ""),
    ],
)
def test_query_paths_are_shared_with_write_apis(client: Client, method: str, status: int, text: str) -> None:
    response = client.request(method, "/zstack/v1/zones")
    assert (response.status_code, response.text) == (status, text)


def test_the_store_is_mutable(mock: MockZStack, client: Client) -> None:
    zone = {**mock.app.store.list(family.ZONE)[0], "uuid": "9" * 32, "name": "added"}
    mock.app.store.put(family.ZONE, zone)
    try:
        assert _names(client.query(f"zones/{'9' * 32}")) == ["added"]
    finally:
        assert mock.app.store.remove(family.ZONE, "9" * 32) is not None
    assert _names(client.query(f"zones/{'9' * 32}")) == []


# GetBackupStorageCapacity.


CAPACITIES = "backup-storage/capacities"


def _capacity(c: Client, params: list[tuple[str, str]]) -> Any:
    response = c.query(CAPACITIES, params)
    return response.json() if response.status_code == 200 else outcome(response)


def test_capacity_sums_the_chosen_backup_storage(client: Client) -> None:
    storages = {bs["uuid"]: bs for bs in client.query("backup-storage").json()["inventories"]}
    every = _capacity(client, [("all", "true")])
    assert every == {
        "totalCapacity": sum(bs["totalCapacity"] for bs in storages.values()),
        "availableCapacity": sum(bs["availableCapacity"] for bs in storages.values()),
        "success": True,
    }
    one = _capacity(client, [("backupStorageUuids", family.BS_CEPH), ("zoneUuids", family.ZONE_EAST)])
    assert one["totalCapacity"] == storages[family.BS_CEPH]["totalCapacity"]  # the storage list wins over zones
    by_zone = _capacity(client, [("zoneUuids", family.ZONE_EAST), ("zoneUuids", family.ZONE_TEST)])
    # A join over zone refs: the storage attached to both zones counts twice, as ZStack's SQL does.
    chosen = {family.ZONE_EAST, family.ZONE_TEST}
    attached = [bs for bs in storages.values() for zone in bs["attachedZoneUuids"] if zone in chosen]
    assert by_zone["totalCapacity"] == sum(bs["totalCapacity"] for bs in attached)
    assert _capacity(client, [("zoneUuids", UNKNOWN_SESSION)])["totalCapacity"] == 0


@pytest.mark.parametrize("params", [[], [("all", "false")], [("all", "yes")], [("zoneUuids.0", "")]])
def test_capacity_without_a_choice_is_sys_1007(client: Client, params: list[tuple[str, str]]) -> None:
    response = client.query(CAPACITIES, params)
    if params == [("zoneUuids.0", "")]:
        # An indexed key with an empty value is a one-element list [""]: a choice, of nothing.
        assert response.json()["totalCapacity"] == 0
        return
    assert response.status_code == 503
    assert response.json()["error"]["details"] == (
        "zoneUuids, backupStorageUuids must have at least one be none-empty list, or all is set to true"
    )


# The server object.


def test_server_lifecycle() -> None:
    server = MockZStack()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    server.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.url.endswith(f":{server.port}")
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        before = server.requests_served
        requests.put(server.url + VERSION, json={"getVersion": {}}, timeout=10)
        assert server.requests_served == before + 1
    finally:
        server.stop()
    server.stop()
    assert not server.running
    with server:
        assert requests.put(server.url + VERSION, json={"getVersion": {}}, timeout=10).status_code == 200
    server.check()


def test_concurrent_logins_each_get_a_working_session(mock: MockZStack) -> None:
    def login_and_use(_: int) -> tuple[str, int]:
        c = Client(mock)
        try:
            session = c.session()
            return session, c.backups(auth=f"OAuth {session}").status_code
        finally:
            c.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(login_and_use, range(32)))
    assert len({session for session, _ in results}) == 32
    assert {status for _, status in results} == {200}


def test_handler_errors_are_recorded_and_reraised_by_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: Request) -> None:
        raise LookupError("handler bug")

    with MockZStack() as server:
        monkeypatch.setattr(server.app, "dispatch", broken)
        response = requests.get(server.url + API, timeout=10)
        assert response.status_code == 500
        with pytest.raises(LookupError, match="handler bug"):
            server.check()


def test_unknown_deviation_is_refused_at_construction() -> None:
    with pytest.raises(UnknownDeviationError, match="'nope'"):
        MockZStack(["backups-key", "nope"])


# The deviation catalogue.


def test_every_required_deviation_is_catalogued() -> None:
    assert [name for name in REQUIRED_DEVIATIONS if name not in DEVIATIONS] == []
    for name, deviation in DEVIATIONS.items():
        assert deviation.name == name
        assert deviation.level in {"must", "should", "tolerated"}
        assert deviation.reached_by in {"example", "generated"}
        assert deviation.summary


def test_resolve_rejects_unknown_names_and_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownDeviationError) as caught:
        resolve(["nope"])
    message = str(caught.value)
    assert "'nope'" in message
    assert all(name in message for name in DEVIATIONS)
    assert isinstance(caught.value, ValueError)
    assert caught.value.unknown == ("nope",)


def test_resolve_accepts_known_names_and_a_bare_string() -> None:
    assert resolve(["backups-key", "iso-dates"]) == {"backups-key", "iso-dates"}
    assert resolve("backups-key") == {"backups-key"}
    assert resolve([]) == frozenset()


# Each deviation, against a conforming server: a probe request and what it observes.


@dataclass(frozen=True)
class Probe:
    run: Callable[[Client], object]
    conforming: object
    deviant: object


def _valid(c: Client, session: str) -> object:
    body = body_of(c.request("GET", f"/zstack/v1/accounts/sessions/{session}/valid"))
    return body.get("valid") if isinstance(body, dict) else body


def _after_logout(c: Client) -> tuple[object, int]:
    session = c.session()
    c.request("DELETE", f"/zstack/v1/accounts/sessions/{session}")
    return _valid(c, session), c.backups(auth=f"OAuth {session}").status_code


def _after_logout_valid(c: Client) -> object:
    session = c.session()
    c.request("DELETE", f"/zstack/v1/accounts/sessions/{session}")
    return _valid(c, session)


def _names(response: requests.Response) -> list[object]:
    body = body_of(response)
    items = body.get("inventories") if isinstance(body, dict) else None
    return [item.get("name") for item in items] if isinstance(items, list) else [response.status_code]


def _second_login_has_uuid(c: Client) -> bool:
    c.kept_session()
    return "uuid" in c.login().json()["inventory"]


ZONE_NAMES = ["TestZone", "zone-east", "lab"]


def _auth_statuses(c: Client) -> tuple[object, ...]:
    missing = c.backups(auth=None)
    return (
        missing.status_code,
        body_of(missing),
        c.backups(auth="Basic x").status_code,
        c.backups(auth=f"OAuth {UNKNOWN_SESSION}").status_code,
    )


def _url(host: str) -> list[tuple[str, str]]:
    return [("url", f"sftp://root@{host}/zstack_bs")]


UNREACHABLE = [("url", "sftp://root@store.example.com/zstack_bs")]
TAG_PROBES = [
    [SEEDED, ("systemTags", "50%")],
    [SEEDED, ("systemTags", "it's")],
    [SEEDED, ("userTags", "café")],
    [SEEDED, ("systemTags", "plain"), ("userTags", "also-plain")],
]
LARGE_TYPES = ["str" if image.size >= 2**31 else "int" for image in data.repository(LARGE_HOST, 8000)]
PORT_70000 = len(data.repository(data.SEEDED_IMAGE_STORE_HOST, data.DEFAULT_REGISTRY_PORT))  # falls back to 8000


def _types(response: requests.Response, field: str = "size") -> list[str]:
    return [type(item[field]).__name__ for item in items_of(response)]


# The async APIs (issue 9). Every submit names its job with X-Job-UUID, so polls need no location.
BACKUPS = "/zstack/v1/database-backups"
JOBS = "/zstack/v1/api-jobs/"


def _tidy(probe: Callable[[Client], object]) -> Callable[[Client], object]:
    """The probe, then the backups it created removed: the module's mocks are shared with tests that count them."""

    def run(c: Client) -> object:
        before = {record["uuid"] for record in c.store.list(family.DATABASE_BACKUP)}
        try:
            return probe(c)
        finally:
            for record in c.store.list(family.DATABASE_BACKUP):
                if record["uuid"] not in before:
                    c.store.remove(family.DATABASE_BACKUP, str(record["uuid"]))

    return run


def _submit(c: Client, method: str, path: str, body: Any, job: str | None = None) -> tuple[requests.Response, str]:
    job = job or uuid.uuid4().hex
    headers = {"Authorization": f"OAuth {c.kept_session()}", "X-Job-UUID": job}
    return c.request(method, path, json=body, headers=headers), job


def _create(c: Client, name: str, job: str | None = None) -> tuple[requests.Response, str]:
    body = {"params": {"name": name, "backupStorageUuid": family.BS_IMAGE_STORE}}
    return _submit(c, "POST", BACKUPS, body, job)


def _polls(c: Client, first: requests.Response, job: str) -> list[requests.Response]:
    """Up to three polls, stopping at the job's end; none when the API answered without a job."""
    polls: list[requests.Response] = []
    while first.status_code == 202 and len(polls) < 3 and (not polls or polls[-1].status_code not in (200, 503)):
        polls.append(c.request("GET", JOBS + job))
    return polls


def _final(c: Client, first: requests.Response, job: str) -> requests.Response | None:
    polls = _polls(c, first, job)
    if not polls:
        return first
    return polls[-1] if polls[-1].status_code in (200, 503) else None


def _backup_named(c: Client, name: str) -> dict[str, Any] | None:
    return next((r for r in c.store.list(family.DATABASE_BACKUP) if r["name"] == name), None)


def _fresh_backup(c: Client) -> str:
    name = f"zstack-contract-probe-{uuid.uuid4().hex[:8]}"
    first, job = _create(c, name)
    _final(c, first, job)
    backup = _backup_named(c, name)
    assert backup is not None, name
    return str(backup["uuid"])


def _created_but_listed_differently(c: Client) -> object:
    name = f"zstack-contract-probe-{uuid.uuid4().hex[:8]}"
    final = _final(c, *_create(c, name))
    listed = _backup_named(c, name)
    if final is None or listed is None:
        return "no result"
    result = final.json()["inventory"]
    return sorted(key for key in ("size", "status", "state", "name") if result[key] != listed[key])


def _listed_after_delete(c: Client) -> object:
    backup = _fresh_backup(c)
    _final(c, *_submit(c, "DELETE", f"{BACKUPS}/{backup}", None))
    return c.store.get(family.DATABASE_BACKUP, backup) is not None


def _export_url_stored(c: Client) -> object:
    backup = _fresh_backup(c)
    path = f"{BACKUPS}/{backup}/backup-storage/{family.BS_IMAGE_STORE}/actions"
    _final(c, *_submit(c, "PUT", path, {"exportDatabaseBackupFromBackupStorage": {}}))
    record = c.store.get(family.DATABASE_BACKUP, backup) or {}
    refs = record.get("backupStorageRefs")
    return [ref.get("exportUrl") is not None for ref in refs if isinstance(ref, dict)] if isinstance(refs, list) else []


def _failure_keys(c: Client) -> object:
    final = _final(c, *_submit(c, "POST", BACKUPS, {"params": {"backupStorageUuid": family.BS_IMAGE_STORE}}))
    return "no result" if final is None else (final.status_code, sorted(final.json()))


def _second_submit_status(c: Client) -> object:
    job = uuid.uuid4().hex
    _create(c, f"zstack-contract-probe-{job[:8]}-1", job)
    return _create(c, f"zstack-contract-probe-{job[:8]}-2", job)[0].status_code


def _accepted_has_location(c: Client) -> object:
    first, _ = _create(c, "zstack-contract-probe-location")
    return first.status_code != 202 or "location" in first.json()


def _location_names_the_host_called(c: Client) -> object:
    """True when the 202 location is on the URL the client called, or when there is no location to judge."""
    first, _ = _create(c, "zstack-contract-probe-host")
    location = first.json().get("location") if first.status_code == 202 else None
    return location is None or str(location).startswith(c.base + JOBS)


def _four_byte_name_job_end(c: Client) -> object:
    """How the Create job of a name with a character outside the BMP ends (status, error code)."""
    final = _final(c, *_create(c, "zstack-contract-probe-\U0001d11e"))
    if final is None:
        return None
    error = final.json().get("error") if final.status_code == 503 else None
    return final.status_code, error.get("code") if isinstance(error, dict) else None


def _job_end_status(c: Client) -> object:
    final = _final(c, *_create(c, "zstack-contract-probe-end"))
    return None if final is None else final.status_code


def _polls_answered_404(c: Client) -> object:
    return [poll.status_code for poll in _polls(c, *_create(c, "zstack-contract-probe-404"))].count(404)


PROBES: dict[str, Probe] = {
    # Every API that needs a session, not only the seed API.
    "auth-ignored": Probe(
        lambda c: [c.backups(auth=None).status_code, c.query("zones", auth=None).status_code,
                   c.query("backup-storage/capacities", [("all", "true")], auth=None).status_code],
        [400] * 3,
        [200] * 3,
    ),
    "auth-401": Probe(
        _auth_statuses,
        (400, "missing header 'Authorization'", 400, 503),
        (401, {"error": {**SESSION_INVALID, "details": "missing header 'Authorization'"}}, 401, 401),
    ),
    "session-not-invalidated": Probe(_after_logout, (False, 503), (True, 200)),
    "login-any-password": Probe(lambda c: c.login(password="wrong").status_code, 503, 200),
    "backups-key": Probe(lambda c: list(c.backups().json()), ["infos"], ["backups"]),
    "size-as-string": Probe(lambda c: _types(c.backups()), ["int"] * 3, ["str"] * 3),
    "iso-dates": Probe(
        lambda c: items_of(c.backups())[0]["created"], "Nov 14, 2017 10:20:57 PM", "2017-11-14T22:20:57Z"
    ),
    "created-epoch-millis": Probe(
        lambda c: items_of(c.backups())[0]["created"], "Nov 14, 2017 10:20:57 PM", 1510698057000
    ),
    "missing-author": Probe(lambda c: ["author" in item for item in items_of(c.backups())], [True] * 3, [False] * 3),
    # The body's values, not its keys, so the backups-key deviation leaves this probe alone.
    "infos-omitted-when-empty": Probe(lambda c: list(c.backups(_url(EMPTY_HOST)).json().values()), [[]], []),
    "validation-skipped": Probe(
        lambda c: [outcome(c.backups(p)) for p in ([], [("url", "")])], [(503, "SYS.1007")] * 2, [(200, 3)] * 2
    ),
    "port-range-unchecked": Probe(
        lambda c: outcome(c.backups([SEEDED, ("registryPort", "70000")])), (503, "SYS.1007"), (200, PORT_70000)
    ),
    "error-unwrapped": Probe(
        lambda c: (lambda r: (r.status_code, sorted(r.json())))(c.backups(UNREACHABLE)),
        (503, ["error"]),
        (503, ["cause", "code", "description", "details"]),
    ),
    "error-as-200": Probe(
        lambda c: [outcome(c.backups(p)) for p in (UNREACHABLE, [])],
        [(503, "SYS.1006"), (503, "SYS.1007")],
        [(200, "SYS.1006"), (200, "SYS.1007")],
    ),
    "error-missing-code": Probe(
        lambda c: sorted(error_of(c.backups(UNREACHABLE).json()) or {}),
        ["cause", "code", "description", "details"],
        ["cause", "description", "details"],
    ),
    "cause-as-string": Probe(
        lambda c: (error_of(c.backups(UNREACHABLE).json()) or {}).get("cause"),
        {"code": "SYS.1016", "description": IO_ERROR, "details": "connection refused"},
        "connection refused",
    ),
    "plain-500-on-missing-url": Probe(
        lambda c: outcome(c.backups([])), (503, "SYS.1007"), (500, "java.lang.NullPointerException")
    ),
    "server-error-on-tag-chars": Probe(
        lambda c: [c.backups(p).status_code for p in TAG_PROBES], [200] * 4, [500, 500, 500, 200]
    ),
    "server-error-non-ascii-url": Probe(
        lambda c: [c.backups(_url(host)).status_code for host in ("imäge.invalid", "image.invalid")],
        [200, 200],
        [500, 200],
    ),
    "size-string-when-large": Probe(
        lambda c: (_types(c.backups()), _types(c.backups(_url(LARGE_HOST)))),
        (["int"] * 3, ["int"] * len(LARGE_TYPES)),
        (["int"] * 3, LARGE_TYPES),
    ),
    "duplicate-scalar-accepted": Probe(
        lambda c: outcome(c.backups([SEEDED, ("registryPort", "8000"), ("registryPort", "1")])),
        (400, only_one_value("registryPort")),
        (200, 3),
    ),
    "unknown-param-rejected": Probe(
        lambda c: outcome(c.backups([SEEDED, ("foo", "bar")])), (200, 3), (503, "SYS.1007")
    ),
    "indexed-lists-rejected": Probe(
        lambda c: outcome(c.backups([SEEDED, ("systemTags.0", "a")])), (200, 3), (503, "SYS.1007")
    ),
    "wrong-session-code": Probe(
        lambda c: outcome(c.backups(auth=f"OAuth {UNKNOWN_SESSION}")), (503, "ID.1001"), (503, "SYS.1000")
    ),
    "unknown-session-400": Probe(
        lambda c: outcome(c.backups(auth=f"OAuth {UNKNOWN_SESSION}")), (503, "ID.1001"), (400, "invalid session")
    ),
    "missing-arg-as-session-error": Probe(lambda c: outcome(c.backups([])), (503, "SYS.1007"), (503, "ID.1001")),
    "content-type-html": Probe(lambda c: c.backups().headers.get("Content-Type"), None, "text/html;charset=UTF-8"),
    "size-as-float": Probe(
        lambda c: _types(c.backups()) + _types(c.backups(), "virtualsize"), ["int"] * 6, ["float"] * 6
    ),
    "query-limit-ignored": Probe(lambda c: len(_names(c.query("zones", [("limit", "2")]))), 2, 3),
    "query-start-off-by-one": Probe(lambda c: _names(c.query("zones", [("start", "1")])), ZONE_NAMES[1:], ZONE_NAMES),
    "query-count-wrong": Probe(lambda c: c.query("database-backups", [("count", "true")]).json()["total"], 7, 8),
    "query-total-missing": Probe(
        lambda c: "total" in c.query("zones", [("replyWithCount", "true")]).json(), True, False
    ),
    "query-q-ignored": Probe(lambda c: _names(c.query("zones", [("q", "name=lab")])), ["lab"], ZONE_NAMES),
    "query-ne-as-eq": Probe(lambda c: _names(c.query("zones", [("q", "name!=lab")])), ZONE_NAMES[:2], ["lab"]),
    "query-fields-ignored": Probe(
        lambda c: list(c.query("zones", [("fields", "uuid,name")]).json()["inventories"][0]),
        ["uuid", "name"],
        ["uuid", "name", "description", "state", "type", "createDate", "lastOpDate"],
    ),
    "query-sort-reversed": Probe(
        lambda c: _names(c.query("zones", [("sort", "+name")])), ["TestZone", "lab", "zone-east"],
        ["zone-east", "lab", "TestZone"],
    ),
    "query-short-form-404": Probe(
        lambda c: _names(c.query(f"zones/{family.ZONE_LAB}")),
        ["lab"],
        [404],
    ),
    "query-limit-non-integer-accepted": Probe(
        lambda c: outcome(c.query("zones", [("limit", "abc")]))[0], 400, 200
    ),
    "query-condition-without-operator-accepted": Probe(
        lambda c: outcome(c.query("zones", [("q", "name")]))[0], 400, 200
    ),
    "query-inventory-wrong-type": Probe(
        lambda c: [type(z["createDate"]).__name__ for z in c.query("zones").json()["inventories"]],
        ["str"] * 3,
        ["int"] * 3,
    ),
    "capacity-as-string": Probe(
        lambda c: type(c.query("backup-storage/capacities", [("all", "true")]).json()["totalCapacity"]).__name__,
        "int",
        "str",
    ),
    "validate-session-true-after-logout": Probe(_after_logout_valid, False, True),
    "version-requires-auth": Probe(lambda c: c.request("PUT", VERSION, json={"getVersion": {}}).status_code, 200, 400),
    "validate-requires-auth": Probe(
        lambda c: c.request("GET", f"/zstack/v1/accounts/sessions/{UNKNOWN_SESSION}/valid").status_code, 200, 400
    ),
    "login-inventory-without-uuid": Probe(_second_login_has_uuid, True, False),
    "login-missing-account-accepted": Probe(
        lambda c: outcome(c.request("PUT", LOGIN, json={"logInByAccount": {"password": sha512("x")}})),
        (503, "SYS.1007"),
        (503, "ID.1000"),
    ),
    "async-answered-200": Probe(_tidy(lambda c: _create(c, "zstack-contract-probe-first")[0].status_code), 202, 200),
    "job-location-missing": Probe(_tidy(_accepted_has_location), True, False),
    "job-location-other-host": Probe(_tidy(_location_names_the_host_called), True, False),
    "four-byte-names-refused": Probe(_tidy(_four_byte_name_job_end), (200, None), (503, "SYS.1000")),
    "job-never-ends": Probe(_tidy(_job_end_status), 200, None),
    "job-404-before-end": Probe(_tidy(_polls_answered_404), 0, 1),
    "job-failure-unwrapped": Probe(_tidy(_failure_keys), (503, ["error"]), (503, ["code", "description", "details"])),
    "delete-leaves-backup": Probe(_tidy(_listed_after_delete), False, True),
    "create-disagrees-with-query": Probe(_tidy(_created_but_listed_differently), [], ["size"]),
    "duplicate-job-uuid-accepted": Probe(_tidy(_second_submit_status), 400, 202),
    "export-sets-no-export-url": Probe(_tidy(_export_url_stored), [True], [False]),
    "method-not-allowed": Probe(
        lambda c: [outcome(c.backups(method=m)) for m in ("POST", "PUT", "GET")],
        [(503, "SYS.1007"), (503, "SYS.1007"), (200, 3)],
        [(405, "Request method 'POST' not supported"), (405, "Request method 'PUT' not supported"), (200, 3)],
    ),
}

# Probes that legitimately see another deviation too, because that deviation bends a behaviour the
# probe relies on. Any pair not listed here must leave the probe's conforming observation unchanged.
OVERLAPS: dict[str, set[str]] = {
    # No job at all: a second submit with one X-Job-UUID names no held job.
    "async-answered-200": {"duplicate-job-uuid-accepted"},
    # Results that never arrive cannot be read: the failure body and the Create result are not there to compare.
    "job-never-ends": {"job-failure-unwrapped", "create-disagrees-with-query", "four-byte-names-refused"},
    # Serving without auth also answers the other auth probes' missing-header and unknown-session requests.
    "auth-ignored": {"auth-401", "session-not-invalidated", "wrong-session-code", "unknown-session-400"},
    # The two logout probes: a session that stays valid, and one ValidateSession calls valid, look alike in both.
    "session-not-invalidated": {"validate-session-true-after-logout"},
    "validate-session-true-after-logout": {"session-not-invalidated"},
    # Both logout probes ask ValidateSession without Authorization, and each needs a second session.
    "validate-requires-auth": {"session-not-invalidated", "validate-session-true-after-logout"},
    "login-inventory-without-uuid": {"session-not-invalidated", "validate-session-true-after-logout"},
    # A server ignoring q never parses it: != has no effect and an operator-less condition is no error.
    "query-q-ignored": {"query-ne-as-eq", "query-condition-without-operator-accepted"},
    "auth-401": {"auth-ignored", "session-not-invalidated", "wrong-session-code", "unknown-session-400"},
    # These three each change how an unknown session is refused.
    "wrong-session-code": {"unknown-session-400"},
    "unknown-session-400": {"auth-401", "session-not-invalidated", "wrong-session-code"},
    # These probes all observe the type of size, or of created.
    "size-as-string": {"size-string-when-large", "size-as-float"},
    "size-as-float": {"size-as-string", "size-string-when-large"},
    "iso-dates": {"created-epoch-millis"},
    "created-epoch-millis": {"iso-dates"},
    # A missing url, which POST/PUT also produce, is exactly what these two change.
    "validation-skipped": {
        "plain-500-on-missing-url",
        "method-not-allowed",
        "error-as-200",
        "missing-arg-as-session-error",
    },
    "plain-500-on-missing-url": {
        "validation-skipped",
        "method-not-allowed",
        "error-as-200",
        "missing-arg-as-session-error",
    },
    "missing-arg-as-session-error": {
        "validation-skipped",
        "method-not-allowed",
        "error-as-200",
        "plain-500-on-missing-url",
    },
    # These probes observe the status, or the code, of a 503 failure.
    "error-as-200": {
        "auth-401",
        "session-not-invalidated",
        "login-any-password",
        "validation-skipped",
        "port-range-unchecked",
        "error-unwrapped",
        "plain-500-on-missing-url",
        "wrong-session-code",
        "method-not-allowed",
        "missing-arg-as-session-error",
        "unknown-session-400",
        "login-missing-account-accepted",
    },
    "error-missing-code": {
        "validation-skipped",
        "port-range-unchecked",
        "error-as-200",
        "plain-500-on-missing-url",
        "wrong-session-code",
        "method-not-allowed",
        "missing-arg-as-session-error",
        "unknown-session-400",
        "login-missing-account-accepted",
    },
}


def test_every_deviation_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(DEVIATIONS)
    assert all(probe.conforming != probe.deviant for probe in PROBES.values())


@pytest.mark.parametrize("name", list(DEVIATIONS))
def test_deviation_changes_what_it_claims(name: str, client: Client, deviant: Callable[[str], Client]) -> None:
    probe = PROBES[name]
    assert probe.run(client) == probe.conforming
    assert probe.run(deviant(name)) == probe.deviant


@pytest.mark.parametrize("name", list(DEVIATIONS))
def test_deviation_changes_nothing_else(name: str, deviant: Callable[[str], Client]) -> None:
    """Every other deviation's probe sees a conforming server, except the declared overlaps, which must
    really overlap (so the allowlist cannot go stale)."""
    c = deviant(name)
    changed = {other for other, probe in PROBES.items() if other != name and probe.run(c) != probe.conforming}
    assert changed == OVERLAPS.get(name, set())


# The command line.


# The project root, so "python -m zstack_contract.mock" finds the package even when it is not installed.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "zstack_contract.mock", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=PROJECT_ROOT)


def test_cli_refuses_an_unknown_deviation_with_exit_code_2() -> None:
    result = _run_cli("--deviation", "nope")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unknown deviation 'nope'" in lines[0]
    assert "backups-key" in lines[0]


def test_cli_lists_the_catalogue() -> None:
    result = _run_cli("--list-deviations")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == list(DEVIATIONS)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_cli_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "zstack_contract.mock", "--port", "0", "--deviation", "backups-key"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
            response = requests.put(url + VERSION, json={"getVersion": {}}, timeout=10)
            assert response.json()["version"] == "4.8.0"
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


# Number parsing, against the committed JVM vectors (not against the mock's own regexes).


@pytest.mark.parametrize("vector", vector_params())
def test_registry_port_parses_like_the_jvm(vector: JvmVector) -> None:
    convert = IMAGE_STORE_SCALARS["registryPort"]
    if vector.accepted:
        assert convert(vector.input) == vector.int_value
    else:
        with pytest.raises(jvm.NumberFormatError):
            convert(vector.input)
