"""Checks that the independent alt server really speaks the documented ZStack REST contract.

The contract suite is only meaningful against this server if the server itself is right, so the
wire-level freedoms it uses (U+202F dates, float sizes) are asserted on the raw bytes.
"""

from __future__ import annotations

import ast
import hashlib
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import pytest
import requests

from tests.selftest import alt_inventory
from tests.selftest.alt_jobs import JobOutcome, JobTable
from tests.selftest.alt_query import _split_by_whole_separator
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
    # Sparse, as a real server: descriptions never set are left out, so NULL semantics can be seen.
    with AltZStackServer(sparse=True) as running:
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


# ---------------------------------------------------------------------------------------------
# The read-only family: Query APIs, GetBackupStorageCapacity and the session APIs without auth

ZONES: Final = "/zstack/v1/zones"
BACKUP_STORAGE: Final = "/zstack/v1/backup-storage"
DATABASE_BACKUPS: Final = "/zstack/v1/database-backups"
CAPACITIES: Final = "/zstack/v1/backup-storage/capacities"
ALL_ZONES: Final = frozenset({"zone-hz-a", "Zone-HZ-B", "bj-edge", "lab"})
ZONE_C: Final = str(alt_inventory.ZONES[2]["uuid"])
BS_CEPH: Final = str(alt_inventory.BACKUP_STORAGE[1]["uuid"])
OPERATORS: Final = "[[!=, >=, <=, !?=, !~=, ~=, ?=, =, >, <, is null, not null]]"


def query(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], path: str, params: list[tuple[str, str]]
) -> requests.Response:
    return http.get(f"{server.url}{path}", params=params, headers=auth, timeout=TIMEOUT)


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["inventories"]]


@pytest.mark.parametrize(
    ("path", "rows"),
    [
        pytest.param(ZONES, alt_inventory.ZONES, id="zones"),
        pytest.param(BACKUP_STORAGE, alt_inventory.BACKUP_STORAGE, id="backup-storage"),
        pytest.param(DATABASE_BACKUPS, alt_inventory.DATABASE_BACKUPS, id="database-backups"),
    ],
)
def test_query_lists_every_row_with_nulls_left_out(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], path: str, rows: Sequence[object]
) -> None:
    response = query(http, server, auth, path, [])
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"inventories", "schema"}  # no total unless asked for
    inventories = payload["inventories"]
    assert len(inventories) == len(rows)
    assert all(re.fullmatch(r"[0-9a-f]{32}", item["uuid"]) for item in inventories)
    assert "null" not in response.text  # Gson omits nulls rather than writing them
    assert payload["schema"]["inventories[0]"].startswith("org.zstack.header.")


@pytest.mark.parametrize("path", [ZONES, BACKUP_STORAGE, DATABASE_BACKUPS])
def test_only_sparse_servers_leave_out_descriptions_never_set(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], path: str
) -> None:
    undescribed = query(http, server, auth, path, [("q", "description is null")]).json()["inventories"]
    assert len(undescribed) == 1
    assert undescribed[0]["uuid"] in alt_inventory.NEVER_DESCRIBED
    assert "description" not in undescribed[0]
    with AltZStackServer() as dense:
        described = http.put(
            f"{dense.url}/zstack/v1/accounts/login",
            json={"logInByAccount": {"accountName": "admin", "password": PASSWORD_SHA512}},
            timeout=TIMEOUT,
        )
        headers = {"Authorization": f"OAuth {described.json()['inventory']['uuid']}"}
        listing = query(http, dense, headers, path, []).json()["inventories"]
    assert all("description" in item for item in listing)


def test_query_inventories_keep_their_json_types(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str]
) -> None:
    storage = query(http, server, auth, BACKUP_STORAGE, [("q", "name=imagestore-main")]).json()["inventories"][0]
    assert storage["totalCapacity"] == 10995116277760  # beyond 32 bits, as a JSON integer
    assert isinstance(storage["totalCapacity"], int)
    assert storage["attachedZoneUuids"] == [alt_inventory.ZONES[0]["uuid"], alt_inventory.ZONES[1]["uuid"]]
    assert storage["createDate"] == "Mar 7, 2023, 10:01:17\u202fAM"
    unattached = query(http, server, auth, BACKUP_STORAGE, [("q", "name=sftp-old")]).json()["inventories"][0]
    assert unattached["attachedZoneUuids"] == []
    backup = query(http, server, auth, DATABASE_BACKUPS, [("q", "name=Before-Upgrade")]).json()["inventories"][0]
    assert [set(ref) for ref in backup["backupStorageRefs"]] == [
        {"databaseBackupUuid", "backupStorageUuid", "installPath", "exportUrl", "status", "createDate", "lastOpDate"},
        {"databaseBackupUuid", "backupStorageUuid", "installPath", "status", "createDate", "lastOpDate"},
    ]


