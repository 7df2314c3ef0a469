"""Checks that the independent alt server really speaks the documented ZStack REST contract.

The contract suite is only meaningful against this server if the server itself is right, so the
wire-level freedoms it uses (U+202F dates, float sizes) are asserted on the raw bytes.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Final

import pytest
import requests

from tests.selftest.alt_server import AltZStackServer, _AbortError, _java_int
from tests.selftest.jvm_vectors import JvmVector, vector_params

PASSWORD_SHA512: Final = hashlib.sha512(b"password").hexdigest()
BACKUPS: Final = "/zstack/v1/database-backups/image-store"
STORE_URL: Final = "sftp://root@image-store.invalid/zstack_bs"
TIMEOUT: Final = 10.0
ITEM_KEYS: Final = frozenset(
    {"id", "parent", "blobsum", "created", "author", "arch", "desc", "size", "virtualsize", "name"}
)
DUPLICATE_PORT: Final = (
    "Invalid query parameter[registryPort], only one value is allowed for the parameter but multiple values found"
)

# Expectation markers: an int status with either an error code (503) or the exact plain-text body.
Expect = tuple[int, str]


@pytest.fixture(scope="module")
def server() -> Iterator[AltZStackServer]:
    with AltZStackServer() as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as client:
        yield client


def login(http: requests.Session, server: AltZStackServer) -> str:
    body = {"logInByAccount": {"accountName": "admin", "password": PASSWORD_SHA512}}
    response = http.put(f"{server.url}/zstack/v1/accounts/login", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    session_uuid = response.json()["inventory"]["uuid"]
    assert isinstance(session_uuid, str)
    return session_uuid


@pytest.fixture
def auth(http: requests.Session, server: AltZStackServer) -> dict[str, str]:
    return {"Authorization": f"OAuth {login(http, server)}"}


def assert_outcome(response: requests.Response, expected: Expect) -> None:
    status, marker = expected
    assert response.status_code == status, response.text
    if status == 503:
        error = response.json()["error"]
        assert error["code"] == marker
        assert error["description"]
        assert isinstance(error["details"], str)
    elif status != 200:
        assert response.text == marker


@pytest.mark.parametrize(
    ("account", "password", "expected"),
    [
        pytest.param("admin", PASSWORD_SHA512, (200, ""), id="ok"),
        pytest.param("admin", hashlib.sha512(b"wrong").hexdigest(), (503, "ID.1000"), id="wrong-password"),
        pytest.param("admin", PASSWORD_SHA512.upper(), (503, "ID.1000"), id="uppercase-hash"),
        pytest.param("root", PASSWORD_SHA512, (503, "ID.1000"), id="wrong-account"),
        pytest.param("admin", None, (503, "SYS.1007"), id="missing-password"),
    ],
)
def test_login(
    http: requests.Session, server: AltZStackServer, account: str, password: str | None, expected: Expect
) -> None:
    credentials = {"accountName": account, "password": password}
    response = http.put(f"{server.url}/zstack/v1/accounts/login", json={"logInByAccount": credentials}, timeout=TIMEOUT)
    assert_outcome(response, expected)
    if expected[0] == 200:
        inventory = response.json()["inventory"]
        assert re.fullmatch(r"[0-9a-f]{32}", inventory["uuid"])
        assert inventory["noSessionEvaluation"] is False
        for key in ("accountUuid", "userUuid", "createDate", "expiredDate"):
            assert isinstance(inventory[key], str)
            assert inventory[key]
    elif expected[1] == "ID.1000":
        error = response.json()["error"]
        assert error == {
            "code": "ID.1000",
            "description": "Unable to authenticate a user",
            "details": "wrong account name or password",
            "causes": [],
        }


def test_session_lifecycle(http: requests.Session, server: AltZStackServer) -> None:
    session_uuid = login(http, server)
    sessions = f"{server.url}/zstack/v1/accounts/sessions/{session_uuid}"
    headers = {"Authorization": f"OAuth {session_uuid}"}
    query = {"url": STORE_URL}

    assert http.get(f"{sessions}/valid", timeout=TIMEOUT).json() == {"valid": True}
    assert http.get(f"{server.url}{BACKUPS}", params=query, headers=headers, timeout=TIMEOUT).status_code == 200

    logout = http.delete(sessions, timeout=TIMEOUT)
    assert (logout.status_code, logout.json()) == (200, {})
    assert http.get(f"{sessions}/valid", timeout=TIMEOUT).json() == {"valid": False}
    rejected = http.get(f"{server.url}{BACKUPS}", params=query, headers=headers, timeout=TIMEOUT)
    assert rejected.status_code == 503
    assert rejected.json()["error"] == {
        "code": "ID.1001",
        "description": "The session is invalid, either wrong session id or the session has been expired",
        "details": "Session expired",
        "causes": [],
    }


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, (400, "missing header 'Authorization'"), id="missing"),
        pytest.param({"Authorization": "Bearer abc"}, (400, "Authorization type must be 'OAuth'"), id="bearer"),
        pytest.param({"Authorization": "oauth abc"}, (400, "Authorization type must be 'OAuth'"), id="lowercase"),
        pytest.param({"Authorization": f"OAuth {uuid.uuid4().hex}"}, (503, "ID.1001"), id="unknown-session"),
        pytest.param({"Authorization": "OAuth"}, (503, "ID.1001"), id="empty-session"),
        pytest.param(
            {"Authorization": "ZStack no-signature"},
            (400, "accessKey format is 'ZStack AccessKeyId:Signature'"),
            id="access-key-format",
        ),
        pytest.param(
            {"Authorization": "ZStack key:signature"},
            (400, "'Date' must be incuded in request header"),
            id="access-key-no-date",
        ),
    ],
)
def test_authorization_failures(
    http: requests.Session, server: AltZStackServer, headers: dict[str, str], expected: Expect
) -> None:
    response = http.get(f"{server.url}{BACKUPS}", params={"url": STORE_URL}, headers=headers, timeout=TIMEOUT)
    assert_outcome(response, expected)
    if expected[0] != 503:
        assert "Content-Type" not in response.headers  # plain-text errors carry no media type at all


def test_backups_wire_format(http: requests.Session, server: AltZStackServer, auth: dict[str, str]) -> None:
    response = http.get(f"{server.url}{BACKUPS}", params={"url": STORE_URL}, headers=auth, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert int(response.headers["Content-Length"]) == len(response.content)

    raw = response.content.decode("utf-8")
    # The narrow no-break space must be a real character on the wire, not a \u escape.
    assert '"created":"Nov 14, 2017, 10:20:57\u202fPM"' in raw
    assert '"created":"Mar 2, 2018, 9:05:03\u202fAM"' in raw
    assert "\\u202f" not in raw.lower()
    assert re.search(r'"size":7995392\.0[,}]', raw)
    assert re.search(r'"virtualsize":12682240\.0[,}]', raw)

    payload = response.json()
    assert payload["success"] is True
    infos = payload["infos"]
    assert len(infos) == 2
    for item in infos:
        assert set(item) == ITEM_KEYS
        assert all(value is not None for value in item.values())
        assert isinstance(item["size"], float)
        assert item["size"].is_integer()
        assert isinstance(item["virtualsize"], float)
        assert item["virtualsize"] >= item["size"]
    assert infos[0]["id"] == "270c67e3699f72ba"
    assert infos[0]["name"] == "78b6afbc9da73932a000fb9a75947962"


@pytest.mark.parametrize(
    ("url", "count"),
    [
        pytest.param(STORE_URL, 2, id="catalogue-host"),
        pytest.param("sftp://root@other-store.invalid/zstack_bs", 1, id="other-invalid-host"),
        pytest.param("HTTP://Mirror.Example.INVALID:5000/bs", 1, id="case-insensitive"),
        pytest.param("backup.invalid/zstack_bs", 1, id="bare-host"),
    ],
)
def test_backups_per_host(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], url: str, count: int
) -> None:
    response = http.get(f"{server.url}{BACKUPS}", params={"url": url}, headers=auth, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert len(response.json()["infos"]) == count


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param([], (503, "SYS.1007"), id="url-missing"),
        pytest.param([("url", "")], (503, "SYS.1007"), id="url-empty"),
        pytest.param([("url", STORE_URL), ("registryPort", "abc")], (500, 'For input string: "abc"'), id="port-abc"),
        pytest.param([("url", STORE_URL), ("registryPort", " 12x ")], (500, 'For input string: "12x"'), id="port-trim"),
        pytest.param([("url", STORE_URL), ("registryPort", "")], (500, "empty String"), id="port-empty"),
        pytest.param([("registryPort", "abc")], (500, 'For input string: "abc"'), id="parse-before-validate"),
        pytest.param([("url", STORE_URL), ("registryPort", "70000")], (503, "SYS.1007"), id="port-high"),
        pytest.param([("url", STORE_URL), ("registryPort", "0")], (503, "SYS.1007"), id="port-zero"),
        pytest.param([("url", STORE_URL), ("registryPort", "0.9")], (503, "SYS.1007"), id="port-truncates-to-0"),
        pytest.param([("url", STORE_URL), ("registryPort", "8000.9")], (200, ""), id="port-float"),
        pytest.param([("url", STORE_URL), ("registryPort", "8e3")], (200, ""), id="port-exponent"),
        pytest.param(
            [("url", STORE_URL), ("registryPort", "1"), ("registryPort", "2")], (400, DUPLICATE_PORT), id="dup"
        ),
        pytest.param(
            [("url", STORE_URL), ("url", STORE_URL)],
            (
                400,
                "Invalid query parameter[url], only one value is allowed for the parameter but multiple values found",
            ),
            id="url-twice",
        ),
        pytest.param(
            [
                ("url", STORE_URL),
                ("systemTags", "a"),
                ("systemTags.1", "c"),
                ("systemTags.0", "b"),
                ("userTags", "x,y"),
            ],
            (200, ""),
            id="tags-repeated-and-indexed",
        ),
        pytest.param([("url", STORE_URL), ("noSuchParameter", "1"), ("url.0", "x")], (200, ""), id="unknown-ignored"),
        pytest.param([("url", "sftp://root@example.com/zstack_bs")], (503, "SYS.1006"), id="reachable-host-fails"),
    ],
)
def test_backups_parameters(
    http: requests.Session,
    server: AltZStackServer,
    auth: dict[str, str],
    query: list[tuple[str, str]],
    expected: Expect,
) -> None:
    response = http.get(f"{server.url}{BACKUPS}", params=query, headers=auth, timeout=TIMEOUT)
    assert_outcome(response, expected)
    if expected[0] == 200:
        assert len(response.json()["infos"]) == 2
    if expected[1] == "SYS.1006":
        error = response.json()["error"]
        assert error["description"] == "An operation failed"
        assert error["cause"] == {
            "code": "SYS.1016",
            "description": "Cannot do an IO operation (e.g. network IO error, file IO error)",
            "details": "connection refused",
        }


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        pytest.param("GET", "/zstack/v1/no-such/api", None, (404, "no api mapping to /v1/no-such/api"), id="unknown"),
        pytest.param("PUT", "/zstack/v1/management-nodes/actions", {"getVersion": {}}, (200, ""), id="version"),
        pytest.param(
            "PUT",
            "/zstack/v1/management-nodes/actions",
            {"noSuchAction": {}},
            (400, "the body doesn't contain action mapping to the URL[/v1/management-nodes/actions]"),
            id="no-action-key",
        ),
        pytest.param(
            "GET", f"/zstack/v1/api-jobs/{uuid.uuid4().hex}", None, (404, "the job has been expired"), id="job"
        ),
        pytest.param("POST", BACKUPS, {"url": STORE_URL}, (503, "SYS.1007"), id="post-to-get-api"),
        pytest.param("DELETE", f"{BACKUPS}?url={STORE_URL}", None, (200, ""), id="delete-reads-query"),
    ],
)
def test_routing(
    http: requests.Session,
    server: AltZStackServer,
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
    expected: Expect,
) -> None:
    response = http.request(method, f"{server.url}{path}", json=body, headers=auth, timeout=TIMEOUT)
    assert_outcome(response, expected)
    if path.endswith("management-nodes/actions") and expected[0] == 200:
        assert response.json() == {"version": "5.1.8", "success": True}


def test_malformed_body_is_a_plain_500(http: requests.Session, server: AltZStackServer, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    response = http.get(
        f"{server.url}{BACKUPS}", params={"url": STORE_URL}, data=b"{oops", headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 500
    assert response.text
    assert not response.text.lstrip().startswith("{")


def test_stop_releases_port() -> None:
    server = AltZStackServer()
    server.start()
    url = server.url
    with requests.Session() as client:
        # An open keep-alive connection must not keep stop() from finishing.
        assert client.get(f"{url}/zstack/v1/accounts/sessions/x/valid", timeout=TIMEOUT).json() == {"valid": False}
        server.stop()
        with pytest.raises(requests.ConnectionError):
            client.get(f"{url}/zstack/v1/accounts/sessions/x/valid", timeout=TIMEOUT)
    with pytest.raises(RuntimeError):
        _ = server.url


@pytest.mark.parametrize("vector", vector_params())
def test_query_numbers_parse_like_the_jvm(vector: JvmVector) -> None:
    """The committed JVM vectors: a rejected form is the plain-text 500 real ZStack answers."""
    if vector.accepted:
        assert _java_int(vector.input) == vector.int_value
    else:
        with pytest.raises(_AbortError) as refused:
            _java_int(vector.input)
        assert refused.value.reply.status == 500
