"""The Query API's metamorphic relations: what one answer must be, given the listing it is compared with.

Each function takes answers already read (see :func:`zstack_contract.engine.query.read_answer`) and returns the
findings of one ``query.*`` rule, empty when the relation holds. None of them sends a request, so each is
unit-tested on crafted answers; the contract tests (``tests/contract/test_query.py``) send the requests and
pass the exchanges to the judge as evidence.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from zstack_contract.engine.checks import check_exchange, finding
from zstack_contract.engine.findings import Finding
from zstack_contract.engine.query import (
    NO_OPERATOR_TEXT,
    NON_INTEGER_LIMIT_TEXT,
    QUERY_BASIS,
    Answer,
    Kind,
    Op,
    Selection,
    read_answer,
    selects,
    sort_key,
    uuids,
)
from zstack_contract.generation import expectations as table
from zstack_contract.generation.expectations import Expectation, Outcome
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.safejson import excerpt

Item = Mapping[str, Any]


# What a relation's test judges of each answer besides the relation: that it is a success at all. The body's
# shape is the shape test's job (and a projection or a count-only answer lacks fields the full shape requires).
_JUDGED = ("request.", "api.", "response.unjudgeable", "response.json", "response.sync-status", "error.envelope")


def valid_query() -> Expectation:
    return table.positive_call(f"a valid query: 200 with inventories; {QUERY_BASIS}")


def answer_findings(
    api: ApiContract, case: str, ex: Exchange, rule: str, *, need_items: bool = True
) -> tuple[list[Finding], Answer | None]:
    """Whether a valid query was answered as one, and what it answered (None when the relation cannot be judged).

    A non-200 is judged as any valid request is (so it is a finding, not a crash); a 200 without readable
    inventories is a finding of the relation's own rule, which cannot hold without them.
    """
    if ex.status != 200 or ex.problem:
        return [f for f in check_exchange(api, case, ex, valid_query()) if f.rule.startswith(_JUDGED)], None
    # A readable 200 breaks none of the judged rules (check_exchange would only validate the shape here).
    answer = read_answer(ex, need_items=need_items)
    if answer.problem:
        return [unreadable(api.name, case, rule, answer)], None
    return [], answer


def refusal_findings(api: ApiContract, case: str, ex: Exchange, expectation: Expectation) -> list[Finding]:
    """A query the server must refuse with 400: a 2xx is the wrong class of answer (request.refusal-class).

    The shape of an answer that should not have been given is not judged: the shape test judges listings.
    """
    return [
        finding(api.name, case, "request.refusal-class", f.path, expectation.describe_must(), f.actual, f.note)
        if f.rule == "request.refused"
        else f
        for f in check_exchange(api, case, ex, expectation)
        if f.rule not in ("response.shape", "response.required-fields")
    ]


def non_integer_limit() -> Expectation:
    return Expectation(
        Outcome.REFUSED,
        must_status=table.BAD_REQUEST,
        should_text=NON_INTEGER_LIMIT_TEXT,
        basis=f"{QUERY_BASIS}: 'limit' must be an integer, else HTTP 400 plain text",
    )


def condition_without_operator(cond: str) -> Expectation:
    return Expectation(
        Outcome.REFUSED,
        must_status=table.BAD_REQUEST,
        should_text=NO_OPERATOR_TEXT.format(condition=cond),
        basis=f"{QUERY_BASIS}: a q condition with no operator, HTTP 400 plain text",
    )


def _show(items: Sequence[Any], limit: int = 160) -> str:
    return excerpt(list(items), limit)


def unreadable(
    api: str, case: str, rule: str, answer: Answer, what: str = "an 'inventories' list of objects"
) -> Finding:
    """A 200 whose inventories cannot be read: the relation cannot hold, and the reader is told why."""
    return finding(api, case, rule, "$.inventories", what, answer.problem or "nothing readable", QUERY_BASIS)


def limit_findings(api: str, case: str, limit: int, items: Sequence[Item]) -> list[Finding]:
    """``limit=N`` answers at most N inventories."""
    if len(items) <= limit:
        return []
    return [
        finding(
            api,
            case,
            "query.limit",
            "$.inventories",
            f"at most {limit} inventories (limit={limit})",
            f"{len(items)} inventories",
            QUERY_BASIS,
        )
    ]


def paging_findings(
    api: str, case: str, whole: Sequence[Item], pages: Sequence[tuple[int, Sequence[Item]]], limit: int
) -> list[Finding]:
    """``start``/``limit`` pages of a listing sorted by uuid are disjoint, in order, and together the whole.

    ``whole`` is the same sorted query without paging; ``pages`` are (start, items) for start = 0, limit,
    2*limit, ... up to and including the first start past the end (which must be empty).
    """
    rule = "query.paging"
    expected_uuids = uuids(whole)
    seen: dict[str, int] = {}
    for start, items in pages:
        where = f"in the page start={start}&limit={limit}"
        got = uuids(items)
        if len(got) > limit:
            return [
                finding(
                    api,
                    case,
                    rule,
                    "$.inventories",
                    f"at most {limit} inventories per page",
                    f"{len(got)} inventories",
                    f"{where}; {QUERY_BASIS}",
                )
            ]
        for index, uuid in enumerate(got):
            if repr(uuid) in seen:
                return [
                    finding(
                        api,
                        case,
                        rule,
                        f"$.inventories[{index}].uuid",
                        "pages that share no item",
                        f"{uuid!r}, already on the page start={seen[repr(uuid)]}",
                        f"{where}; {QUERY_BASIS}",
                    )
                ]
            seen[repr(uuid)] = start
        wanted = expected_uuids[start : start + limit]
        if got != wanted:
            index = next(
                (i for i, (g, w) in enumerate(zip(got, wanted, strict=False)) if g != w), min(len(got), len(wanted))
            )
            expected = (
                f"{wanted[index]!r}: item {start + index} of the whole sorted listing"
                if index < len(wanted)
                else f"no item: the whole sorted listing has {len(expected_uuids)}"
            )
            actual = repr(got[index]) if index < len(got) else f"no item (the page has {len(got)})"
            return [
                finding(api, case, rule, f"$.inventories[{index}].uuid", expected, actual, f"{where}; {QUERY_BASIS}")
            ]
    missing = [u for u in expected_uuids if repr(u) not in seen]
    if missing:
        return [
            finding(
                api,
                case,
                rule,
                "$.inventories",
                f"the pages together holding all {len(expected_uuids)} items of the whole sorted listing",
                f"{len(missing)} never on any page: {_show(missing)}",
                QUERY_BASIS,
            )
        ]
    return []


def _total_findings(api: str, case: str, answer: Answer, length: int, asked: str) -> list[Finding]:
    total = answer.total
    if not answer.has_total or total is None:
        return [
            finding(api, case, "query.count", "$.total", f"total: {length} ({asked})", "no 'total' field", QUERY_BASIS)
        ]
    is_integer = isinstance(total, int | float) and not isinstance(total, bool) and float(total).is_integer()
    if not is_integer or int(total) != length:
        return [
            finding(
                api,
                case,
                "query.count",
                "$.total",
                f"{length}: the number of items the listing has ({asked})",
                excerpt(json.dumps(total), 80),  # a string "4" shown as one
                QUERY_BASIS,
            )
        ]
    return []


def count_findings(api: str, case: str, listing: Sequence[Item], answer: Answer) -> list[Finding]:
    """``count=true`` answers a ``total`` equal to the listing's length."""
    return _total_findings(api, case, answer, len(listing), "count=true")