@pytest.mark.parametrize(
    ("path", "conditions", "expected"),
    [
        pytest.param(ZONES, ["name=lab"], {"lab"}, id="eq"),
        pytest.param(ZONES, ["name=ZONE-hz-b"], {"Zone-HZ-B"}, id="eq-collates-case"),
        pytest.param(ZONES, ["name=lab  "], {"lab"}, id="eq-pads-trailing-space"),
        pytest.param(ZONES, ["name= lab"], set(), id="value-not-trimmed"),
        pytest.param(ZONES, ["description="], {"lab"}, id="eq-empty-is-not-null"),
        pytest.param(ZONES, ["state!=Enabled"], {"bj-edge"}, id="ne"),
        pytest.param(ZONES, ["description!=Beijing edge site"], {"zone-hz-a", "lab"}, id="ne-skips-null"),
        pytest.param(BACKUP_STORAGE, ["totalCapacity>53687091200"], {"imagestore-main"}, id="gt"),
        pytest.param(BACKUP_STORAGE, ["totalCapacity<53687091200"], {"sftp-old", "ImageStore-DR"}, id="lt"),
        pytest.param(BACKUP_STORAGE, ["totalCapacity>=53687091200"], {"imagestore-main", "Ceph-Backup"}, id="ge"),
        pytest.param(BACKUP_STORAGE, ["availableCapacity<=0"], {"Ceph-Backup"}, id="le"),
        pytest.param(BACKUP_STORAGE, ["totalCapacity>5e10"], {"imagestore-main", "Ceph-Backup"}, id="gt-numeric"),
        pytest.param(ZONES, ["name?=lab,bj-edge"], {"lab", "bj-edge"}, id="in"),
        pytest.param(ZONES, ["name!?=lab,bj-edge"], {"zone-hz-a", "Zone-HZ-B"}, id="not-in"),
        pytest.param(ZONES, ["description!?=nothing"], {"zone-hz-a", "bj-edge", "lab"}, id="not-in-skips-null"),
        pytest.param(ZONES, ["name~=zone%"], {"zone-hz-a", "Zone-HZ-B"}, id="like"),
        pytest.param(ZONES, ["name~=la_"], {"lab"}, id="like-underscore"),
        pytest.param(ZONES, ["name!~=%-%"], {"lab"}, id="not-like"),
        pytest.param(ZONES, ["description is null"], {"Zone-HZ-B"}, id="is-null"),
        pytest.param(ZONES, ["description not null"], {"zone-hz-a", "bj-edge", "lab"}, id="not-null"),
        pytest.param(ZONES, ["createDate>2023-12-01 00:00:00"], {"lab"}, id="date-gt"),
        pytest.param(ZONES, ["createDate<2023-03-07"], set(), id="date-lt-day"),
        pytest.param(ZONES, ["createDate>Nov 14, 2017 10:20:57 PM"], set(), id="date-unreadable-is-null"),
        pytest.param(BACKUP_STORAGE, [f"attachedZoneUuids={ZONE_C}"], {"Ceph-Backup"}, id="list-any"),
        pytest.param(BACKUP_STORAGE, ["attachedZoneUuids is null"], {"sftp-old"}, id="list-empty-is-null"),
        pytest.param(
            DATABASE_BACKUPS, [f"backupStorageRefs.backupStorageUuid={BS_CEPH}"], {"Before-Upgrade"}, id="nested"
        ),
        pytest.param(DATABASE_BACKUPS, ["metadata is null"], {"archive-2023"}, id="is-null-long-row"),
        pytest.param(ZONES, ["state=Enabled", "name~=%hz%"], {"zone-hz-a", "Zone-HZ-B"}, id="and"),
        pytest.param(ZONES, ["state=Disabled", "name~=%hz%"], set(), id="and-empty"),
        pytest.param(ZONES, ["name==lab"], {"lab"}, id="repeated-separator-skipped"),
        pytest.param(ZONES, ["name<=lab"], {"bj-edge", "lab"}, id="le-before-eq"),
    ],
)
def test_query_conditions(
    http: requests.Session,
    server: AltZStackServer,
    auth: dict[str, str],
    path: str,
    conditions: list[str],
    expected: set[str],
) -> None:
    assert set(names(query(http, server, auth, path, [("q", c) for c in conditions]))) == expected


