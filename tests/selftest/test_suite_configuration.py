"""Bad input to the suite itself ends the run early with one clear message and a non-zero exit."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.selftest.alt_server import AltZStackServer
from tests.selftest.suite_runner import run_suite
from zstack_contract.settings import SettingsError, resolve

ALT_STORE = "sftp://root@image-store.invalid/zstack_bs"


@pytest.fixture(scope="module")
def alt_server() -> Iterator[AltZStackServer]:
    with AltZStackServer() as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on exit: nothing listens there


def _one_message(output: str, text: str) -> None:
    assert text in output, output
    # No fifty failures: one error.
    assert "FAILED" not in output, output
    assert " failed" not in output, output


def test_unreachable_url_ends_the_run_with_one_message(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        "--zstack-url",
        f"http://127.0.0.1:{_closed_port()}",
        "--zstack-account",
        "admin",
        "--zstack-password",
        "password",
    )
    assert run.returncode == 4
    _one_message(run.output, "cannot reach the management node at http://127.0.0.1:")


def test_wrong_credentials_end_the_run_with_one_message(tmp_path: Path, alt_server: AltZStackServer) -> None:
    run = run_suite(
        tmp_path, "--zstack-url", alt_server.url, "--zstack-account", "admin", "--zstack-password", "not-the-password"
    )
    assert run.returncode == 4
    _one_message(run.output, "login as 'admin' at")
    assert "not-the-password" not in run.output


def test_unknown_deviation_is_a_usage_error(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--zstack-mock-deviation", "no-such-thing")
    assert run.returncode == 4
    _one_message(run.output, "unknown deviation 'no-such-thing'; valid deviations: auth-ignored")


def test_empty_schema_folder_is_a_usage_error(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--zstack-schemas", str(tmp_path))
    assert run.returncode == 4
    _one_message(run.output, "no API specs under")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"zstack_url": "http://mn:8080"},
            "no credentials for http://mn:8080: pass --zstack-account",
            id="live-without-credentials",
        ),
        pytest.param({"zstack_url": "mn:8080", "zstack_session": "s"}, "must be an http(s) URL", id="bad-url"),
        pytest.param({"zstack_account": "admin"}, "give both --zstack-account and --zstack-password", id="half-login"),
        pytest.param({"zstack_timeout": "soon"}, "--zstack-timeout (ZSTACK_TIMEOUT) must be a number", id="timeout"),
        pytest.param({"zstack_registry_port": "70000"}, "--zstack-registry-port must be in 1..65535", id="port"),
        pytest.param(
            {"zstack_url": "http://mn:8080", "zstack_session": "s", "zstack_mock_deviation": ["auth-401"]},
            "--zstack-mock-deviation applies to the embedded mock",
            id="deviation-with-url",
        ),
        pytest.param(
            {"zstack_update_baseline": True},
            "--zstack-update-baseline needs --zstack-baseline",
            id="update-without-baseline",
        ),
    ],
)
def test_bad_option_values_say_what_to_do(options: dict[str, object], message: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        resolve(
            lambda name: options.get(name, [] if name in ("zstack_param", "zstack_mock_deviation") else None),
            env={},
            rootdir=tmp_path,
        )
    assert message in str(info.value)


def test_environment_variables_are_the_fallback(tmp_path: Path) -> None:
    env = {
        "ZSTACK_URL": "http://mn:8080/zstack",
        "ZSTACK_SESSION": "0123456789abcdef0123456789abcdef",
        "ZSTACK_STRICT": "true",
        "ZSTACK_MOCK_DEVIATION": "",
        "ZSTACK_PARAMS": "a=1, b=2",
        "ZSTACK_RATE_LIMIT": "3",
    }
    settings = resolve(
        lambda name: [] if name in ("zstack_param", "zstack_mock_deviation") else None, env=env, rootdir=tmp_path
    )
    assert settings.session is not None
    assert settings.session.reveal() == "0123456789abcdef0123456789abcdef"
    assert (settings.url, settings.strict, settings.rate_limit) == ("http://mn:8080", True, 3)
    assert dict(settings.positive_params) == {"a": "1", "b": "2"}


def test_command_line_beats_environment(tmp_path: Path) -> None:
    settings = resolve(
        lambda name: {"zstack_timeout": "2"}.get(
            name, [] if name in ("zstack_param", "zstack_mock_deviation") else None
        ),
        env={"ZSTACK_TIMEOUT": "30"},
        rootdir=tmp_path,
    )
    assert settings.timeout == 2


def test_suite_passes_against_an_independent_conforming_server(tmp_path: Path, alt_server: AltZStackServer) -> None:
    args = (
        "--zstack-url",
        alt_server.url,
        "--zstack-account",
        "admin",
        "--zstack-password",
        "password",
        "--zstack-image-store-url",
        ALT_STORE,
        "--zstack-rate-limit",
        "0",
    )
    first = run_suite(tmp_path / "first", *args)
    assert first.returncode == 0, first.output
    second = run_suite(tmp_path / "second", *args)
    outcomes = [{r["test"]: r["outcome"] for r in run.records} for run in (first, second)]
    assert outcomes[0] == outcomes[1]  # derandomized: the same inputs, the same outcome, every run
    assert "passed" in outcomes[0].values()


def test_seed_is_shown_in_the_header_and_recorded(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--zstack-seed", "7", "-v")
    assert run.returncode == 0, run.output
    assert "generation: seed 7; 25 examples per property test" in run.output
    assert run.results is not None
    assert run.results["meta"]["seed"] == 7
