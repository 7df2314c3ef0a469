"""The session and version APIs as contract subjects: login, logout, ValidateSession and GetVersion.

Each test judges under the API's own contract from the catalogue (``--zstack-schemas``); a catalogue without the
API skips its test, saying so. Only sessions of the suite's own are ever logged out, never the one given with
``--zstack-session``; every call here is one the client's read-only allow-list lets through.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from zstack_contract.engine.checks import check_exchange, finding, is_not_served
from zstack_contract.engine.findings import Family, Finding
from zstack_contract.generation import expectations as table
from zstack_contract.pytest import exercise
from zstack_contract.pytest.exercise import Mode, mode, own_session, send
from zstack_contract.pytest.judge import Judge
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import LOGIN_PATH, Auth, Exchange, sha512_hex
from zstack_contract.transport.safejson import excerpt
from zstack_contract.transport.target import Target

pytestmark = pytest.mark.zstack_family(Family.SESSIONS)


FAMILY = "sessions"
LOGIN_BASIS = "protocol notes §2 'Login' [V]: HTTP 200 {inventory: {uuid, accountUuid, ...}}"
NO_AUTH_BASIS = (
    "protocol notes §2 [V]: login, logout, ValidateSession and GetVersion are @SuppressCredentialCheck "
    "(no Authorization header needed)"
)
VALIDATE_BASIS = "protocol notes §2 'Other session APIs' [V]: ValidateSession answers 200 {valid: true|false}"
MISSING_ACCOUNT_BASIS = (
    "protocol notes §1 'Parameter validation' [V]: accountName is mandatory, so its absence is argerr → HTTP 503 "
    "SYS.1007 (not a credential check)"
)



def catalogue_api(config: pytest.Config, name: str) -> ApiContract:
    return exercise.catalogue_api(config, name, "its session test does not run")


def random_password_hash() -> str:
    """A SHA-512 hex no account has: never a credential of the run."""
    return sha512_hex(f"zstack-contract-wrong-{uuid.uuid4().hex}")


def _body(exchange: Exchange) -> dict[str, Any] | None:
    is_json, body = exchange.parsed
    return body if is_json and isinstance(body, dict) else None


def session_uuid_findings(api: ApiContract, case: str, exchange: Exchange, known: list[Finding]) -> list[Finding]:
    """A 200 login must carry the session uuid: it is the token of every later call."""
    body = _body(exchange)
    shown = any(f.rule == "response.shape" and f.path.startswith("$.inventory.uuid") for f in known)
    if exchange.status != 200 or body is None or shown:
        return []
    inventory = body.get("inventory")
    value = inventory.get("uuid") if isinstance(inventory, dict) else None
    if isinstance(value, str) and value:
        return []
    actual = "no inventory object" if not isinstance(inventory, dict) else f"uuid {excerpt(repr(value), 60)}"
    return [
        finding(
            api.name,
            case,
            "response.shape",
            "$.inventory.uuid",
            "the session uuid, a non-empty string (sent as 'Authorization: OAuth <uuid>' on later calls)",
            actual,
            LOGIN_BASIS,
        )
    ]


def validate_findings(api: ApiContract, case: str, exchange: Exchange, expected: bool) -> list[Finding]:
    """ValidateSession's answer for a session whose state the suite knows."""
    findings = check_exchange(api, case, exchange, table.positive_call(VALIDATE_BASIS))
    body = _body(exchange)
    got = body.get("valid") if body is not None else None
    if exchange.status == 200 and got is not expected and not is_not_served(exchange):
        state = "a live session" if expected else "a session logged out by the suite"
        findings.append(
            finding(
                api.name,
                case,
                "session.validate",
                "$.valid",
                f"{str(expected).lower()} for {state}",
                excerpt(repr(got), 60) if body is not None and "valid" in body else "no 'valid' field",
                VALIDATE_BASIS,
            )
        )
    return findings


def no_auth_findings(api: ApiContract, case: str, exchange: Exchange) -> list[Finding]:
    """Works without Authorization: a 200 with the API's shape; a refusal or other answer is session.no-auth."""
    findings = check_exchange(api, case, exchange, table.positive_call(NO_AUTH_BASIS))
    if exchange.status == 200 or is_not_served(exchange) or exchange.problem:
        return findings
    return [
        finding(
            api.name,
            case,
            "session.no-auth",
            "$",
            "HTTP 200 to a call without an Authorization header",
            f"HTTP {exchange.status}: {excerpt(exchange.text, 200)}",
            NO_AUTH_BASIS,
        )
    ]