@pytest.mark.parametrize(
    ("params", "text"),
    [
        pytest.param([("limit", "abc")], "Invalid query parameter. 'limit' must be an integer", id="limit-abc"),
        pytest.param([("limit", "1.5")], "Invalid query parameter. 'limit' must be an integer", id="limit-fraction"),
        pytest.param([("limit", "")], "Invalid query parameter. 'limit' must be an integer", id="limit-empty"),
        pytest.param(
            [("limit", "2147483648")], "Invalid query parameter. 'limit' must be an integer", id="limit-overflow"
        ),
        pytest.param([("start", "x")], "Invalid query parameter. 'start' must be an integer", id="start-x"),
        pytest.param(
            [("q", "name")],
            f"Invalid query parameter. The 'name' in the parameter[q] doesn't contain any query operator."
            f" Valid query operators are {OPERATORS}",
            id="no-operator",
        ),
        pytest.param(
            [("q", "=lab")],
            "Invalid query parameter. The '=lab' in parameter[q] is not a key-value pair split by =",
            id="no-key",
        ),
        pytest.param([("fields", ",")], "Invalid query parameter. 'fields' contains zero field", id="zero-fields"),
    ],
)
def test_query_refusals_are_plain_400s(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], params: list[tuple[str, str]], text: str
) -> None:
    response = query(http, server, auth, ZONES, params)
    assert (response.status_code, response.text) == (400, text)
    assert "Content-Type" not in response.headers


def test_query_is_parsed_before_the_session_is_checked(http: requests.Session, server: AltZStackServer) -> None:
    unknown = {"Authorization": f"OAuth {uuid.uuid4().hex}"}
    assert query(http, server, unknown, ZONES, [("limit", "abc")]).status_code == 400
    expired = query(http, server, unknown, ZONES, [("limit", "1")])
    assert (expired.status_code, expired.json()["error"]["code"]) == (503, "ID.1001")
    missing = http.get(f"{server.url}{ZONES}", timeout=TIMEOUT)
    assert (missing.status_code, missing.text) == (400, "missing header 'Authorization'")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param([("sort", "name")], ["bj-edge", "lab", "zone-hz-a", "Zone-HZ-B"], id="no-sign-ascending"),
        pytest.param([("sort", "+name"), ("limit", "2")], ["bj-edge", "lab"], id="limit"),
        pytest.param([("sort", "+name"), ("start", "1"), ("limit", "2")], ["lab", "zone-hz-a"], id="page"),
        pytest.param([("sort", "+name"), ("start", "3")], ["Zone-HZ-B"], id="start-only"),
        pytest.param([("sort", "+name"), ("start", "9")], [], id="start-past-end"),
        pytest.param([("limit", "0")], [], id="limit-zero"),
        pytest.param([("sort", "+name"), ("limit", " \u0662 ")], ["bj-edge", "lab"], id="limit-trimmed-unicode-digit"),
        pytest.param([("sort", "-name")], ["Zone-HZ-B", "zone-hz-a", "lab", "bj-edge"], id="descending"),
        pytest.param([("sort", "-createDate")], ["lab", "bj-edge", "Zone-HZ-B", "zone-hz-a"], id="by-date"),
        pytest.param([("sort", "description")], ["Zone-HZ-B", "lab", "bj-edge", "zone-hz-a"], id="nulls-first"),
        pytest.param([("sort", "+name"), ("limit", "1"), ("limit", "abc")], ["bj-edge"], id="first-value-wins"),
        pytest.param(
            [("sort", "+name"), ("noSuch", "1"), ("systemTags", "x")],
            sorted(ALL_ZONES, key=str.casefold),
            id="unknown-ignored",
        ),
    ],
)
def test_query_sort_and_paging(
    http: requests.Session,
    server: AltZStackServer,
    auth: dict[str, str],
    params: list[tuple[str, str]],
    expected: list[str],
) -> None:
    assert names(query(http, server, auth, ZONES, params)) == expected