def reply_with_count_findings(api: str, case: str, listing: Sequence[Item], answer: Answer) -> list[Finding]:
    """``replyWithCount=true`` answers the listing's inventories (in any order) plus its ``total``."""
    out = _total_findings(api, case, answer, len(listing), "replyWithCount=true")
    if answer.items is None:
        return [unreadable(api, case, "query.count", answer), *out]
    want, got = Counter(map(str, uuids(listing))), Counter(map(str, uuids(answer.items)))
    if want != got:
        out.insert(
            0,
            finding(
                api,
                case,
                "query.count",
                "$.inventories",
                f"the listing's {len(listing)} inventories (uuids {_show(sorted(want))})",
                f"{len(answer.items)} inventories: missing {_show(sorted((want - got).elements()))}, "
                f"extra {_show(sorted((got - want).elements()))}",
                f"replyWithCount=true; {QUERY_BASIS}",
            ),
        )
    return out


def filter_findings(
    api: str,
    case: str,
    cond: str,
    field: str,
    kind: Kind,
    op: Op,
    value: str,
    expected: Selection,
    items: Sequence[Item],
) -> list[Finding]:
    """``q=<cond>`` answers every listed item the condition selects and no item it rejects.

    Each returned item is judged by the condition itself (so an item created since the listing is judged
    too); each item of the listing the condition surely selects must be among them. Undecided items (the
    collation decides) are required neither way.
    """
    rule = "query.filter"
    note = f"q={cond}; SQL semantics: an item without '{field}' matches only 'is null'; {QUERY_BASIS}"
    for index, item in enumerate(items):
        if selects(kind, op, value, item, field) is False:
            shown = excerpt(item[field], 120) if field in item else f"no '{field}' (null)"
            return [
                finding(
                    api,
                    case,
                    rule,
                    f"$.inventories[{index}].{field}",
                    f"only items where {cond}",
                    f"{shown} (item {item.get('uuid')!r})",
                    note,
                )
            ]
    returned = set(map(repr, uuids(items)))
    missing = [item for item in expected.included if repr(item.get("uuid")) not in returned]
    if missing:
        return [
            finding(
                api,
                case,
                rule,
                "$.inventories",
                f"every item of the listing where {cond}: {len(expected.included)} ({_show(uuids(expected.included))})",
                f"{len(missing)} of them absent: {_show([(m.get('uuid'), m.get(field)) for m in missing])}",
                note,
            )
        ]
    return []


