"""Requests without a valid session are refused, with no data, the way ZStack refuses them."""

from __future__ import annotations

import uuid

import pytest

from zstack_contract.cases import RequestCase
from zstack_contract.checks import Expectation, Outcome, check_exchange, finding
from zstack_contract.client import LOGIN_PATH, Auth, sha512_hex
from zstack_contract.contract import ApiContract
from zstack_contract.judge import Judge
from zstack_contract.secret import Secret
from zstack_contract.stash import CATALOG
from zstack_contract.target import Target
from zstack_contract.validation import parse_json


def _auth(case: RequestCase, zstack: Target) -> Auth | Secret:
    if case.auth == "none":
        return Auth.NONE
    if case.auth == "scheme":
        return Auth.WRONG_SCHEME
    if case.auth == "unknown-session":
        return Auth.UNKNOWN_SESSION
    if case.auth == "logged-out":
        if not zstack.can_login:
            pytest.skip(
                "needs --zstack-account/--zstack-password: the suite logs out a session of its own, "
                "never the one given with --zstack-session"
            )
        session = zstack.new_session()
        logout = zstack.client.logout(session)
        assert logout.status == 200, f"logout of the suite's own session failed:\n{logout.describe()}"
        return session
    raise AssertionError(f"unknown auth mode {case.auth!r}")


def test_request_without_valid_session_refused(
    api: ApiContract, auth_case: RequestCase, zstack: Target, judge: Judge
) -> None:
    exchange = zstack.client.send(api.spec.method, api.spec.path, query=auth_case.query, auth=_auth(auth_case, zstack))
    findings = check_exchange(api, f"auth:{auth_case.id}", exchange, auth_case.expectation)
    judge(api, "auth", auth_case.id, findings, [exchange], rule=f"auth.{auth_case.id}")


def test_login_with_wrong_password_refused(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    # Login is a sibling API, not a documented page; any page's error schema describes its failure envelope.
    api = pytestconfig.stash[CATALOG][0]
    if zstack.account is None:
        pytest.skip("needs --zstack-account to try a wrong password for it")
    wrong = sha512_hex(f"zstack-contract-wrong-{uuid.uuid4().hex}")
    exchange = zstack.client.send(
        "PUT",
        LOGIN_PATH,
        auth=Auth.NONE,
        json_body={"logInByAccount": {"accountName": zstack.account, "password": wrong}},
    )
    expectation = Expectation(
        Outcome.REFUSED,
        should_status=503,
        should_code="ID.1000",
        basis="protocol notes §2 'Login': wrong credentials → HTTP 503 ID.1000",
    )
    findings = [
        f
        for f in check_exchange(api, "auth:wrong-password", exchange, expectation)
        if not f.rule.startswith("response.")
    ]  # the login reply is not this API's response
    is_json, body = parse_json(exchange.text)
    if is_json and isinstance(body, dict) and "inventory" in body:
        findings.append(
            finding(
                api.name,
                "auth:wrong-password",
                "request.refused",
                "$.inventory",
                "no session inventory",
                "a session was issued",
            )
        )
    judge(api, "auth", "wrong-password", findings, [exchange], rule="auth.wrong-password")