def test_query_count_and_reply_with_count(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str]
) -> None:
    counted = query(http, server, auth, ZONES, [("count", "TRUE"), ("q", "state=Enabled"), ("limit", "1")])
    assert counted.json() == {"total": 3, "schema": {}}
    paged = query(http, server, auth, ZONES, [("replyWithCount", "true"), ("limit", "1"), ("q", "state=Enabled")])
    assert paged.json()["total"] == 3
    assert len(paged.json()["inventories"]) == 1
    not_true = query(http, server, auth, ZONES, [("count", "yes")]).json()
    assert "total" not in not_true  # Boolean.valueOf: only "true" is true
    assert len(not_true["inventories"]) == len(ALL_ZONES)


def test_query_fields_and_group_by(http: requests.Session, server: AltZStackServer, auth: dict[str, str]) -> None:
    projected = query(http, server, auth, ZONES, [("fields", "name, description"), ("sort", "name")]).json()
    assert projected["inventories"][0] == {"name": "bj-edge", "description": "Beijing edge site"}
    assert {"name": "Zone-HZ-B"} in projected["inventories"]  # a null field stays out
    grouped = query(http, server, auth, ZONES, [("groupBy", "state")]).json()["inventories"]
    assert sorted(item["state"] for item in grouped) == ["Disabled", "Enabled"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param([("sort", "nope")], id="sort"),
        pytest.param([("fields", "uuid,nope")], id="fields"),
        pytest.param([("q", "nope=1")], id="condition"),
        pytest.param([("q", "backupStorageRefs=1")], id="whole-ref-list"),
        pytest.param([("limit", "-1")], id="negative-limit"),
    ],
)
def test_query_failures_behind_the_rest_layer_are_503(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], params: list[tuple[str, str]]
) -> None:
    response = query(http, server, auth, DATABASE_BACKUPS, params)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SYS.1000"


def test_query_short_form(http: requests.Session, server: AltZStackServer, auth: dict[str, str]) -> None:
    zone = alt_inventory.ZONES[2]
    short = query(http, server, auth, f"{ZONES}/{zone['uuid']}", [("limit", "abc"), ("q", "name"), ("count", "true")])
    assert names(short) == [zone["name"]]  # every query parameter ignored, even invalid ones
    assert names(query(http, server, auth, f"{ZONES}/{uuid.uuid4().hex}", [])) == []
    backup = alt_inventory.DATABASE_BACKUPS[0]
    assert names(query(http, server, auth, f"{DATABASE_BACKUPS}/{backup['uuid']}", [])) == [backup["name"]]
    # Exact paths win over the {uuid} pattern.
    image_store = query(http, server, auth, f"{DATABASE_BACKUPS}/image-store", [])
    assert image_store.json()["error"]["code"] == "SYS.1007"  # GetDatabaseBackupFromImageStore, url missing


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param([("all", "true")], (11072425689088, 7443178323968), id="all"),
        pytest.param([("all", "True"), ("backupStorageUuids", BS_CEPH)], (53687091200, 0), id="list-beats-all"),
        pytest.param([("zoneUuids", ZONE_C)], (53687091200, 0), id="zone"),
        pytest.param(
            [("zoneUuids", str(alt_inventory.ZONES[0]["uuid"])), ("zoneUuids", str(alt_inventory.ZONES[1]["uuid"]))],
            (2 * 10995116277760, 2 * 7421703487488),
            id="zone-join-counts-twice",
        ),
        pytest.param([("zoneUuids", str(alt_inventory.ZONES[3]["uuid"]))], (21474836480, 20401094656), id="lab-zone"),
        pytest.param([("zoneUuids", "0" * 32)], (0, 0), id="nothing-attached"),
    ],
)
def test_backup_storage_capacity(
    http: requests.Session,
    server: AltZStackServer,
    auth: dict[str, str],
    params: list[tuple[str, str]],
    expected: tuple[int, int],
) -> None:
    response = query(http, server, auth, CAPACITIES, params)
    assert response.json() == {"totalCapacity": expected[0], "availableCapacity": expected[1], "success": True}


@pytest.mark.parametrize("params", [[], [("all", "yes")], [("zoneUuids", "")]], ids=["none", "all-not-true", "empty"])
def test_backup_storage_capacity_needs_a_choice(
    http: requests.Session, server: AltZStackServer, auth: dict[str, str], params: list[tuple[str, str]]
) -> None:
    response = query(http, server, auth, CAPACITIES, params)
    if params == [("zoneUuids", "")]:
        # One empty-string uuid is a non-empty list: nothing matches, so the sums are 0.
        assert response.json()["totalCapacity"] == 0
        return
    assert_outcome(response, (503, "SYS.1007"))


