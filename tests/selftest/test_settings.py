"""Option values that would make a run unsafe or meaningless are refused with one message, before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from zstack_contract.settings import DEFAULT_MAX_RESPONSE_BYTES, Settings, SettingsError, resolve

SESSION = "0123456789abcdef0123456789abcdef"
LIVE = {"zstack_url": "http://mn:8080", "zstack_session": SESSION}


def _resolve(options: dict[str, object], tmp_path: Path, env: dict[str, str] | None = None) -> Settings:
    return resolve(
        lambda name: options.get(name, [] if name in ("zstack_param", "zstack_mock_deviation") else None),
        env=env or {},
        rootdir=tmp_path,
    )


def _refused(options: dict[str, object], tmp_path: Path) -> str:
    with pytest.raises(SettingsError) as info:
        _resolve(options, tmp_path)
    return str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://admin:s3cr3t-pw@mn:8080",
        "http://admin:s3cr3t-pw@mn:8080/zstack",
        "https://s3cr3t-pw@mn",
        "http://admin:s3cr3t/pw@mn:8080/",  # a '/' in the password: parsers disagree where it ends
        "http://admin:s3cr3t-pw@[::1",
    ],
)
def test_url_with_userinfo_is_refused_without_printing_the_password(url: str, tmp_path: Path) -> None:
    message = _refused({**LIVE, "zstack_url": url}, tmp_path)
    assert "--zstack-url" in message
    assert "s3cr3t" not in message


def test_userinfo_refusal_names_the_url_without_it(tmp_path: Path) -> None:
    message = _refused({**LIVE, "zstack_url": "http://admin:s3cr3t-pw@mn:8080/zstack"}, tmp_path)
    assert "'http://mn:8080/zstack'" in message
    assert "must not carry a user or password" in message


@pytest.mark.parametrize("url", ["http://[::1", "http://mn:99999", "http://mn:port", "http://", "ftp://mn"])
def test_malformed_url_is_a_settings_error(url: str, tmp_path: Path) -> None:
    assert "--zstack-url (ZSTACK_URL)" in _refused({**LIVE, "zstack_url": url}, tmp_path)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e999"])
def test_timeout_must_be_finite_and_positive(value: str, tmp_path: Path) -> None:
    assert "--zstack-timeout (ZSTACK_TIMEOUT)" in _refused({"zstack_timeout": value}, tmp_path)


@pytest.mark.parametrize("value", ["nan", "inf", "1e-300", "0.001", "-1"])
def test_rate_limit_must_be_zero_or_a_real_rate(value: str, tmp_path: Path) -> None:
    message = _refused({"zstack_rate_limit": value}, tmp_path)
    assert "--zstack-rate-limit (ZSTACK_RATE_LIMIT)" in message


def test_rate_limit_message_says_what_is_allowed(tmp_path: Path) -> None:
    assert "must be 0 (no cap) or at least 0.01 requests per second" in _refused(
        {"zstack_rate_limit": "1e-300"}, tmp_path
    )


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("0.01", 0.01), ("5", 5.0)])
def test_rate_limit_accepts_zero_and_real_rates(value: str, expected: float, tmp_path: Path) -> None:
    assert _resolve({"zstack_rate_limit": value}, tmp_path).rate_limit == expected


@pytest.mark.parametrize(
    "session",
    ["", "s", "0123456789abcdef0123456789abcdeg", "01234567-89ab-cdef-0123-456789abcdef", SESSION + "0", " " + SESSION],
)
def test_session_must_be_32_hex(session: str, tmp_path: Path) -> None:
    message = _refused({**LIVE, "zstack_session": session}, tmp_path)
    assert "--zstack-session (ZSTACK_SESSION) must be a ZStack session uuid: 32 hex digits" in message
    if len(session) > 3:
        assert session.strip() not in message  # a near-miss may still be a real secret: not printed


@pytest.mark.parametrize("session", [SESSION, SESSION.upper()])
def test_session_of_32_hex_is_accepted_in_either_case(session: str, tmp_path: Path) -> None:
    settings = _resolve({**LIVE, "zstack_session": session}, tmp_path)
    assert settings.session is not None
    assert settings.session.reveal() == session


def test_max_response_bytes_default_env_and_minimum(tmp_path: Path) -> None:
    assert _resolve({}, tmp_path).max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 4 * 1024 * 1024
    from_env = _resolve({}, tmp_path, env={"ZSTACK_MAX_RESPONSE_BYTES": "2048"})
    assert from_env.max_response_bytes == 2048
    assert _resolve({"zstack_max_response_bytes": "1024"}, tmp_path).max_response_bytes == 1024
    for bad in ("1023", "1e6", "nan", "lots"):
        assert "--zstack-max-response-bytes (ZSTACK_MAX_RESPONSE_BYTES)" in _refused(
            {"zstack_max_response_bytes": bad}, tmp_path
        )
