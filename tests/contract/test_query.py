"""ZStack's Query API contract (protocol notes §6), for every Query API of the catalogue, with no per-API code.

A first listing (``GET <path>``, fetched once per API and run) supplies the fields and values: each q operator
gets one example on a field that suits it, and the metamorphic properties draw their limits, pages, conditions,
fields and sort keys from it with hypothesis. What an answer must be is computed from the listing under SQL's
semantics (:mod:`zstack_contract.engine.query`); the relations themselves are plain functions
(:mod:`zstack_contract.engine.query_relations`), unit-tested in ``tests/selftest/test_query_relations.py``.

Wrong counts, pages, filters and orders are must (clients page and filter with these answers); the exact texts
of the two refusals are should. The body's shape is the shape test's job, so it is not judged here again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zstack_contract.engine.findings import Family, Finding
from zstack_contract.engine.query import (
    DEFAULT_LIMIT,
    Op,
    choose_operator_case,
    condition,
    count_conditions,
    expected_selection,
    field_choices,
    fields_param,
    filter_cases,
    item_schema,
    limits,
    page_sizes,
    paging_params,
    short_form_path,
    sort_cases,
    sort_param,
    spread,
)
from zstack_contract.engine.query_relations import (
    answer_findings,
    condition_without_operator,
    count_findings,
    fields_findings,
    filter_findings,
    limit_findings,
    non_integer_limit,
    paging_findings,
    refusal_findings,
    reply_with_count_findings,
    short_form_findings,
    sort_findings,
    uuid_findings,
)
from zstack_contract.pytest.exercise import skip_if_not_served
from zstack_contract.pytest.judge import Judge
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.target import Target

pytestmark = pytest.mark.zstack_family(Family.QUERY)


FAMILY = Family.QUERY
Item = dict[str, Any]


def query(zstack: Target, api: ApiContract, params: list[tuple[str, str]], path: str | None = None) -> Exchange:
    """Every request of this module goes out here: GET on the API's path (or its short form) with ``params``."""
    skip_if_not_served(zstack, api)
    return zstack.client.send("GET", path or api.spec.path, query=params)


@dataclass(frozen=True)
class Listing:
    """The first listing of one Query API: its exchange, what was wrong with it, and its items."""

    exchange: Exchange
    findings: list[Finding]
    items: list[Item] | None  # None: the listing could not be read, so nothing can be drawn from it


@pytest.fixture(scope="session")
def query_listings() -> dict[str, Listing]:
    """One listing per API and process: every test of an API draws from the same items."""
    return {}


@pytest.fixture
def listing(query_api: ApiContract, zstack: Target, query_listings: dict[str, Listing]) -> Listing:
    if query_api.name not in query_listings:
        exchange = query(zstack, query_api, [])
        findings, answer = answer_findings(query_api, "query-listing", exchange, "response.shape")
        items = answer.items if answer is not None else None
        query_listings[query_api.name] = Listing(exchange, findings, items)
    return query_listings[query_api.name]


def listed_items(api: ApiContract, listing: Listing, judge: Judge, *, whole: bool = False) -> list[Item]:
    """The listing's items; a listing that failed fails the test with its findings, an empty one skips it.

    ``whole``: the test compares with every item, so a listing ZStack may have cut at its default page size
    cannot serve.
    """
    if listing.findings:
        judge.collect(api, FAMILY, "query-listing", listing.findings, listing.exchange)
    if listing.items is None:
        pytest.skip(f"{api.name}: the first listing could not be read: nothing to draw fields and values from")
    if not listing.items:
        pytest.skip(f"{api.name}: the listing is empty: no items to draw fields and values from")
    if whole and len(listing.items) >= DEFAULT_LIMIT:
        pytest.skip(
            f"{api.name}: the listing has {len(listing.items)} items, ZStack's default page size: it may be cut "
            "short, so it cannot stand for the whole"
        )
    return listing.items


# ---------------------------------------------------------------------------------------------------------
# Example tests