def test_session_apis_need_no_authorization(http: requests.Session, server: AltZStackServer) -> None:
    version = http.put(f"{server.url}/zstack/v1/management-nodes/actions", json={"getVersion": {}}, timeout=TIMEOUT)
    assert version.json() == {"version": "5.1.8", "success": True}
    unknown = f"{server.url}/zstack/v1/accounts/sessions/{uuid.uuid4().hex}"
    assert http.get(f"{unknown}/valid", timeout=TIMEOUT).json() == {"valid": False}
    assert (http.delete(unknown, timeout=TIMEOUT).status_code, http.delete(unknown, timeout=TIMEOUT).json()) == (
        200,
        {},
    )


def test_login_without_account_name_is_an_invalid_argument(http: requests.Session, server: AltZStackServer) -> None:
    body = {"logInByAccount": {"password": PASSWORD_SHA512}}
    response = http.put(f"{server.url}/zstack/v1/accounts/login", json=body, timeout=TIMEOUT)
    assert_outcome(response, (503, "SYS.1007"))


@pytest.mark.parametrize(
    ("text", "separator", "parts"),
    [
        ("name=lab", "=", ["name", "lab"]),
        ("name=", "=", ["name", ""]),
        ("=lab", "=", ["lab"]),
        ("a==b", "=", ["a", "b"]),
        ("a=b=c", "=", ["a", "b=c"]),
        ("description is null", "is null", ["description ", ""]),
    ],
)
def test_condition_split_follows_commons_lang(text: str, separator: str, parts: list[str]) -> None:
    assert _split_by_whole_separator(text, separator, 2) == parts


def test_alt_modules_share_no_code_with_the_suite() -> None:
    """The server is only a second opinion if it was not built from the suite's own code or schemas."""
    here = Path(__file__).parent
    modules = sorted(path.name for path in here.glob("alt_*.py"))
    assert {"alt_server.py", "alt_query.py", "alt_inventory.py", "alt_jobs.py", "alt_backups.py"} <= set(modules)
    for module in modules:
        source = (here / module).read_text(encoding="utf-8")
        imported = {
            alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert not [name for name in imported if name.startswith("zstack_contract")], module
        assert not [name for name in imported if name.startswith("tests.") and ".alt_" not in name], module
        assert "schemas/" not in source, module
        assert "openapi.json" not in source, module


# ---------------------------------------------------------------------------------------------
# The async family: the job table and the state the write APIs change

JOBS: Final = "/zstack/v1/api-jobs"
BS_MAIN: Final = str(alt_inventory.BACKUP_STORAGE[0]["uuid"])
BS_SFTP_DISABLED: Final = str(alt_inventory.BACKUP_STORAGE[2]["uuid"])
BS_DR: Final = str(alt_inventory.BACKUP_STORAGE[3]["uuid"])


@pytest.fixture
def writable() -> Iterator[AltZStackServer]:
    # Its own server per test: the shared module server's rows must stay as seeded.
    with AltZStackServer() as running:
        yield running


@pytest.fixture
def wauth(http: requests.Session, writable: AltZStackServer) -> dict[str, str]:
    return {"Authorization": f"OAuth {login(http, writable)}"}


def accepted(response: requests.Response) -> str:
    """The job path of a 202, after checking the 202 body's shape."""
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"location", "apiTimeout"}
    assert isinstance(body["apiTimeout"], int)
    assert body["apiTimeout"] > 0
    location = urlsplit(str(body["location"]))
    assert location.scheme == "http"
    assert re.fullmatch(rf"{JOBS}/[0-9a-f]{{32}}", location.path), body
    return location.path


def finish(http: requests.Session, server: AltZStackServer, job_path: str) -> tuple[list[int], requests.Response]:
    """Poll until the job ends; the statuses of the running polls, and the final answer."""
    running: list[int] = []
    for _ in range(10):  # the alt job advances per poll, so no waiting is needed between polls
        response = http.get(f"{server.url}{job_path}", timeout=TIMEOUT)
        if response.status_code != 202:
            return running, response
        assert response.json() == {}
        running.append(response.status_code)
    raise AssertionError(f"job {job_path} still running after 10 polls")


def run_job(
    http: requests.Session,
    server: AltZStackServer,
    auth: dict[str, str],
    method: str,
    path: str,
    body: Mapping[str, object] | None = None,
    params: list[tuple[str, str]] | None = None,
) -> requests.Response:
    first = http.request(method, f"{server.url}{path}", json=body, params=params, headers=auth, timeout=TIMEOUT)
    return finish(http, server, accepted(first))[1]