def uuid_findings(api: str, case: str, uuid: str, items: Sequence[Item], how: str) -> list[Finding]:
    """``q=uuid=X`` and ``GET <path>/X`` answer exactly the one item X."""
    got = uuids(items)
    if got == [uuid]:
        return []
    return [
        finding(
            api,
            case,
            "query.uuid",
            "$.inventories",
            f"exactly one inventory, the item {uuid!r}",
            f"{len(got)} inventories with uuids {_show(got)}",
            f"{how}; {QUERY_BASIS}",
        )
    ]


def short_form_findings(
    api: ApiContract, case: str, uuid: str, ex: Exchange, how: str
) -> tuple[list[Finding], Answer | None]:
    """``GET <path>/X`` answers the one item X; any other status is that rule broken first.

    A 404 'no api mapping' here says the short form is not mapped, not that the API is missing (its listing was
    served), so it is not reported as api.not-served.
    """
    findings, answer = answer_findings(api, case, ex, "query.uuid")
    if answer is not None or ex.status == 200:
        return findings, answer
    broken = finding(
        api.name,
        case,
        "query.uuid",
        "$",
        f"HTTP 200 with exactly one inventory, the item {uuid!r}",
        f"HTTP {ex.status}: {excerpt(ex.text, 200)}",
        f"{how}; {QUERY_BASIS}",
    )
    return [broken, *(f for f in findings if f.rule != "api.not-served")], None


def fields_findings(
    api: str, case: str, fields: Sequence[str], items: Sequence[Item], listing: Sequence[Item]
) -> list[Finding]:
    """``fields=a,b`` answers the listing's items carrying no keys other than a and b."""
    allowed = set(fields)
    note = f"fields={','.join(fields)}; {QUERY_BASIS}"
    for index, item in enumerate(items):
        extra = sorted(set(item) - allowed)
        if extra:
            return [
                finding(
                    api,
                    case,
                    "query.fields",
                    f"$.inventories[{index}]",
                    f"only the keys {sorted(allowed)}",
                    f"also {extra}",
                    note,
                )
            ]
    if len(items) != len(listing):
        return [
            finding(
                api,
                case,
                "query.fields",
                "$.inventories",
                f"as many inventories as the listing ({len(listing)}): fields chooses keys, not items",
                f"{len(items)} inventories",
                note,
            )
        ]
    return []


def sort_findings(
    api: str, case: str, field: str, kind: Kind, descending: bool, items: Sequence[Item]
) -> list[Finding]:
    """``sort=+f`` answers items in ascending order of f, ``sort=-f`` in descending order.

    Compared as the database orders: numbers by value, Gson dates by time, plain strings ignoring case. Items
    without the field (NULL, placed first or last by the database) are left out of the comparison.
    """
    sign = "-" if descending else "+"
    keyed = [
        (index, item[field], sort_key(kind, item[field]))
        for index, item in enumerate(items)
        if item.get(field) is not None
    ]
    for (_, before, key_before), (index, after, key_after) in itertools.pairwise(keyed):
        if key_before is None or key_after is None:
            continue  # a value the shape test flags (not a date); no order can be read from it
        wrong = key_after > key_before if descending else key_after < key_before
        if wrong:
            order = "descending" if descending else "ascending"
            return [
                finding(
                    api,
                    case,
                    "query.sort",
                    f"$.inventories[{index}].{field}",
                    f"{order} order of {field} ({kind.value}): {excerpt(after, 80)} "
                    f"{'≤' if descending else '≥'} the item before it",
                    f"{excerpt(after, 80)} after {excerpt(before, 80)}",
                    f"sort={sign}{field}; {QUERY_BASIS}",
                )
            ]
    return []
