"""The session tests' judgements (tests/contract/test_sessions.py): they fail on the answers they exist to catch."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest

from tests.contract.test_sessions import no_auth_findings, session_uuid_findings, validate_findings
from tests.selftest.conftest import SCHEMAS
from tests.selftest.suite_runner import run_suite
from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Family
from zstack_contract.generation.expectations import positive_call, wrong_credentials
from zstack_contract.pytest.exercise import own_session
from zstack_contract.pytest.judge import record_without_judge, target_error
from zstack_contract.specs.contract import load_catalog
from zstack_contract.transport.client import Auth, Exchange
from zstack_contract.transport.target import TargetError

CATALOG = {api.name: api for api in load_catalog(SCHEMAS)}
SESSION_TESTS = "tests/contract/test_sessions.py::"


def _exchange(status: int, body: Any, *, text: str | None = None) -> Exchange:
    return Exchange(
        method="GET",
        url="http://node/zstack/v1/x",
        path="/zstack/v1/x",
        query=[],
        headers={},
        body=None,
        status=status,
        response_headers={},
        text=json.dumps(body) if text is None else text,
        elapsed=0.0,
        auth=Auth.NONE.value,
    )


def _rules(findings: list[Any]) -> set[str]:
    """The gating rules broken (should-level findings of a partial example body are beside the point here)."""
    return {f.rule for f in findings if f.level.value != "should"}


# A session inventory with every field LogInByAccount's example shows (the must level requires them).
_SESSION = {
    "uuid": "a" * 32,
    "accountUuid": "b" * 32,
    "userUuid": "b" * 32,
    "expiredDate": "Nov 15, 2017 12:20:57 AM",
    "createDate": "Nov 14, 2017 10:20:57 PM",
}


@pytest.mark.parametrize(
    ("answer", "expected", "rules"),
    [
        pytest.param({"valid": True}, True, set(), id="live-true"),
        pytest.param({"valid": False}, False, set(), id="ended-false"),
        pytest.param({"valid": True}, False, {"session.validate"}, id="true-after-logout"),
        pytest.param({"valid": False}, True, {"session.validate"}, id="false-while-live"),
    ],
)
def test_validate_session_judges_the_flag(answer: dict[str, bool], expected: bool, rules: set[str]) -> None:
    api = CATALOG["ValidateSession"]
    assert _rules(validate_findings(api, "c", _exchange(200, answer), expected)) == rules


def test_validate_session_without_the_flag_breaks_the_shape() -> None:
    rules = _rules(validate_findings(CATALOG["ValidateSession"], "c", _exchange(200, {}), True))
    assert {"response.shape", "session.validate"} <= rules


@pytest.mark.parametrize(
    ("status", "text", "rules"),
    [
        pytest.param(200, json.dumps({"version": "5.2.1"}), set(), id="answered"),
        pytest.param(400, "missing header 'Authorization'", {"session.no-auth"}, id="asks-for-auth"),
        pytest.param(503, json.dumps({"error": {"code": "ID.1001", "description": "d", "details": "x"}}),
                     {"session.no-auth"}, id="session-refused"),
        pytest.param(404, "no api mapping to /v1/management-nodes/actions", {"api.not-served"}, id="not-served"),
        pytest.param(200, json.dumps({"version": 5}), {"response.shape"}, id="version-not-a-string"),
    ],
)
def test_no_auth_call_must_work(status: int, text: str, rules: set[str]) -> None:
    exchange = _exchange(status, None, text=text)
    assert _rules(no_auth_findings(CATALOG["GetVersion"], "c", exchange)) == rules


@pytest.mark.parametrize(
    ("body", "rules"),
    [
        pytest.param({"inventory": _SESSION}, set(), id="with-uuid"),
        pytest.param(
            {"inventory": {k: v for k, v in _SESSION.items() if k != "uuid"}}, {"response.shape"}, id="without-uuid"
        ),
        pytest.param({"inventory": {"uuid": ""}}, {"response.shape"}, id="empty-uuid"),
    ],
)
def test_login_inventory_needs_its_session_uuid(body: dict[str, Any], rules: set[str]) -> None:
    api = CATALOG["LogInByAccount"]
    exchange = _exchange(200, body)
    findings = check_exchange(api, "login", exchange, positive_call())
    findings += session_uuid_findings(api, "login", exchange, findings)
    assert _rules(findings) == rules


def test_wrong_password_is_judged_under_the_login_contract() -> None:
    api = CATALOG["LogInByAccount"]
    session = _exchange(200, {"inventory": _SESSION})
    assert _rules(check_exchange(api, "wrong-password", session, wrong_credentials())) == {"request.refused"}
    wrong_class = _exchange(503, {"error": {"code": "SYS.1007", "description": "d", "details": "x"}})
    assert _rules(check_exchange(api, "wrong-password", wrong_class, wrong_credentials())) == {
        "request.refusal-class"
    }


def _catalogue_without(tmp_path: Path, *names: str) -> Path:
    target = tmp_path / "schemas"
    target.mkdir()
    for source in SCHEMAS.iterdir():
        if source.is_dir() and source.name not in names:
            (target / source.name).symlink_to(source)
    (target / "openapi.json").symlink_to(SCHEMAS / "openapi.json")
    return target


def test_session_tests_pass_on_the_conforming_mock_and_skip_without_their_api(tmp_path: Path) -> None:
    run = run_suite(tmp_path / "full", "-k", "test_sessions")
    outcomes = {r["test"]: r["outcome"] for r in run.records if r["test"].startswith(SESSION_TESTS)}
    assert len(outcomes) == 9, run.output
    assert set(outcomes.values()) == {"passed"}, run.output
    assert {f"{SESSION_TESTS}test_session_api_needs_no_auth[{name}]" for name in (
        "GetVersion", "LogInByAccount", "LogOut", "ValidateSession")} <= set(outcomes)

    schemas = _catalogue_without(tmp_path, "LogInByAccount", "GetVersion")
    run = run_suite(tmp_path / "partial", "-k", "test_sessions", "--zstack-schemas", str(schemas))
    records = {r["test"]: r for r in run.records if r["test"].startswith(SESSION_TESTS)}
    for test in ("test_login_inventory_shape", "test_login_with_wrong_password_refused", "test_get_version"):
        record = records[SESSION_TESTS + test]
        assert record["outcome"] == "skipped"
        assert "has no" in record["message"]
    assert not [t for t in records if "needs_no_auth[LogInByAccount]" in t or "needs_no_auth[GetVersion]" in t]
    assert records[SESSION_TESTS + "test_validate_session"]["outcome"] == "passed"


class _RefusingTarget:
    """A node whose further logins give no usable session (the first one, the run's, worked)."""

    can_login = True

    def new_session(self) -> None:
        raise TargetError("login as 'admin' at http://node was refused: HTTP 200 {\"inventory\": {}}")


def test_no_second_session_skips_the_check_without_ending_the_run() -> None:
    with pytest.raises(pytest.skip.Exception) as info:
        own_session(_RefusingTarget())  # type: ignore[arg-type]
    assert "cannot set up" in str(info.value)
    # Not chained to the node error: the plugin would otherwise end the whole run NOT RUN (settle_target_error).
    assert target_error(info.value) is None


def test_a_check_that_ended_before_its_judge_is_filed_under_its_api() -> None:
    """Skips and errors of tests whose API parameter is not named ``api`` still count under that API."""
    family = types.SimpleNamespace(args=(Family.SESSIONS,))  # the module's pytest.mark.zstack_family
    item = types.SimpleNamespace(
        nodeid="t[LogOut]",
        callspec=types.SimpleNamespace(params={"no_auth_api": CATALOG["LogOut"]}),
        get_closest_marker=lambda name: family if name == "zstack_family" else None,
    )
    report = types.SimpleNamespace(skipped=True, failed=False, longrepr="needs --zstack-account")
    record = record_without_judge(item, report)  # type: ignore[arg-type]
    assert (record.api, record.family, record.outcome) == ("LogOut", "sessions", "skipped")
