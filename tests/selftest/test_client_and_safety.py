from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from urllib3.util import parse_url

from tests.selftest.fake_clock import FakeClock
from zstack_contract.generation.safety import (
    SAFE_HOST,
    is_safe_url,
    make_safe_query,
    never_live_refusal,
    request_refusal,
    safe_url,
    write_only_paths,
)
from zstack_contract.specs.formats import java_length
from zstack_contract.transport.client import (
    Auth,
    Exchange,
    RateLimiter,
    TargetUnreachableError,
    UnsafeRequestError,
    ZStackClient,
)
from zstack_contract.transport.secret import Secret

CONFIGURED = "sftp://root@image-store.example/zstack_bs"
SESSION = "0123456789abcdef0123456789abcdef"
# (The login hash is checked against ZStack's own constant in test_transport.py, not against hashlib.)


def test_rate_limiter_spaces_requests() -> None:
    fake = FakeClock()
    limiter = RateLimiter(4, clock=fake.clock, sleep=fake.sleep)
    for _ in range(4):
        limiter.wait()
    assert fake.slept == [0.25, 0.25, 0.25]


def test_rate_limiter_zero_means_no_cap() -> None:
    fake = FakeClock()
    limiter = RateLimiter(0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(10):
        limiter.wait()
    assert fake.slept == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/zstack/v1/database-backups"),
        ("PUT", "/zstack/v1/database-backups/actions"),
        ("DELETE", "/zstack/v1/database-backups/abc"),
        ("PATCH", "/zstack/v1/accounts/login"),
    ],
)
def test_client_refuses_state_changing_requests(method: str, path: str) -> None:
    client = ZStackClient("http://127.0.0.1:9", timeout=1)
    with pytest.raises(UnsafeRequestError, match=f"refusing {method} {path}"):
        client.send(method, path, auth=Auth.NONE)
    assert client.requests_sent == 0


GET_VERSION = '{"getVersion": {}}'