@pytest.mark.parametrize("op", list(Op), ids=[op.value for op in Op])
def test_query_operator(query_api: ApiContract, op: Op, zstack: Target, judge: Judge, listing: Listing) -> None:
    """One example per q operator, on a field and value of the first listing that suit it."""
    case_id = f"query-op-{op.value}"
    if listing.findings:
        judge(query_api, FAMILY, case_id, listing.findings, [listing.exchange], rule="query.filter")
    chosen = choose_operator_case(listing.items or [], item_schema(query_api.response_schema), op)
    if isinstance(chosen, str):
        pytest.skip(f"{query_api.name}: {chosen}")
    assert listing.items is not None
    exchange = query(zstack, query_api, [("q", chosen.condition)])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.filter")
    if answer is not None and answer.items is not None:
        expected = expected_selection(listing.items, chosen.field, chosen.kind, op, chosen.value)
        findings += filter_findings(
            query_api.name,
            case_id,
            chosen.condition,
            chosen.field,
            chosen.kind,
            op,
            chosen.value,
            expected,
            answer.items,
        )
    judge(query_api, FAMILY, case_id, findings, [exchange], rule="query.filter")


def test_query_non_integer_limit(query_api: ApiContract, zstack: Target, judge: Judge) -> None:
    case_id = "query-non-integer-limit"
    exchange = query(zstack, query_api, [("limit", "abc")])
    findings = refusal_findings(query_api, case_id, exchange, non_integer_limit())
    judge(query_api, FAMILY, case_id, findings, [exchange], rule="request.refusal-class")


def test_query_condition_without_operator(query_api: ApiContract, zstack: Target, judge: Judge) -> None:
    case_id = "query-condition-without-operator"
    cond = "uuid"  # a field name alone: none of the operators is in it
    exchange = query(zstack, query_api, [("q", cond)])
    findings = refusal_findings(query_api, case_id, exchange, condition_without_operator(cond))
    judge(query_api, FAMILY, case_id, findings, [exchange], rule="request.refusal-class")


# ---------------------------------------------------------------------------------------------------------
# Metamorphic properties, on values drawn from the listing


def draw(data: st.DataObject, cases: list[Any], label: str) -> Any:
    """One of a few cases taken from the listing: hypothesis tries each once and then stops."""
    return data.draw(st.sampled_from(cases), label=label)


