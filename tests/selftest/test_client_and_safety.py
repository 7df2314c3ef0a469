from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zstack_contract.client import Exchange, RateLimiter, UnsafeRequestError, ZStackClient, sha512_hex
from zstack_contract.safety import SAFE_HOST, is_safe_url, make_safe_query, safe_url

CONFIGURED = "sftp://root@image-store.example/zstack_bs"


def test_sha512_of_the_initial_admin_password() -> None:
    assert sha512_hex("password").startswith("b109f3bb")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


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
        client.send(method, path)
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
    rendered = exchange.as_curl() + exchange.describe() + str(exchange.to_json())
    assert "5ecre7" not in rendered
    assert "OAuth {sessionUuid}" in exchange.as_curl()


@given(st.text())
def test_any_generated_url_is_made_safe(value: str) -> None:
    result = safe_url(value, CONFIGURED)
    if value.strip():
        assert result == CONFIGURED or urlsplit(result).hostname == SAFE_HOST or is_safe_url(result)
    else:
        assert result == value


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("sftp://root@image-store.invalid/zstack_bs", True),
        ("http://a.b.invalid:8000/x", True),
        ("sftp://x.invalid@evil.example/", False),
        ("10.0.0.1", False),
        ("http://localhost/", False),
        (CONFIGURED, True),
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