@pytest.mark.parametrize(
    ("method", "target", "body", "allowed"),
    [
        ("GET", "/zstack/v1/database-backups/image-store?url=sftp%3A%2F%2Fx", None, True),
        ("HEAD", "/zstack/v1/database-backups/image-store", None, True),
        ("GET", "/zstack/v1/accounts/sessions/abc/valid", None, True),
        ("PUT", "/zstack/v1/accounts/login", '{"logInByAccount": {}}', True),
        ("PUT", "/zstack/v1/management-nodes/actions", GET_VERSION, True),
        ("DELETE", f"/zstack/v1/accounts/sessions/{SESSION}", None, True),
        ("DELETE", f"/zstack/v1/accounts/sessions/{SESSION.upper()}", None, True),
        # steering attempts: each must be refused
        ("DELETE", f"/zstack/v1/accounts/sessions/../../vm-instances/{SESSION}", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/%2e%2e/%2E%2E/vm-instances/{SESSION}", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/..;/..;/vm-instances/{SESSION}", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/x%2f..%2f..%2fvm-instances%2f{SESSION}", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/{SESSION}/extra", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/{SESSION}?force=true", None, False),
        ("DELETE", "/zstack/v1/accounts/sessions/0123456789abcdef0123456789abcdeg", None, False),
        ("DELETE", "/zstack/v1/accounts/sessions/", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions//{SESSION}", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/\\{SESSION}", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/{SESSION}%00", None, False),
        ("DELETE", f"/zstack/v1/accounts/sessions/{SESSION}\n", None, False),
        ("delete", f"/zstack/v1/accounts/sessions/{SESSION}", None, False),
        ("PUT", "/zstack/v1/management-nodes/actions", '{"getVersion": {}, "shutdown": {}}', False),
        ("PUT", "/zstack/v1/management-nodes/actions", '{"changeConfig": {}}', False),
        ("PUT", "/zstack/v1/management-nodes/actions", "not json", False),
        ("PUT", "/zstack/v1/accounts/login/../../vm-instances", None, False),
        ("PUT", "/zstack/v1/./accounts/login", None, False),
        ("POST", "/zstack/v1/accounts/login", None, False),
        ("PATCH", "/zstack/v1/accounts/login", None, False),
        ("GET", "/zstack/v1/../../manager/html", None, False),
        ("GET", "/zstack/v1/%2e%2e/%2e%2e/other", None, False),
        ("GET", "/zstack/other", None, False),
        ("GET", "/zstack/v1/x#frag", None, False),
    ],
)
def test_read_only_guard_allow_list(method: str, target: str, body: str | None, allowed: bool) -> None:
    # Expected values are written out by hand from the allow-list in the issue, not computed.
    assert (request_refusal(method, target, body) is None) is allowed


def test_client_refuses_a_logout_of_a_non_uuid_before_sending() -> None:
    client = ZStackClient("http://127.0.0.1:9", timeout=1)
    with pytest.raises(UnsafeRequestError, match="not a 32-hex ZStack uuid"):
        client.logout(Secret("../../vm-instances/0123456789abcdef0123456789abcdef"))
    assert client.requests_sent == 0


def test_exchange_masks_every_secret() -> None:
    exchange = Exchange(
        method="GET",
        url="http://h/zstack/v1/x",
        path="/zstack/v1/x",
        query=[("url", "u")],
        headers={"Authorization": "OAuth 5ecre7"},
        body=None,
        status=503,
        response_headers={},
        text='{"error": {"details": "session 5ecre7 expired"}}',
        elapsed=0.1,
        secrets=("5ecre7",),
    )
    rendered = exchange.as_curl() + exchange.describe() + str(exchange.to_json()) + repr(exchange)
    assert "5ecre7" not in rendered
    assert "OAuth {sessionUuid}" in exchange.as_curl()
    assert exchange.headers == {"Authorization": "OAuth {sessionUuid}"}  # stored masked, not only rendered
    assert exchange.parsed == (True, {"error": {"details": "session {sessionUuid} expired"}})


_SAFE_PREFIX = f"sftp://{SAFE_HOST}/"
# Mostly URL-shaped values whose authority ends in ".invalid", so the pass-through branch is exercised too.
_URLISH = st.builds(
    "{}://{}{}.invalid{}".format,
    st.sampled_from(["http", "sftp", "HTTP", "nfs"]),
    st.text(max_size=6),
    st.text(max_size=12),
    st.text(max_size=12),
)


@given(st.text() | _URLISH)
@example("http://x.invalid/%zz\u00e9")  # passes through: the oddities are in the path
@example("http://evil.example\\@x.invalid/")
@example("sftp://evil.example\x00.invalid/")
@example("http://a@x.invalid/")
@example("A://INVALID/\U00018cd6")  # found in CI: an upper-case reserved TLD, an unassigned code point
def test_any_generated_url_is_made_safe(value: str) -> None:
    result = safe_url(value, CONFIGURED)
    if not value.strip():
        assert result == value
        return
    if result == CONFIGURED:
        return
    if result.startswith(_SAFE_PREFIX):
        # The generated text sits after the fixed authority's '/', where no parser looks for a host.
        assert result == _SAFE_PREFIX + value
        assert parse_url(result).host == SAFE_HOST
        return
    # Passed through unchanged: must satisfy an independent reading (urllib3's parser + checks written here).
    assert result == value
    assert "\\" not in result
    assert not any(unicodedata.category(c) == "Cc" for c in result)  # no control character, NUL included
    assert not any(c.isspace() for c in result)
    authority = result.partition("://")[2]
    for stop in "/?#":
        authority = authority.partition(stop)[0]
    assert authority.isascii()
    assert not any(c in authority for c in "@%")
    host = (parse_url(result).host or "").lower()  # host names are case-insensitive: INVALID is the reserved TLD
    assert host == "invalid" or host.endswith(".invalid"), (result, host)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("http://a.b.invalid:8000/x", True),
        ("sftp://image-store.invalid/zstack_bs", True),
        ("http://invalid/", True),
        ("http://X.INVALID/", True),
        (CONFIGURED, True),  # the configured store, exactly
        ("sftp://root@image-store.invalid/zstack_bs", False),  # userinfo: refused whatever the host
        ("http://a@x.invalid/", False),
        ("sftp://x.invalid@evil.example/", False),
        ("http://evil.example\\@x.invalid/", False),  # WHATWG reads host evil.example
        ("sftp://evil.example\x00.invalid/", False),  # NUL: some parsers stop there
        ("http://evil.example\t.invalid/", False),
        ("http://evil.example .invalid/", False),
        ("http://x.invalid/\\evil", False),  # any backslash
        ("http://evil.example%2f.invalid/", False),  # a percent-escape in the host
        ("http://evil\uff0eexample.invalid/", False),  # non-ASCII host (IDNA would map it)
        ("http://x.invalid:port/", False),
        ("http:///x.invalid/", False),  # empty host
        ("x.invalid", False),  # no scheme, no host
        ("10.0.0.1", False),
        ("http://localhost/", False),
        ("http://x.invalid.evil.example/", False),
        ("sftp://root@image-store.example/other", False),  # the configured host, not the configured value
    ],
)
def test_is_safe_url(value: str, safe: bool) -> None:
    assert is_safe_url(value, [CONFIGURED]) is safe


