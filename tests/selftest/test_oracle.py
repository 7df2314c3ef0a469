from __future__ import annotations

import pytest

from tests.selftest.conftest import SCHEMAS
from zstack_contract.checks import Outcome
from zstack_contract.contract import load_contract
from zstack_contract.oracle import expectation_for

API = load_contract(SCHEMAS / "GetDatabaseBackupFromImageStore")
URL = ("url", "sftp://s.invalid/x")


@pytest.mark.parametrize(
    ("pairs", "must", "should_status"),
    [
        pytest.param([URL], Outcome.SUCCESS_OR_API_ERROR, None, id="valid"),
        pytest.param([URL, ("registryPort", "8000")], Outcome.SUCCESS_OR_API_ERROR, None, id="valid-port"),
        pytest.param(
            [URL, ("systemTags.0", "a"), ("systemTags.1", "b")], Outcome.SUCCESS_OR_API_ERROR, None, id="indexed-list"
        ),
        pytest.param(
            [URL, ("systemTags", "a"), ("systemTags", "b")], Outcome.SUCCESS_OR_API_ERROR, None, id="repeated-list"
        ),
        pytest.param([URL, ("unknown", "1")], Outcome.SUCCESS_OR_API_ERROR, None, id="unknown-ignored"),
        pytest.param([], Outcome.REFUSED, 503, id="missing-url"),
        pytest.param([("url", "")], Outcome.REFUSED, 503, id="empty-url"),
        pytest.param([("url", "  ")], Outcome.ANY, None, id="blank-url-unspecified"),
        pytest.param([URL, ("registryPort", "0")], Outcome.REFUSED, 503, id="below-range"),
        pytest.param([URL, ("registryPort", "65536")], Outcome.REFUSED, 503, id="above-range"),
        pytest.param([URL, ("registryPort", "abc")], Outcome.REFUSED, 503, id="non-numeric"),
        pytest.param([URL, ("registryPort", "")], Outcome.REFUSED, 503, id="empty-number"),
        pytest.param([URL, ("registryPort", "8000.9")], Outcome.ANY, None, id="decimal-truncated"),
        pytest.param([URL, ("registryPort", "8e3")], Outcome.ANY, None, id="exponent"),
        pytest.param([URL, ("registryPort", "1"), ("registryPort", "2")], Outcome.ANY, 400, id="duplicate-scalar"),
        pytest.param([URL, URL], Outcome.ANY, 400, id="duplicate-url"),
    ],
)
def test_expectation_for_wire_query(pairs: list[tuple[str, str]], must: Outcome, should_status: int | None) -> None:
    expectation = expectation_for(API, pairs)
    assert (expectation.must, expectation.should_status) == (must, should_status)
    assert expectation.basis
