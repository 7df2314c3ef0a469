"""Requests without a valid session are refused, with no data, the way ZStack refuses them."""

from __future__ import annotations

import pytest

from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Family
from zstack_contract.generation.cases import AuthMode, RequestCase, positive_values
from zstack_contract.pytest.exercise import own_session, send
from zstack_contract.pytest.judge import Judge
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Auth
from zstack_contract.transport.secret import Secret
from zstack_contract.transport.target import Target, positive_defaults

pytestmark = pytest.mark.zstack_family(Family.AUTH)


def _auth(case: RequestCase, zstack: Target) -> Auth | Secret:
    if case.auth is AuthMode.NONE:
        return Auth.NONE
    if case.auth is AuthMode.WRONG_SCHEME:
        return Auth.WRONG_SCHEME
    if case.auth is AuthMode.UNKNOWN_SESSION:
        return Auth.UNKNOWN_SESSION
    if case.auth is AuthMode.LOGGED_OUT:
        session = own_session(zstack)
        logout = zstack.client.logout(session)
        if logout.status != 200:
            pytest.fail(
                f"cannot run session-after-logout: logout of the suite's own session answered HTTP {logout.status}:\n"
                f"{logout.describe()}",
                pytrace=False,
            )
        return session
    raise AssertionError(f"unknown auth mode {case.auth!r}")


def test_request_without_valid_session_refused(
    api: ApiContract, auth_case: RequestCase, zstack: Target, zstack_settings: Settings, judge: Judge
) -> None:

    path_values = positive_values(api, positive_defaults(zstack_settings)).path
    exchange = send(zstack, api, query=auth_case.query, path_values=path_values, auth=_auth(auth_case, zstack))
    findings = check_exchange(api, f"auth:{auth_case.id}", exchange, auth_case.expectation)
    judge(api, "auth", auth_case.id, findings, [exchange], rule=f"auth.{auth_case.id}")

