"""A valid request is answered 200 with a body that passes the derived schemas."""

from __future__ import annotations

import pytest

from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Family
from zstack_contract.generation import expectations as table
from zstack_contract.pytest.exercise import send
from zstack_contract.pytest.judge import Judge
from zstack_contract.pytest.plugin import positive_or_skip
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.target import Target

pytestmark = pytest.mark.zstack_family(Family.SHAPE)


def test_valid_request_answered_with_documented_shape(
    api: ApiContract, zstack: Target, zstack_settings: Settings, judge: Judge
) -> None:

    positive = positive_or_skip(api, zstack_settings)
    exchange = send(zstack, api, query=positive.query(), path_values=positive.path)
    expectation = table.positive_call()
    judge(
        api,
        "shape",
        "positive-call",
        check_exchange(api, "positive-call", exchange, expectation),
        [exchange],
        rule="response.shape",
    )