def test_make_safe_query_touches_only_url_like_parameters() -> None:
    pairs = [("url", "10.0.0.1"), ("registryPort", "1"), ("systemTags", "10.0.0.1")]
    out = make_safe_query(pairs, {})
    assert out[1:] == pairs[1:]
    assert urlsplit(out[0][1]).hostname == SAFE_HOST
    assert out[0][1].endswith("/10.0.0.1")  # the generated text still reaches the server


# --- never sent to a live node: requests that restore the management node's own data (issue 9) -------------------

RECOVER = "/zstack/v1/database-backups/actions"
RECOVER_BODY = '{"recoverDatabaseFromBackup": {"uuid": "x", "mysqlRootPassword": "p"}}'


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("PUT", RECOVER, RECOVER_BODY),
        ("PUT", RECOVER, None),  # whatever the body: the path alone is RecoverDatabaseFromBackup's
        ("PUT", RECOVER, '{"syncDatabaseBackup": {}}'),
        ("POST", RECOVER, None),  # a single-API path: ZStack does not check the method
        ("GET", RECOVER + "?uuid=x&mysqlRootPassword=p", None),
        ("DELETE", RECOVER, None),
        ("put", RECOVER, None),
        ("PUT", RECOVER + "/", None),  # trailing slash
        ("PUT", RECOVER + "//", None),
        ("PUT", "/zstack/v1/Database-Backups/ACTIONS", None),  # case
        ("PUT", "/zstack/v1/database-backups%2Factions", None),  # encoded separator
        ("PUT", "/zstack/v1/database-backups%252factions", None),  # double-encoded
        ("PUT", "/zstack/v1/database-backups/%61ctions", None),  # an encoded letter
        ("PUT", "/zstack/v1/database-backups/x/../actions", None),  # dot segments
        ("PUT", "/zstack/v1/./database-backups/./actions", None),
        ("PUT", "/zstack/v1/database-backups/x/%2e%2e/actions", None),
        ("PUT", "/zstack/v1/database-backups;jsessionid=1/actions;x", None),  # Tomcat path parameters
        ("PUT", "/zstack/v1/database-backups\\actions", None),
        ("PUT", "/proxy/zstack/v1/database-backups/actions", None),  # a prefix before the context path
        ("PUT", RECOVER + "#frag", None),
        ("PUT", "/zstack/v1/database-backups/abc/actions", RECOVER_BODY),  # the body names the action
        ("POST", "/zstack/v1/anything", RECOVER_BODY),
        ("PUT", "/zstack/v1/x", '{"RECOVERDATABASEFROMBACKUP": {}}'),
        ("PUT", "/zstack/v1/x", '{"a": 1, "recoverDatabaseFromBackup": {}, "a": 2}'),
        ("PUT", "/zstack/v1/x", '{"recover\\u0044atabaseFromBackup": {}}'),  # a JSON escape
        ("PUT", "/zstack/v1/x", "{recoverDatabaseFromBackup: {}}"),  # lenient JSON (Gson reads it)
        ("PUT", "/zstack/v1/x", "{'recover\\u0044atabaseFromBackup': {}}"),
    ],
)
def test_never_live_refuses_every_way_to_the_restore(method: str, target: str, body: str | None) -> None:
    assert never_live_refusal(method, target, body) is not None


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("PUT", "/zstack/v1/database-backups/abc/actions", '{"syncDatabaseBackupFromImageStoreBackupStorage": {}}'),
        ("PUT", "/zstack/v1/database-backups/actions-x", None),
        ("PUT", "/zstack/v1/database-backups/actions/more", None),
        ("GET", "/zstack/v1/database-backups", None),
        ("POST", "/zstack/v1/database-backups", '{"params": {"name": "recoverDatabaseFromBackup"}}'),  # a value
        ("PUT", "/zstack/v1/x", '{"outer": {"recoverDatabaseFromBackup": {}}}'),  # nested: not the action key
        ("PUT", "/zstack/v1/x", '["recoverDatabaseFromBackup"]'),
        ("PUT", "/zstack/v1/management-nodes/actions", '{"getVersion": {}}'),
    ],
)
def test_never_live_lets_other_requests_through(method: str, target: str, body: str | None) -> None:
    assert never_live_refusal(method, target, body) is None