def create_body(name: object = "alt-backup", storage: str = BS_MAIN, **extra: object) -> dict[str, object]:
    params: dict[str, object] = {"backupStorageUuid": storage, **extra}
    if name is not None:
        params["name"] = name
    return {"params": params}


def backups_named(http: requests.Session, server: AltZStackServer, auth: dict[str, str], name: str) -> list[Any]:
    response = query(http, server, auth, DATABASE_BACKUPS, [("q", f"name={name}")])
    assert response.status_code == 200, response.text
    items = response.json()["inventories"]
    assert isinstance(items, list)
    return items


def test_create_runs_as_a_job_that_advances_per_poll(
    http: requests.Session, writable: AltZStackServer, wauth: dict[str, str]
) -> None:
    job = uuid.uuid4().hex
    first = http.post(
        f"{writable.url}{DATABASE_BACKUPS}",
        json=create_body("nightly-\u6570\u636e-1"),
        headers={**wauth, "X-Job-UUID": job},
        timeout=TIMEOUT,
    )
    job_path = accepted(first)
    assert job_path == f"{JOBS}/{job}"  # the job answers under the uuid the client chose
    assert first.json()["location"] == f"{writable.url}{job_path}"  # bound host:port by default
    assert first.json()["apiTimeout"] == 5_400_000
    assert backups_named(http, writable, wauth, "nightly-\u6570\u636e-1") == []  # nothing until the job ends
    running, final = finish(http, writable, job_path)
    assert running == [202, 202]
    assert final.status_code == 200, final.text
    inventory = final.json()["inventory"]
    assert inventory["name"] == "nightly-\u6570\u636e-1"
    assert inventory["description"] == ""  # dense: a description never given is present, empty
    assert [(ref["backupStorageUuid"], "exportUrl" in ref) for ref in inventory["backupStorageRefs"]] == [
        (BS_MAIN, False)
    ]
    assert backups_named(http, writable, wauth, "nightly-\u6570\u636e-1") == [inventory]
    # A finished job is kept: polling it again answers the same result.
    again = http.get(f"{writable.url}{job_path}", timeout=TIMEOUT)
    assert (again.status_code, again.json()) == (200, final.json())


def test_export_sets_the_export_url_and_delete_exported_clears_it(
    http: requests.Session, writable: AltZStackServer, wauth: dict[str, str]
) -> None:
    backup = run_job(http, writable, wauth, "POST", DATABASE_BACKUPS, create_body()).json()["inventory"]
    export = f"{DATABASE_BACKUPS}/{backup['uuid']}/backup-storage/{BS_MAIN}/actions"
    exported = run_job(http, writable, wauth, "PUT", export, {"exportDatabaseBackupFromBackupStorage": {}})
    assert exported.status_code == 200, exported.text
    url = exported.json()["databaseBackupUrl"]
    assert url.startswith("http://")
    (ref,) = backups_named(http, writable, wauth, "alt-backup")[0]["backupStorageRefs"]
    assert ref["exportUrl"] == url
    twice = run_job(http, writable, wauth, "PUT", export, {"exportDatabaseBackupFromBackupStorage": {}})
    assert_outcome(twice, (503, "SYS.1006"))
    unexport = f"/zstack/v1/exported-database-backup/{backup['uuid']}/backup-storage/{BS_MAIN}"
    cleared = run_job(http, writable, wauth, "DELETE", unexport)
    assert (cleared.status_code, cleared.json()) == (200, {})
    (ref,) = backups_named(http, writable, wauth, "alt-backup")[0]["backupStorageRefs"]
    assert "exportUrl" not in ref
    assert_outcome(run_job(http, writable, wauth, "DELETE", unexport), (503, "SYS.1006"))


def test_sync_adds_a_copy_on_the_destination(
    http: requests.Session, writable: AltZStackServer, wauth: dict[str, str]
) -> None:
    backup = run_job(http, writable, wauth, "POST", DATABASE_BACKUPS, create_body()).json()["inventory"]
    action = {
        "syncDatabaseBackupFromImageStoreBackupStorage": {
            "srcBackupStorageUuid": BS_MAIN,
            "dstBackupStorageUuid": BS_DR,
        }
    }
    synced = run_job(http, writable, wauth, "PUT", f"{DATABASE_BACKUPS}/{backup['uuid']}/actions", action)
    assert synced.status_code == 200, synced.text
    refs = synced.json()["inventory"]["backupStorageRefs"]
    assert [ref["backupStorageUuid"] for ref in refs] == [BS_MAIN, BS_DR]
    assert backups_named(http, writable, wauth, "alt-backup") == [synced.json()["inventory"]]
    again = run_job(http, writable, wauth, "PUT", f"{DATABASE_BACKUPS}/{backup['uuid']}/actions", action)
    assert_outcome(again, (503, "SYS.1006"))