def test_login_inventory_shape(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    api = catalogue_api(pytestconfig, "LogInByAccount")
    if not zstack.can_login:
        pytest.skip("needs --zstack-account/--zstack-password to log in")
    exchange, _ = zstack.login_exchange()
    findings = check_exchange(api, "login", exchange, table.positive_call(LOGIN_BASIS))
    findings += session_uuid_findings(api, "login", exchange, findings)
    judge(api, FAMILY, "login-inventory", findings, [exchange], rule="response.shape")


def test_login_with_wrong_password_refused(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    api = catalogue_api(pytestconfig, "LogInByAccount")
    if zstack.account is None:
        pytest.skip("needs --zstack-account to try a wrong password for it")
    body = {"logInByAccount": {"accountName": zstack.account, "password": random_password_hash()}}
    exchange = zstack.client.send("PUT", api.spec.path, auth=Auth.NONE, json_body=body)
    findings = check_exchange(api, "wrong-password", exchange, table.wrong_credentials())
    judge(api, FAMILY, "wrong-password", findings, [exchange], rule="request.refusal-class")


def test_login_without_account_name_refused(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    api = catalogue_api(pytestconfig, "LogInByAccount")
    body = {"logInByAccount": {"password": random_password_hash()}}
    exchange = zstack.client.send("PUT", api.spec.path, auth=Auth.NONE, json_body=body)
    findings = check_exchange(api, "missing-accountName", exchange, table.invalid_argument(MISSING_ACCOUNT_BASIS))
    judge(api, FAMILY, "missing-accountName", findings, [exchange], rule="request.refusal-class")


def test_validate_session(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    api = catalogue_api(pytestconfig, "ValidateSession")
    session = own_session(zstack)
    live = send(zstack, api, session=session)
    logout = zstack.client.logout(session)
    if logout.status != 200:
        pytest.fail(
            f"cannot check ValidateSession after logout: logout of the suite's own session answered "
            f"HTTP {logout.status}:\n{logout.describe()}",
            pytrace=False,
        )
    ended = send(zstack, api, session=session)
    findings = validate_findings(api, "live-session", live, True) + validate_findings(api, "after-logout", ended, False)
    judge(api, FAMILY, "validate-session", findings, [live, ended], rule="session.validate")


def _call_without_auth(zstack: Target, api: ApiContract) -> Exchange:
    """The API's own call with no Authorization header; a session it reads is a fresh one of the suite's own."""
    if mode(api) is Mode.READ:
        return send(zstack, api, auth=Auth.NONE, session=own_session(zstack))
    if api.spec.path == LOGIN_PATH:
        if not zstack.can_login:
            pytest.skip("needs --zstack-account/--zstack-password to log in")
        return zstack.login_exchange()[0]  # login never carries a session header
    if api.spec.method == "DELETE":
        return send(zstack, api, auth=Auth.NONE, session=own_session(zstack))
    key = api.spec.body_key
    if key is None:
        pytest.skip(f"{api.name}: the suite knows no read-only call of this API without a body key")
    return zstack.client.send(api.spec.method, api.spec.path, auth=Auth.NONE, json_body={key: {}})


def test_session_api_needs_no_auth(no_auth_api: ApiContract, zstack: Target, judge: Judge) -> None:
    exchange = _call_without_auth(zstack, no_auth_api)
    findings = no_auth_findings(no_auth_api, "no-authorization-header", exchange)
    judge(no_auth_api, FAMILY, "no-authorization-header", findings, [exchange], rule="session.no-auth")


def test_get_version(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    api = catalogue_api(pytestconfig, "GetVersion")
    key = api.spec.body_key or "getVersion"
    # With the run's session: whether it needs none is test_session_api_needs_no_auth's question.
    exchange = zstack.client.send(api.spec.method, api.spec.path, json_body={key: {}})
    findings = check_exchange(api, "get-version", exchange, table.positive_call("the page: a version string"))
    judge(api, FAMILY, "get-version", findings, [exchange], rule="response.shape")