@pytest.mark.parametrize("allow_writes", [False, True])
def test_client_never_sends_the_restore_to_a_live_node_even_with_writes(allow_writes: bool) -> None:
    client = ZStackClient("http://127.0.0.1:9", timeout=1, session=Secret(SESSION), allow_writes=allow_writes)
    with pytest.raises(UnsafeRequestError, match="never sent to a live management node"):
        client.send("PUT", RECOVER, json_body={"recoverDatabaseFromBackup": {"uuid": "x"}})
    with pytest.raises(UnsafeRequestError, match="never sent to a live management node"):
        client.send("GET", "/zstack/v1/database-backups/{uuid}", path_secrets={"{uuid}": Secret("actions")})
    assert client.requests_sent == 0


def test_writes_lift_the_read_only_guard_but_not_the_never_live_one() -> None:
    client = ZStackClient("http://127.0.0.1:9", timeout=0.5, session=Secret(SESSION), allow_writes=True)
    with pytest.raises(TargetUnreachableError):  # allowed, so it was sent (port 9 answers nothing)
        client.send("POST", "/zstack/v1/database-backups", json_body={"params": {"name": "n"}})
    assert client.requests_sent == 1


def test_the_embedded_mock_gets_the_restore() -> None:
    client = ZStackClient(
        "http://127.0.0.1:9", timeout=0.5, session=Secret(SESSION), allow_writes=True, embedded_mock=True
    )
    with pytest.raises(TargetUnreachableError):
        client.send("PUT", RECOVER, json_body={"recoverDatabaseFromBackup": {"uuid": "x"}})
    assert client.requests_sent == 1


@pytest.mark.parametrize(
    ("text", "length"), [("", 0), ("abc", 3), ("é", 1), ("\U0001f600", 2), ("a" * 255, 255), ("\U0001f600" * 128, 256)]
)
def test_java_length_counts_utf16_code_units(text: str, length: int) -> None:
    assert java_length(text) == length


# --- a GET that ZStack would run as a write ------------------------------------------------------------------------

FAMILY_PATHS = [
    ("GET", "/zstack/v1/database-backups"),
    ("GET", "/zstack/v1/database-backups/{uuid}"),
    ("GET", "/zstack/v1/database-backups/image-store"),
    ("POST", "/zstack/v1/database-backups"),
    ("DELETE", "/zstack/v1/database-backups/{uuid}"),
    ("PUT", "/zstack/v1/database-backups/{databaseBackupUuid}/backup-storage/{backupStorageUuid}/actions"),
    ("DELETE", "/zstack/v1/exported-database-backup/{databaseBackupUuid}/backup-storage/{backupStorageUuid}"),
    ("PUT", "/zstack/v1/database-backups/{uuid}/actions"),
    ("PUT", "/zstack/v1/database-backups/actions"),
]
WRITE_ONLY = write_only_paths(FAMILY_PATHS)


@pytest.mark.parametrize(
    "path",
    [
        "/zstack/v1/database-backups/actions",  # Recover's own path: the Query short form's template matches too
        "/zstack/v1/database-backups/0123/actions",
        "/zstack/v1/database-backups/a/backup-storage/b/actions",
        "/zstack/v1/database-backups/a/backup-storage/b/actions/",
        "/zstack/v1/database-backups/a/backup-storage/b/actions;jsessionid=1",
        "/zstack/v1/exported-database-backup/a/backup-storage/b",
        "/zstack/v1/exported-database-backup/a%2Db/backup-storage/b",
    ],
)
def test_a_get_on_a_path_only_writes_serve_is_refused(path: str) -> None:
    # RestServer runs the only API of a path whatever the method: a GET there is the write itself.
    refusal = request_refusal("GET", path, None, WRITE_ONLY)
    assert refusal is not None
    assert "only state-changing APIs serve" in refusal
    assert request_refusal("HEAD", path, None, WRITE_ONLY) is not None


@pytest.mark.parametrize(
    "path",
    [
        "/zstack/v1/database-backups",
        "/zstack/v1/database-backups/0123456789abcdef0123456789abcdef",  # shared with the Query short form
        "/zstack/v1/database-backups/image-store",
        "/zstack/v1/database-backups/a/backup-storage",
        "/zstack/v1/exported-database-backup/a/backup-storage/b/more",
    ],
)
def test_a_get_on_a_path_a_read_api_serves_is_allowed(path: str) -> None:
    assert request_refusal("GET", path, None, WRITE_ONLY) is None


def test_the_client_refuses_a_get_on_a_write_only_path_unless_writes_are_on() -> None:
    read_only = ZStackClient("http://127.0.0.1:9", timeout=1.0, session=Secret("0" * 32), write_only=WRITE_ONLY)
    with pytest.raises(UnsafeRequestError, match="only state-changing APIs serve"):
        read_only.send("GET", "/zstack/v1/database-backups/x/actions")
    assert read_only.requests_sent == 0