def test_delete_removes_named_copies_then_the_backup(
    http: requests.Session, writable: AltZStackServer, wauth: dict[str, str]
) -> None:
    backup = run_job(http, writable, wauth, "POST", DATABASE_BACKUPS, create_body()).json()["inventory"]
    action = {
        "syncDatabaseBackupFromImageStoreBackupStorage": {
            "srcBackupStorageUuid": BS_MAIN,
            "dstBackupStorageUuid": BS_DR,
        }
    }
    run_job(http, writable, wauth, "PUT", f"{DATABASE_BACKUPS}/{backup['uuid']}/actions", action)
    path = f"{DATABASE_BACKUPS}/{backup['uuid']}"
    partial = run_job(http, writable, wauth, "DELETE", path, params=[("backupStorageUuids", BS_DR)])
    assert (partial.status_code, partial.json()) == (200, {})
    (left,) = backups_named(http, writable, wauth, "alt-backup")
    assert [ref["backupStorageUuid"] for ref in left["backupStorageRefs"]] == [BS_MAIN]
    assert run_job(http, writable, wauth, "DELETE", path).json() == {}
    assert backups_named(http, writable, wauth, "alt-backup") == []
    # Deleting what is already gone succeeds, as ZStack's delete APIs do.
    gone = run_job(http, writable, wauth, "DELETE", path)
    assert (gone.status_code, gone.json()) == (200, {})


def test_recover_answers_a_port_and_changes_nothing(
    http: requests.Session, writable: AltZStackServer, wauth: dict[str, str]
) -> None:
    before = query(http, writable, wauth, DATABASE_BACKUPS, []).json()
    seed = str(alt_inventory.DATABASE_BACKUPS[0]["uuid"])
    body = {"recoverDatabaseFromBackup": {"uuid": seed, "mysqlRootPassword": "secret"}}
    recovered = run_job(http, writable, wauth, "PUT", f"{DATABASE_BACKUPS}/actions", body)
    assert recovered.status_code == 200, recovered.text
    assert set(recovered.json()) == {"logListenPort"}
    assert isinstance(recovered.json()["logListenPort"], int)
    assert query(http, writable, wauth, DATABASE_BACKUPS, []).json() == before
    no_password = run_job(
        http, writable, wauth, "PUT", f"{DATABASE_BACKUPS}/actions", {"recoverDatabaseFromBackup": {"uuid": seed}}
    )
    assert_outcome(no_password, (503, "SYS.1007"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(create_body(None), "SYS.1007", id="missing-name"),
        pytest.param(create_body(""), "SYS.1007", id="empty-name"),
        pytest.param(create_body(" \t\n"), "SYS.1007", id="blank-name"),
        pytest.param(create_body("n" * 256), "SYS.1007", id="256-name"),
        # 128 code points, 256 UTF-16 code units: too long for Java's String.length().
        pytest.param(create_body("\U0001f600" * 128), "SYS.1007", id="256-units-astral"),
        pytest.param(create_body(storage=uuid.uuid4().hex), "SYS.1003", id="unknown-backup-storage"),
        pytest.param(create_body(storage=""), "SYS.1007", id="empty-backup-storage"),
        pytest.param(create_body(storage=" \t"), "SYS.1007", id="blank-backup-storage"),
        pytest.param({"params": {"name": "x"}}, "SYS.1007", id="missing-backup-storage"),
        pytest.param(create_body(storage=BS_SFTP_DISABLED), "SYS.1006", id="disabled-backup-storage"),
        pytest.param(create_body(resourceUuid="not-a-uuid"), "SYS.1007", id="bad-resource-uuid"),
        pytest.param(create_body("n" * 255), "", id="255-name"),
        pytest.param(create_body("\U0001f600" * 127 + "n"), "", id="255-units-astral"),
        pytest.param(create_body("\u00a0"), "", id="nbsp-is-not-trimmed"),
        # Trimmed before the length check: 255 characters between spaces fit.
        pytest.param(create_body(" " + "n" * 255 + " \t"), "", id="255-name-after-trim"),
    ],
)
def test_create_validation_happens_in_the_job(
    http: requests.Session, writable: AltZStackServer, wauth: dict[str, str], body: dict[str, object], expected: str
) -> None:
    final = run_job(http, writable, wauth, "POST", DATABASE_BACKUPS, body)
    if expected:
        assert_outcome(final, (503, expected))
        assert len(query(http, writable, wauth, DATABASE_BACKUPS, []).json()["inventories"]) == len(
            alt_inventory.DATABASE_BACKUPS
        )
    else:
        assert final.status_code == 200, final.text
        params = body["params"]
        assert isinstance(params, dict)
        assert final.json()["inventory"]["name"] == str(params["name"]).strip(" \t")  # stored trimmed


