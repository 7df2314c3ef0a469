"""The Query API's relations and wire vocabulary on crafted answers: each relation once holding, once broken."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.selftest.conftest import SCHEMAS
from zstack_contract.engine.findings import Level
from zstack_contract.engine.query import (
    NO_OPERATOR_TEXT,
    Answer,
    Kind,
    Op,
    choose_operator_case,
    condition,
    count_conditions,
    expected_selection,
    field_choices,
    filter_cases,
    limits,
    page_sizes,
    profile_fields,
    read_answer,
    reads_as_meant,
    selects,
    server_reading,
    short_form_path,
    sort_cases,
    spread,
    wire_value,
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
from zstack_contract.specs.contract import ApiContract, load_contract
from zstack_contract.specs.formats import parse_gson_date
from zstack_contract.transport.client import Exchange

API = "QueryThing"
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "size": {"type": "number"},
        "createDate": {"type": "string", "format": "zstack-gson-date"},
        "tags": {"type": "array"},
    },
}
LISTING: list[dict[str, Any]] = [
    {"uuid": "a1", "name": "alpha", "description": "first", "size": 10.0, "createDate": "Nov 14, 2017 10:20:57 PM"},
    {"uuid": "b2", "name": "beta", "size": 20.0, "createDate": "Nov 14, 2017 9:20:57 AM"},
    {"uuid": "c3", "name": "alpha", "description": "third", "size": 30.5, "createDate": "Jan 2, 2018 1:00:00 AM"},
    {"uuid": "d4", "name": "Gamma", "size": 20.0, "createDate": "Dec 31, 2016 11:59:59 PM", "tags": ["x"]},
]


def exchange(body: Any, status: int = 200) -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange("GET", "http://n/zstack/v1/things", "/zstack/v1/things", [], {}, None, status, {}, text, 0.0)


def only(findings: list[Any], rule: str) -> Any:
    assert len(findings) == 1, findings
    f = findings[0]
    assert f.rule == rule
    assert f.level is Level.MUST
    assert f.api == API
    assert f.case == "case"
    return f


# The wire vocabulary.


@pytest.mark.parametrize(
    ("cond", "reading"),
    [
        ("name=vm1", ("name", "=", "vm1")),
        ("state?=Running,Stopped", ("state", "?=", "Running,Stopped")),
        ("name!=a", ("name", "!=", "a")),
        ("size>=3", ("size", ">=", "3")),
        ("name!~=%a%", ("name", "!~=", "%a%")),
        ("description is null", ("description", "is null", None)),
        ("description not null", ("description", "not null", None)),
        ("name= a b ", ("name", "=", " a b ")),  # the value is not trimmed
        ("uuid", None),
    ],
)
def test_server_reading_follows_zstack_operator_order(cond: str, reading: Any) -> None:
    assert server_reading(cond) == reading


def test_a_value_holding_an_earlier_operator_is_not_read_as_meant() -> None:
    assert reads_as_meant("name", Op.EQ, "a>b")  # '=' is tried before '>'
    assert not reads_as_meant("name", Op.EQ, "a>=b")  # '>=' is tried before '='
    assert not reads_as_meant("name", Op.GT, "a=b")
    assert reads_as_meant("description", Op.IS_NULL)
    assert condition("description", Op.NOT_NULL) == "description not null"


def test_no_operator_text_lists_the_operators_as_java_prints_a_list_holding_their_set() -> None:
    assert NO_OPERATOR_TEXT.format(condition="uuid").endswith(
        "Valid query operators are [[!=, >=, <=, !?=, !~=, ~=, ?=, =, >, <, is null, not null]]"
    )


def test_wire_values() -> None:
    assert wire_value(1.073741824e9) == "1073741824"
    assert wire_value(30.5) == "30.5"
    assert wire_value(True) == "true"
    assert wire_value("x y") == "x y"


def test_short_form_path_from_the_page_or_by_convention() -> None:
    assert short_form_path("/zstack/v1/zones", ["/zstack/v1/zones/{uuid}"], "X") == (
        "/zstack/v1/zones/X",
        "the page's alternate path",
    )
    path, source = short_form_path("/zstack/v1/database-backups", [], "X")
    assert path == "/zstack/v1/database-backups/X"
    assert "convention" in source


def test_read_answer() -> None:
    assert read_answer(exchange({"inventories": [{"uuid": "a"}], "total": 1})) == Answer([{"uuid": "a"}], 1, True)
    assert read_answer(exchange({"total": 3}), need_items=False) == Answer(None, 3, True)
    assert read_answer(exchange({"total": 3})).problem == "no 'inventories' list"
    assert read_answer(exchange({"inventories": [1]})).problem == "'inventories' is not a list of objects"
    assert read_answer(exchange("plain")).problem == "the body is not a JSON object"


def test_gson_datetime_orders_by_time_not_text() -> None:
    earlier, later = parse_gson_date("Nov 14, 2017 9:20:57 AM"), parse_gson_date("Nov 14, 2017 10:20:57 PM")
    assert earlier is not None
    assert later is not None
    assert earlier < later
    assert parse_gson_date("2017-11-14") is None


# SQL semantics of a condition.


def test_a_missing_field_matches_neither_eq_nor_ne() -> None:
    item = {"uuid": "x"}
    for op in (Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.LIKE, Op.NOT_LIKE, Op.GT, Op.LT, Op.NOT_NULL):
        assert selects(Kind.STRING, op, "a", item, "name") is False, op
    assert selects(Kind.STRING, Op.IS_NULL, "", item, "name") is True


def test_case_and_trailing_space_differences_are_left_to_the_collation() -> None:
    assert selects(Kind.STRING, Op.EQ, "alpha", {"name": "alpha"}, "name") is True
    assert selects(Kind.STRING, Op.EQ, "alpha", {"name": "ALPHA"}, "name") is None
    assert selects(Kind.STRING, Op.EQ, "alpha", {"name": "alpha "}, "name") is None
    assert selects(Kind.STRING, Op.EQ, "alpha", {"name": "beta"}, "name") is False
    assert selects(Kind.STRING, Op.NE, "alpha", {"name": "ALPHA"}, "name") is None
    assert selects(Kind.STRING, Op.LIKE, "%lph%", {"name": "ALPHA"}, "name") is None
    assert selects(Kind.STRING, Op.LIKE, "%lph%", {"name": "alpha"}, "name") is True
    assert selects(Kind.STRING, Op.LIKE, "a_p%", {"name": "alpha"}, "name") is True
    assert selects(Kind.STRING, Op.NOT_LIKE, "%lph%", {"name": "beta"}, "name") is True


def test_numbers_compare_by_value_and_plain_strings_ignoring_case() -> None:
    assert selects(Kind.NUMBER, Op.EQ, "20", {"size": 20.0}, "size") is True
    assert selects(Kind.NUMBER, Op.GT, "20", {"size": 30.5}, "size") is True
    assert selects(Kind.NUMBER, Op.LE, "20", {"size": 30.5}, "size") is False
    assert selects(Kind.STRING, Op.GT, "b2", {"uuid": "C3"}, "uuid") is True
    assert selects(Kind.STRING, Op.GT, "b-2", {"uuid": "c3"}, "uuid") is None  # punctuation: collations differ
    assert selects(Kind.NUMBER, Op.IN, "10,30.5", {"size": 30.5}, "size") is True
    assert selects(Kind.NUMBER, Op.NOT_IN, "10,30.5", {"size": 20}, "size") is True


def test_profile_keeps_documented_scalars_of_the_documented_type() -> None:
    profiles = {p.name: p for p in profile_fields(LISTING, ITEM_SCHEMA)}
    assert set(profiles) == {"uuid", "name", "description", "size", "createDate"}
    assert profiles["description"].on_some_only
    assert profiles["createDate"].kind is Kind.DATE
    wrong = [{"uuid": "a", "size": "big"}]
    assert "size" not in {p.name for p in profile_fields(wrong, ITEM_SCHEMA)}


@pytest.mark.parametrize("op", list(Op))
def test_every_operator_gets_a_telling_condition_from_the_listing(op: Op) -> None:
    case = choose_operator_case(LISTING, ITEM_SCHEMA, op)
    assert not isinstance(case, str), case
    assert case.field != "createDate"  # dates are never put in a condition
    assert reads_as_meant(case.field, op, case.value)
    chosen = expected_selection(LISTING, case.field, case.kind, op, case.value)
    assert chosen.included, (case, chosen)
    assert chosen.excluded, (case, chosen)
    if op in (Op.IS_NULL, Op.NOT_NULL):
        assert case.field == "description"
    if op in (Op.GT, Op.LT, Op.GE, Op.LE):
        assert case.kind is Kind.NUMBER
    if op in (Op.LIKE, Op.NOT_LIKE):
        assert case.kind is Kind.STRING
        assert case.value.startswith("%")


def test_like_patterns_avoid_wildcards_and_the_escape_character() -> None:
    items = [{"uuid": "a_1", "name": "50%_off"}, {"uuid": "b_2", "name": "c:\\temp"}]
    assert isinstance(choose_operator_case(items, ITEM_SCHEMA, Op.LIKE), str)
    items.append({"uuid": "c_3", "name": "plain"})
    case = choose_operator_case(items, ITEM_SCHEMA, Op.LIKE)
    assert not isinstance(case, str)
    assert case.value == "%lai%"


def test_no_condition_from_an_empty_listing() -> None:
    assert "empty" in str(choose_operator_case([], ITEM_SCHEMA, Op.EQ))


def test_ordering_operators_skip_strings_the_collations_order_differently() -> None:
    items = [{"uuid": "a-1", "name": "x y"}, {"uuid": "b-2", "name": "z"}]
    reason = choose_operator_case(items, ITEM_SCHEMA, Op.GT)
    assert isinstance(reason, str)
    assert "suits '>'" in reason


# The relations: one answer that holds, one that breaks.


def test_limit() -> None:
    assert limit_findings(API, "case", 2, LISTING[:2]) == []
    f = only(limit_findings(API, "case", 2, LISTING), "query.limit")
    assert f.path == "$.inventories"
    assert "at most 2" in f.expected
    assert f.actual == "4 inventories"


def _pages(whole: list[dict[str, Any]], limit: int, shift: int = 0) -> list[tuple[int, list[dict[str, Any]]]]:
    return [
        (start, whole[max(0, start + shift) : max(0, start + shift) + limit])
        for start in range(0, len(whole) + limit, limit)
    ]


def test_paging_holds_for_slices_of_the_whole() -> None:
    assert paging_findings(API, "case", LISTING, _pages(LISTING, 3), 3) == []
    assert paging_findings(API, "case", LISTING, _pages(LISTING, 1), 1) == []


@pytest.mark.parametrize(("shift", "actual"), [(1, "'b2'"), (-1, "'c3'")])
def test_paging_breaks_when_start_is_off_by_one(shift: int, actual: str) -> None:
    f = only(paging_findings(API, "case", LISTING, _pages(LISTING, 2, shift), 2), "query.paging")
    assert f.path.startswith("$.inventories[")
    assert "start=" in f.note
    assert actual in f.actual or "already on the page" in f.actual


def test_paging_breaks_on_a_page_over_the_limit_and_on_a_missing_item() -> None:
    f = only(paging_findings(API, "case", LISTING, [(0, LISTING)], 2), "query.paging")
    assert f.expected == "at most 2 inventories per page"
    f = only(paging_findings(API, "case", LISTING, [(0, LISTING[:2]), (2, LISTING[2:3]), (4, [])], 2), "query.paging")
    assert "no item" in f.actual


def test_count() -> None:
    assert count_findings(API, "case", LISTING, Answer(None, 4, True)) == []
    f = only(count_findings(API, "case", LISTING, Answer(None, 3, True)), "query.count")
    assert f.path == "$.total"
    assert f.expected.startswith("4")
    assert f.actual == "3"
    assert only(count_findings(API, "case", LISTING, Answer(None, "4", True)), "query.count").actual == '"4"'


def test_reply_with_count() -> None:
    shuffled = list(reversed(LISTING))
    assert reply_with_count_findings(API, "case", LISTING, Answer(shuffled, 4, True)) == []
    f = only(reply_with_count_findings(API, "case", LISTING, Answer(LISTING, None, False)), "query.count")
    assert f.actual == "no 'total' field"
    f = only(reply_with_count_findings(API, "case", LISTING, Answer(LISTING[:3], 4, True)), "query.count")
    assert f.path == "$.inventories"
    assert '"d4"' in f.actual


def _filter(op: Op, field: str, kind: Kind, value: str, answer: list[dict[str, Any]]) -> list[Any]:
    chosen = expected_selection(LISTING, field, kind, op, value)
    return filter_findings(API, "case", condition(field, op, value), field, kind, op, value, chosen, answer)


def test_filter_eq_and_its_complement() -> None:
    assert _filter(Op.EQ, "name", Kind.STRING, "alpha", [LISTING[0], LISTING[2]]) == []
    assert _filter(Op.NE, "name", Kind.STRING, "alpha", [LISTING[1], LISTING[3]]) == []
    ignored = only(_filter(Op.EQ, "name", Kind.STRING, "alpha", LISTING), "query.filter")
    assert ignored.path == "$.inventories[1].name"
    assert "'b2'" in ignored.actual
    assert "q=name=alpha" in ignored.note
    ne_as_eq = only(_filter(Op.NE, "name", Kind.STRING, "alpha", [LISTING[0], LISTING[2]]), "query.filter")
    assert ne_as_eq.expected == "only items where name!=alpha"
    missing = only(_filter(Op.EQ, "name", Kind.STRING, "alpha", [LISTING[0]]), "query.filter")
    assert missing.path == "$.inventories"
    assert '"c3"' in missing.actual


def test_filter_ne_leaves_out_items_without_the_field() -> None:
    assert _filter(Op.NE, "description", Kind.STRING, "first", [LISTING[2]]) == []
    f = only(_filter(Op.NE, "description", Kind.STRING, "first", [LISTING[1], LISTING[2]]), "query.filter")
    assert "no 'description'" in f.actual


def test_filter_is_null() -> None:
    assert _filter(Op.IS_NULL, "description", Kind.STRING, "", [LISTING[1], LISTING[3]]) == []
    only(_filter(Op.IS_NULL, "description", Kind.STRING, "", LISTING), "query.filter")


def test_filter_leaves_collation_decided_items_free() -> None:
    items = [*LISTING, {"uuid": "e5", "name": "ALPHA"}]
    chosen = expected_selection(items, "name", Kind.STRING, Op.EQ, "alpha")
    assert [i["uuid"] for i in chosen.undecided] == ["e5"]
    for answer in ([items[0], items[2]], [items[0], items[2], items[4]]):
        assert filter_findings(API, "case", "name=alpha", "name", Kind.STRING, Op.EQ, "alpha", chosen, answer) == []


def test_uuid() -> None:
    assert uuid_findings(API, "case", "b2", [LISTING[1]], "q=uuid=b2") == []
    f = only(uuid_findings(API, "case", "b2", LISTING, "q=uuid=b2"), "query.uuid")
    assert "4 inventories" in f.actual
    assert only(uuid_findings(API, "case", "b2", [], "GET /things/b2"), "query.uuid").note.startswith("GET")


def test_fields() -> None:
    projected = [{"uuid": i["uuid"], "name": i["name"]} for i in LISTING]
    assert fields_findings(API, "case", ["uuid", "name"], projected, LISTING) == []
    f = only(fields_findings(API, "case", ["uuid", "name"], LISTING, LISTING), "query.fields")
    assert f.path == "$.inventories[0]"
    assert "createDate" in f.actual
    f = only(fields_findings(API, "case", ["uuid", "name"], projected[:1], LISTING), "query.fields")
    assert "1 inventories" in f.actual


def test_sort_by_number_date_and_plain_string() -> None:
    by_size = sorted(LISTING, key=lambda i: i["size"])
    assert sort_findings(API, "case", "size", Kind.NUMBER, False, by_size) == []
    assert sort_findings(API, "case", "size", Kind.NUMBER, True, by_size[::-1]) == []
    f = only(sort_findings(API, "case", "size", Kind.NUMBER, True, by_size), "query.sort")
    assert f.path == "$.inventories[1].size"
    assert "descending" in f.expected
    by_date = [LISTING[3], LISTING[1], LISTING[0], LISTING[2]]  # by time, which is not the text's order
    assert sort_findings(API, "case", "createDate", Kind.DATE, False, by_date) == []
    only(sort_findings(API, "case", "createDate", Kind.DATE, False, LISTING), "query.sort")
    names = [{"uuid": "1", "name": "ab"}, {"uuid": "2", "name": "AC"}, {"uuid": "3", "name": "b"}]
    assert sort_findings(API, "case", "name", Kind.STRING, False, names) == []  # case ignored, as MySQL does
    only(sort_findings(API, "case", "name", Kind.STRING, False, names[::-1]), "query.sort")


def test_sort_skips_items_without_the_field() -> None:
    items: list[dict[str, Any]] = [{"uuid": "1", "size": 1}, {"uuid": "2"}, {"uuid": "3", "size": 2}]
    assert sort_findings(API, "case", "size", Kind.NUMBER, False, items) == []


# What the properties draw from: small and finite, so hypothesis exhausts it.


def test_spread_keeps_the_ends() -> None:
    assert spread([1, 2]) == [1, 2]
    assert spread(list(range(1, 8))) == [1, 4, 7]
    assert spread(list(range(10)), 4) == [0, 3, 6, 9]


def test_limits_stay_below_the_listing_length() -> None:
    assert limits(4) == [1, 2, 3]
    assert limits(7) == [1, 3, 6]
    assert limits(1) == [1]


def test_page_sizes_bound_the_pages_per_example() -> None:
    assert page_sizes(4) == [1, 2, 3]
    assert page_sizes(1) == [1]
    sizes = page_sizes(999)
    assert min(sizes) == 125  # at most MAX_PAGES (8) pages of a 999-item listing
    assert max(sizes) == 998
    assert all(-(-999 // s) <= 8 for s in sizes)


def test_filter_cases_and_count_conditions_come_from_the_listing() -> None:
    cases = [(p.name, v) for p, v in filter_cases(LISTING, ITEM_SCHEMA)]
    assert ("name", "alpha") in cases
    assert ("size", "10") in cases
    assert all(name != "createDate" for name, _ in cases)  # dates are never put in a condition
    conditions = dict(count_conditions(LISTING, ITEM_SCHEMA))
    assert [i["uuid"] for i in conditions["name=alpha"]] == ["a1", "c3"]
    assert len({c.split("=")[0] for c in conditions}) == len(conditions)  # one per field


def test_count_conditions_leave_out_values_the_collation_decides() -> None:
    items = [{"uuid": "a", "name": "alpha"}, {"uuid": "b", "name": "ALPHA"}]
    assert "name=alpha" not in dict(count_conditions(items, ITEM_SCHEMA))


def test_field_choices_name_each_field_once() -> None:
    choices = field_choices(LISTING, ITEM_SCHEMA)
    assert choices[0] == ("uuid",)
    assert ("uuid", "name") in choices
    named = [name for choice in choices[1:] for name in choice]
    assert sorted(named) == sorted(["uuid", "name", "description", "size", "createDate"])  # no 'tags': not a scalar


def test_sort_cases_take_one_field_of_each_kind_both_ways() -> None:
    sorts = {(p.name, d) for p, d in sort_cases(LISTING, ITEM_SCHEMA)}
    assert sorts == {(f, d) for f in ("size", "createDate", "uuid") for d in (False, True)}
    dashed = [{"uuid": f"u-{i}", "name": n} for i, n in enumerate(("a-b", "c", "d"))]
    assert sort_cases(dashed, ITEM_SCHEMA) == []  # '-' is ordered differently by MySQL's collations
    plain = [{"uuid": f"u-{i}", "name": n} for i, n in enumerate(("ab", "C", "d"))]
    assert [(p.name, d) for p, d in sort_cases(plain, ITEM_SCHEMA)] == [("name", False), ("name", True)]


# Judging the exchanges themselves.


def _contract() -> ApiContract:
    return load_contract(SCHEMAS / "QueryZone")


def test_answer_findings_reads_a_200_and_judges_any_other_status() -> None:
    api = _contract()
    findings, answer = answer_findings(api, "case", exchange({"inventories": [{"uuid": "a"}]}), "query.limit")
    assert findings == []
    assert answer is not None
    assert answer.items == [{"uuid": "a"}]
    findings, answer = answer_findings(api, "case", exchange({"inventories": "x"}), "query.limit")
    assert answer is None
    assert [f.rule for f in findings] == ["query.limit"]
    findings, answer = answer_findings(api, "case", exchange("boom", status=500), "query.limit")
    assert answer is None
    assert [f.rule for f in findings] == ["request.no-server-error"]


def test_an_unmapped_short_form_breaks_query_uuid_not_api_not_served() -> None:
    api = _contract()
    findings, answer = short_form_findings(api, "case", "X", exchange("no api mapping to /v1/zones/X", 404), "GET")
    assert answer is None
    assert [f.rule for f in findings] == ["query.uuid"]
    assert findings[0].actual.startswith("HTTP 404")


def test_a_refusal_answered_200_is_the_wrong_refusal_class() -> None:
    api = _contract()
    listing = exchange({"inventories": [{"uuid": 1}]})  # a wrong type too: not this test's concern
    findings = refusal_findings(api, "case", listing, non_integer_limit())
    assert [f.rule for f in findings] == ["request.refusal-class"]
    assert findings[0].expected == "HTTP 400"
    exact = exchange("Invalid query parameter. 'limit' must be an integer", 400)
    assert refusal_findings(api, "case", exact, non_integer_limit()) == []
    worded = refusal_findings(api, "case", exchange("bad limit", 400), non_integer_limit())
    assert [(f.rule, f.level) for f in worded] == [("request.zstack-error", Level.SHOULD)]
    text = NO_OPERATOR_TEXT.format(condition="uuid")
    assert refusal_findings(api, "case", exchange(text, 400), condition_without_operator("uuid")) == []
