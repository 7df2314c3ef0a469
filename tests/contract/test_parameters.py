"""Each parameter rule the spec implies (missing, empty, out of range, list encodings, duplicates, unknown)."""

from __future__ import annotations

import pytest

from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Family
from zstack_contract.generation.cases import RequestCase, positive_values
from zstack_contract.pytest.exercise import send
from zstack_contract.pytest.judge import Judge
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.target import Target, positive_defaults

pytestmark = pytest.mark.zstack_family(Family.PARAMETERS)


def test_parameter_rule(
    api: ApiContract, param_case: RequestCase, zstack: Target, zstack_settings: Settings, judge: Judge
) -> None:

    path_values = positive_values(api, positive_defaults(zstack_settings)).path
    exchange = send(zstack, api, query=param_case.query, path_values=path_values)
    findings = check_exchange(api, f"param:{param_case.id}", exchange, param_case.expectation)
    judge(api, "parameters", param_case.id, findings, [exchange], rule=f"param.{param_case.id}")
