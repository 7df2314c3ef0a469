"""The generic tests over the family's read APIs: positive values, parameter cases and the generated tests'
expectations follow each API's wire (message fields, or the Query engine of protocol notes §6)."""

from __future__ import annotations

import pytest

from tests.selftest.conftest import SCHEMAS
from zstack_contract.engine.findings import Finding, Level
from zstack_contract.generation.cases import documented_flags, parameter_cases, positive_values
from zstack_contract.generation.expectations import Outcome
from zstack_contract.pytest.generated import _absent, query_expectation, reshaping_query
from zstack_contract.specs.contract import load_catalog

CATALOG = {api.name: api for api in load_catalog(SCHEMAS)}


def test_positive_calls_send_the_flags_the_page_example_sets() -> None:
    # GetBackupStorageCapacity needs zoneUuids, backupStorageUuids or all=true; its example sends all=true.
    assert documented_flags(CATALOG["GetBackupStorageCapacity"]) == {"all": "true"}
    assert positive_values(CATALOG["GetBackupStorageCapacity"], {}).values == {"all": "true"}
    assert positive_values(CATALOG["GetBackupStorageCapacity"], {"all": "false"}).values == {"all": "false"}
    # Only booleans: the example's registryPort=1 illustrates, it is not a port that works anywhere.
    assert documented_flags(CATALOG["GetDatabaseBackupFromImageStore"]) == {}


def test_session_path_parameter_is_the_suites_to_fill() -> None:
    positive = positive_values(CATALOG["ValidateSession"], {})
    assert positive.missing == ()
    assert positive.values == {}
    assert positive.path == {}


@pytest.mark.parametrize("name", ["QueryZone", "QueryBackupStorage", "QueryDatabaseBackup"])
def test_query_apis_get_only_the_rule_both_readers_share(name: str) -> None:
    api = CATALOG[name]
    cases = parameter_cases(api, positive_values(api, {}))
    assert [c.id for c in cases] == ["unknown-parameter-ignored"]


@pytest.mark.parametrize(
    ("query", "short_form", "outcome", "status"),
    [
        pytest.param([], False, Outcome.SUCCESS_OR_API_ERROR, None, id="plain-listing"),
        pytest.param([("limit", "3"), ("start", "0")], False, Outcome.SUCCESS_OR_API_ERROR, None, id="paging"),
        pytest.param([("q", "")], False, Outcome.REFUSED, 400, id="empty-condition"),
        pytest.param([("q", "name")], False, Outcome.REFUSED, 400, id="condition-without-operator"),
        pytest.param([("limit", "abc")], False, Outcome.REFUSED, 400, id="limit-not-a-number"),
        pytest.param([("start", "x")], False, Outcome.REFUSED, 400, id="start-not-a-number"),
        pytest.param([("q", "name=a")], False, Outcome.ANY, None, id="condition-on-a-generated-field"),
        pytest.param([("limit", "1.5")], False, Outcome.ANY, None, id="limit-not-strictly-an-integer"),
        pytest.param([("limit", "-1")], False, Outcome.ANY, None, id="negative-limit"),
        pytest.param([("sort", "+x")], False, Outcome.ANY, None, id="sort-by-a-generated-field"),
        pytest.param([("q", ""), ("start", "null")], True, Outcome.SUCCESS_OR_API_ERROR, None, id="short-form"),
    ],
)
def test_generated_query_expectations(
    query: list[tuple[str, str]], short_form: bool, outcome: Outcome, status: int | None
) -> None:
    expectation = query_expectation(query, short_form=short_form)
    assert expectation.must is outcome
    assert expectation.must_status == status


def test_count_and_fields_answers_may_leave_out_what_a_listing_carries() -> None:
    assert reshaping_query([("count", "TRUE")])
    assert reshaping_query([("fields", "uuid")])
    assert not reshaping_query([("count", "false"), ("fields", "")])
    absent = Finding(
        "QueryZone",
        "response.shape",
        Level.MUST,
        "$.inventories",
        "present",
        "'inventories' absent (keys present: ['total'])",
    )
    wrong_type = Finding("QueryZone", "response.shape", Level.MUST, "$.total", "integer", "'x' (string)")
    assert _absent(absent)
    assert not _absent(wrong_type)
