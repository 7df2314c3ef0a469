"""Each parameter rule the spec implies (missing, empty, out of range, list encodings, duplicates, unknown)."""

from __future__ import annotations

from zstack_contract.cases import RequestCase
from zstack_contract.checks import check_exchange
from zstack_contract.contract import ApiContract
from zstack_contract.judge import Judge
from zstack_contract.target import Target


def test_parameter_rule(api: ApiContract, param_case: RequestCase, zstack: Target, judge: Judge) -> None:
    exchange = zstack.client.send(
        api.spec.method, api.spec.path, query=param_case.query
    )
    findings = check_exchange(api, f"param:{param_case.id}", exchange, param_case.expectation)
    judge(api, "parameters", param_case.id, findings, [exchange], rule=f"param.{param_case.id}")
