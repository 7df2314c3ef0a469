"""The wire oracle against expectations written out literally (not computed by the oracle's own code)."""

from __future__ import annotations

import pytest

from tests.selftest.conftest import SCHEMAS
from tests.selftest.jvm_vectors import JvmVector, vector_params
from zstack_contract.engine.oracle import expectation_for, java_double_int_value
from zstack_contract.generation.expectations import Outcome
from zstack_contract.specs.contract import load_contract

API = load_contract(SCHEMAS / "GetDatabaseBackupFromImageStore")
URL = ("url", "sftp://s.invalid/x")
VALID = (Outcome.SUCCESS_OR_API_ERROR, None, None, None, None)
ANY = (Outcome.ANY, None, None, None, None)
SHOULD_ACCEPT = (Outcome.ANY, None, None, None, None)
INVALID = (Outcome.REFUSED, 503, "SYS.1007", None, None)
NON_NUMERIC = (Outcome.REFUSED, None, None, 503, "SYS.1007")
DUPLICATE = (Outcome.REFUSED, 400, None, None, None)


@pytest.mark.parametrize(
    ("pairs", "expected", "should_succeed"),
    [
        pytest.param([URL], VALID, False, id="valid"),
        pytest.param([URL, ("registryPort", "8000")], VALID, False, id="valid-port"),
        pytest.param([URL, ("systemTags.0", "a"), ("systemTags.1", "b")], SHOULD_ACCEPT, True, id="indexed-list"),
        pytest.param([URL, ("systemTags", "a"), ("systemTags", "b")], VALID, False, id="repeated-list"),
        pytest.param([URL, ("unknown", "1")], SHOULD_ACCEPT, True, id="unknown-ignored"),
        pytest.param([], INVALID, False, id="missing-url"),
        pytest.param([("url", "")], INVALID, False, id="empty-url"),
        pytest.param([("url", "  ")], ANY, False, id="blank-url-unspecified"),
        pytest.param([URL, ("registryPort", "0")], INVALID, False, id="below-range"),
        pytest.param([URL, ("registryPort", "65536")], INVALID, False, id="above-range"),
        pytest.param([URL, ("registryPort", "99999999999")], INVALID, False, id="beyond-int-range"),
        pytest.param([URL, ("registryPort", "abc")], NON_NUMERIC, False, id="non-numeric"),
        pytest.param([URL, ("registryPort", "")], NON_NUMERIC, False, id="empty-number"),
        pytest.param([URL, ("registryPort", "\u0668\u0660\u0660\u0660")], NON_NUMERIC, False, id="arabic-indic"),
        pytest.param([URL, ("registryPort", "\uff18\uff10\uff10\uff10")], NON_NUMERIC, False, id="full-width"),
        pytest.param([URL, ("registryPort", "\u00a08000")], NON_NUMERIC, False, id="no-break-space"),
        pytest.param([URL, ("registryPort", "8000.9")], ANY, False, id="decimal-truncated"),
        pytest.param([URL, ("registryPort", "8e3")], ANY, False, id="exponent"),
        pytest.param([URL, ("registryPort", " 8000 ")], ANY, False, id="java-trimmed"),
        pytest.param([URL, ("registryPort", "NaN")], NON_NUMERIC, False, id="nan-is-zero-below-range"),
        pytest.param([URL, ("registryPort", "1e400")], NON_NUMERIC, False, id="infinity-above-range"),
        pytest.param([URL, ("registryPort", "1"), ("registryPort", "2")], DUPLICATE, False, id="duplicate-scalar"),
        pytest.param([URL, URL], DUPLICATE, False, id="duplicate-url"),
        pytest.param([URL, URL, ("registryPort", "abc")], DUPLICATE, False, id="duplicate-before-validation"),
        pytest.param([("url", "  "), ("registryPort", "0")], INVALID, False, id="range-after-blank"),
        # Found by generation (registryPort=null&url=): conversion fails before validation runs.
        pytest.param([("url", ""), ("registryPort", "null")], NON_NUMERIC, False, id="conversion-before-empty"),
        pytest.param([("registryPort", "abc")], NON_NUMERIC, False, id="conversion-before-missing"),
    ],
)
def test_expectation_for_wire_query(
    pairs: list[tuple[str, str]],
    expected: tuple[Outcome, int | None, str | None, int | None, str | None],
    should_succeed: bool,
) -> None:
    e = expectation_for(API, pairs)
    assert (e.must, e.must_status, e.must_code, e.should_status, e.should_code) == expected
    assert e.should_succeed is should_succeed
    assert e.basis


def test_duplicate_names_the_parameter_in_the_expected_text() -> None:
    e = expectation_for(API, [URL, ("registryPort", "1"), ("registryPort", "2")])
    assert e.should_text == (
        "Invalid query parameter[registryPort], only one value is allowed for the parameter but multiple values found"
    )


@pytest.mark.parametrize("vector", vector_params())
def test_oracle_parses_numbers_like_the_jvm(vector: JvmVector) -> None:
    assert java_double_int_value(vector.input) == vector.int_value


@pytest.mark.parametrize("vector", vector_params())
def test_oracle_expectation_follows_the_jvm_vectors(vector: JvmVector) -> None:
    """A rejected form is refused (must) with 503 SYS.1007 as should only (ZStack itself answers 500)."""
    e = expectation_for(API, [URL, ("registryPort", vector.input)])
    if not vector.accepted:
        assert (e.must, e.must_status, e.must_code, e.should_status, e.should_code) == NON_NUMERIC
    else:
        assert vector.int_value is not None
        if not 1 <= vector.int_value <= 65535:
            assert e.must is Outcome.REFUSED
            assert e.should_code == "SYS.1007" or e.must_code == "SYS.1007"
        else:
            assert e.must in (Outcome.ANY, Outcome.SUCCESS_OR_API_ERROR)
