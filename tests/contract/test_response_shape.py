"""A valid request is answered 200 with a body that passes the derived schemas."""

from __future__ import annotations

from zstack_contract import expectations as table
from zstack_contract.checks import check_exchange
from zstack_contract.contract import ApiContract
from zstack_contract.exercise import send
from zstack_contract.judge import Judge
from zstack_contract.pytest_plugin import positive_or_skip
from zstack_contract.settings import Settings
from zstack_contract.target import Target


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