def test_unknown_session_is_told_by_the_job(http: requests.Session, writable: AltZStackServer) -> None:
    stranger = {"Authorization": f"OAuth {uuid.uuid4().hex}"}
    final = run_job(http, writable, stranger, "POST", DATABASE_BACKUPS, create_body())
    assert_outcome(final, (503, "ID.1001"))
    missing = http.post(f"{writable.url}{DATABASE_BACKUPS}", json=create_body(), timeout=TIMEOUT)
    assert_outcome(missing, (400, "missing header 'Authorization'"))  # synchronous: no job


def test_job_uuid_header(http: requests.Session, wauth: dict[str, str]) -> None:
    now = [0.0]
    with AltZStackServer(job_retention=60.0, job_clock=lambda: now[0]) as server:
        auth = {"Authorization": f"OAuth {login(http, server)}"}
        url = f"{server.url}{DATABASE_BACKUPS}"
        short = http.post(url, json=create_body(), headers={**auth, "X-Job-UUID": "a" * 31}, timeout=TIMEOUT)
        assert_outcome(short, (400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped"))
        job = uuid.uuid4().hex
        first = http.post(url, json=create_body(), headers={**auth, "X-Job-UUID": job}, timeout=TIMEOUT)
        job_path = accepted(first)
        duplicate = http.post(url, json=create_body("b"), headers={**auth, "X-Job-UUID": job}, timeout=TIMEOUT)
        assert_outcome(duplicate, (400, f"Duplicate job uuid[{job}]"))  # also while the job runs
        assert finish(http, server, job_path)[1].status_code == 200
        now[0] = 59.9
        assert http.get(f"{server.url}{job_path}", timeout=TIMEOUT).status_code == 200
        now[0] = 60.0  # the retention has passed: the job is forgotten, its uuid free again
        assert_outcome(http.get(f"{server.url}{job_path}", timeout=TIMEOUT), (404, "the job has been expired"))
        reused = http.post(url, json=create_body("c"), headers={**auth, "X-Job-UUID": job}, timeout=TIMEOUT)
        assert accepted(reused) == job_path
        assert len(backups_named(http, server, auth, "alt-backup")) == 1  # the duplicate never ran


def test_job_path_answers_only_get(http: requests.Session, writable: AltZStackServer) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = http.request(method, f"{writable.url}{JOBS}/{uuid.uuid4().hex}", timeout=TIMEOUT)
        assert_outcome(response, (405, "only GET method is allowed for querying job status"))
    assert_outcome(
        http.get(f"{writable.url}{JOBS}/{uuid.uuid4().hex}", timeout=TIMEOUT), (404, "the job has been expired")
    )


def test_location_names_the_node_address_and_jobs_may_end_at_once(http: requests.Session) -> None:
    with AltZStackServer(node_address="192.0.2.10:8080", polls_while_running=0) as server:
        auth = {"Authorization": f"OAuth {login(http, server)}"}
        first = http.post(f"{server.url}{DATABASE_BACKUPS}", json=create_body(), headers=auth, timeout=TIMEOUT)
        job_path = accepted(first)
        assert first.json()["location"] == f"http://192.0.2.10:8080{job_path}"
        running, final = finish(http, server, job_path)
        assert (running, final.status_code) == ([], 200)


def test_job_work_runs_once() -> None:
    calls: list[int] = []

    def work() -> JobOutcome:
        calls.append(1)
        return JobOutcome(200, b"{}")

    table = JobTable(polls_while_running=1)
    assert table.submit("j", work)
    assert not table.submit("j", work)
    assert [table.poll("j") for _ in range(3)] == [
        JobOutcome(202, b"{}"),
        JobOutcome(200, b"{}"),
        JobOutcome(200, b"{}"),
    ]
    assert calls == [1]
    assert table.poll("other") is None
