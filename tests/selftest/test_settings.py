"""Option values that would make a run unsafe or meaningless are refused with one message, before any request."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zstack_contract.settings import (
    DEFAULT_JOB_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    Settings,
    SettingsError,
    new_run_id,
    resolve,
)

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


# --- writes, job timeout, run id (issue 9) ----------------------------------------------------------------------


def test_writes_are_off_by_default_and_on_by_flag_or_env(tmp_path: Path) -> None:
    assert _resolve({}, tmp_path).allow_writes is False
    assert _resolve({"zstack_allow_writes": True}, tmp_path).allow_writes is True
    assert _resolve({}, tmp_path, env={"ZSTACK_ALLOW_WRITES": "1"}).allow_writes is True
    for off in ("", "0", "false", "no"):
        assert _resolve({}, tmp_path, env={"ZSTACK_ALLOW_WRITES": off}).allow_writes is False


def test_job_timeout_default_env_and_cli(tmp_path: Path) -> None:
    assert _resolve({}, tmp_path).job_timeout == DEFAULT_JOB_TIMEOUT == 300.0
    assert _resolve({}, tmp_path, env={"ZSTACK_JOB_TIMEOUT": "2.5"}).job_timeout == 2.5
    assert _resolve({"zstack_job_timeout": "1"}, tmp_path, env={"ZSTACK_JOB_TIMEOUT": "9"}).job_timeout == 1.0


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "0.0"])
def test_job_timeout_must_be_a_finite_number_above_zero(value: str, tmp_path: Path) -> None:
    message = _refused({"zstack_job_timeout": value}, tmp_path)
    assert "--zstack-job-timeout (ZSTACK_JOB_TIMEOUT)" in message
    assert "at least" not in message  # 0 is refused too: the message must not suggest it


def test_run_id_default_is_utc_time_and_four_hex_digits(tmp_path: Path) -> None:
    first, second = _resolve({}, tmp_path).run_id, _resolve({}, tmp_path).run_id
    for value in (first, second):
        assert re.fullmatch(r"20\d{12}[0-9a-f]{4}", value), value
    assert new_run_id(datetime(2026, 11, 27, 10, 22, 33, tzinfo=UTC)).startswith("20261127102233")


def test_run_id_given_by_cli_or_env(tmp_path: Path) -> None:
    assert _resolve({"zstack_run_id": "ci42"}, tmp_path).run_id == "ci42"
    assert _resolve({}, tmp_path, env={"ZSTACK_RUN_ID": "A" * 24}).run_id == "A" * 24


@pytest.mark.parametrize("value", ["", "a-b", "a_b", "x%", "A" * 25, "ab\n", "ünï", "a b"])
def test_run_id_must_be_letters_and_digits(value: str, tmp_path: Path) -> None:
    message = _refused({"zstack_run_id": value}, tmp_path)
    assert "--zstack-run-id (ZSTACK_RUN_ID) must be 1 to 24 letters or digits" in message