@given(data=st.data())
def test_query_limit(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:
    """limit=N answers at most N inventories (N below the listing's length, so an ignored limit shows)."""
    items = listed_items(query_api, listing, judge)
    limit = draw(data, limits(len(items)), "limit")
    case_id = "query-limit"
    exchange = query(zstack, query_api, [("limit", str(limit))])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.limit")
    if answer is not None and answer.items is not None:
        findings += limit_findings(query_api.name, case_id, limit, answer.items)
    judge.collect(query_api, FAMILY, case_id, findings, exchange)


@given(data=st.data())
def test_query_paging(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:
    """start/limit pages of the listing sorted by uuid are disjoint, in order, and together the whole."""
    items = listed_items(query_api, listing, judge, whole=True)
    limit = draw(data, page_sizes(len(items)), "page size")
    case_id = "query-paging"
    order = [sort_param("uuid", descending=False)]
    whole_exchange = query(zstack, query_api, order)
    findings, whole = answer_findings(query_api, case_id, whole_exchange, "query.paging")
    if whole is None or whole.items is None:
        judge.collect(query_api, FAMILY, case_id, findings, whole_exchange)
        return
    pages: list[tuple[int, list[Item]]] = []
    exchanges: dict[int, Exchange] = {}
    # Up to and including the first start past the end, which must answer no item.
    for start in range(0, len(whole.items) + limit, limit):
        exchange = exchanges[start] = query(zstack, query_api, [*order, *paging_params(start, limit)])
        page_findings, page = answer_findings(query_api, case_id, exchange, "query.paging")
        if page is None or page.items is None:
            judge.collect(query_api, FAMILY, case_id, page_findings, exchange)
            return
        pages.append((start, page.items))
    findings = paging_findings(query_api.name, case_id, whole.items, pages, limit)
    shown = next((ex for s, ex in exchanges.items() for f in findings if f"start={s}&" in f.note), whole_exchange)
    judge.collect(query_api, FAMILY, case_id, findings, shown)


@given(data=st.data())
def test_query_count(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:
    """count=true answers the listing's length as total; replyWithCount=true the same inventories plus total.

    Drawn: no condition, or q=f=v on a value of the listing (then the total is that of the selected items).
    """
    items = listed_items(query_api, listing, judge, whole=True)
    conditions = count_conditions(items, item_schema(query_api.response_schema))
    drawn = draw(data, [None, *conditions], "condition")
    where, expected = ([], items) if drawn is None else ([("q", drawn[0])], drawn[1])
    case_id = "query-count"
    exchange = query(zstack, query_api, [*where, ("count", "true")])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.count", need_items=False)
    if answer is not None:
        findings += count_findings(query_api.name, case_id, expected, answer)
    if findings:
        judge.collect(query_api, FAMILY, case_id, findings, exchange)
        return
    exchange = query(zstack, query_api, [*where, ("replyWithCount", "true")])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.count", need_items=False)
    if answer is not None:
        findings += reply_with_count_findings(query_api.name, case_id, expected, answer)
    judge.collect(query_api, FAMILY, case_id, findings, exchange)


@given(data=st.data())
def test_query_filter(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:
    """q=f=v answers only (and every) item with f=v; q=f!=v the complement among the items that have f."""
    items = listed_items(query_api, listing, judge)
    cases = filter_cases(items, item_schema(query_api.response_schema))
    if not cases:
        pytest.skip(f"{query_api.name}: no documented scalar field with a value a condition can carry as it is")
    profile, value = draw(data, cases, "field and value")
    case_id = "query-filter"
    for op in (Op.EQ, Op.NE):
        cond = condition(profile.name, op, value)
        exchange = query(zstack, query_api, [("q", cond)])
        findings, answer = answer_findings(query_api, case_id, exchange, "query.filter")
        if answer is not None and answer.items is not None:
            expected = expected_selection(items, profile.name, profile.kind, op, value)
            findings += filter_findings(
                query_api.name, case_id, cond, profile.name, profile.kind, op, value, expected, answer.items
            )
        judge.collect(query_api, FAMILY, case_id, findings, exchange)


@given(data=st.data())
def test_query_uuid(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:
    """q=uuid=X and the short form GET <path>/X both answer exactly the item X."""
    uuids = [i["uuid"] for i in listed_items(query_api, listing, judge) if isinstance(i.get("uuid"), str) and i["uuid"]]
    if not uuids:
        pytest.skip(f"{query_api.name}: no item of the listing has a uuid")
    uuid = draw(data, spread(uuids), "uuid")
    case_id = "query-uuid"
    how = f"q=uuid={uuid}"
    exchange = query(zstack, query_api, [("q", condition("uuid", Op.EQ, uuid))])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.uuid")
    if answer is not None and answer.items is not None:
        findings += uuid_findings(query_api.name, case_id, uuid, answer.items, how)
    judge.collect(query_api, FAMILY, case_id, findings, exchange)
    path, source = short_form_path(query_api.spec.path, query_api.spec.alternate_paths, uuid)
    how = f"the short form GET {path} ({source})"
    exchange = query(zstack, query_api, [], path=path)
    findings, answer = short_form_findings(query_api, case_id, uuid, exchange, how)
    if answer is not None and answer.items is not None:
        findings += uuid_findings(query_api.name, case_id, uuid, answer.items, how)
    judge.collect(query_api, FAMILY, case_id, findings, exchange)


@given(data=st.data())
def test_query_fields(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:
    """fields=a,b answers the listing's items with no keys other than a and b."""
    items = listed_items(query_api, listing, judge, whole=True)
    choices = field_choices(items, item_schema(query_api.response_schema))
    if not choices:
        pytest.skip(f"{query_api.name}: the listing has no documented scalar field to choose")
    chosen = list(draw(data, choices, "fields"))
    case_id = "query-fields"
    exchange = query(zstack, query_api, [fields_param(chosen)])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.fields")
    if answer is not None and answer.items is not None:
        findings += fields_findings(query_api.name, case_id, chosen, answer.items, items)
    judge.collect(query_api, FAMILY, case_id, findings, exchange)


@given(data=st.data())
def test_query_sort(
    query_api: ApiContract, zstack: Target, judge: Judge, listing: Listing, data: st.DataObject
) -> None:

    """sort=+f answers items in ascending order of f, sort=-f in descending order (as the database orders)."""
    cases = sort_cases(listed_items(query_api, listing, judge), item_schema(query_api.response_schema))
    if not cases:
        pytest.skip(
            f"{query_api.name}: no documented field with two values or more that every database orders alike "
            "(numbers, dates, strings of ASCII letters and digits)"
        )
    profile, descending = draw(data, cases, "field and direction")
    case_id = "query-sort"
    exchange = query(zstack, query_api, [sort_param(profile.name, descending)])
    findings, answer = answer_findings(query_api, case_id, exchange, "query.sort")
    if answer is not None and answer.items is not None:
        findings += sort_findings(query_api.name, case_id, profile.name, profile.kind, descending, answer.items)
    judge.collect(query_api, FAMILY, case_id, findings, exchange)
