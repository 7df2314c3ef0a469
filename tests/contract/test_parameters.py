"""Each parameter rule the spec implies (missing, empty, out of range, list encodings, duplicates, unknown)."""

from __future__ import annotations

from zstack_contract.cases import RequestCase, positive_values
from zstack_contract.checks import check_exchange
from zstack_contract.contract import ApiContract
from zstack_contract.exercise import send
from zstack_contract.judge import Judge
from zstack_contract.settings import Settings
from zstack_contract.target import Target, positive_defaults


def test_parameter_rule(
    api: ApiContract, param_case: RequestCase, zstack: Target, zstack_settings: Settings, judge: Judge
) -> None:
    path_values = positive_values(api, positive_defaults(zstack_settings)).path
    exchange = send(zstack, api, query=param_case.query, path_values=path_values)
    findings = check_exchange(api, f"param:{param_case.id}", exchange, param_case.expectation)
    judge(api, "parameters", param_case.id, findings, [exchange], rule=f"param.{param_case.id}")
