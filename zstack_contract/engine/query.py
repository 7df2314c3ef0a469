"""ZStack's Query API on the wire (protocol notes §6; ``RestServer.handleQueryApi`` in ZStack's source).

What a query string says and what a listing means: the ``q`` operators and how the server splits a condition,
the paging/count/sort/fields parameters, reading ``inventories`` and ``total`` out of an answer, the fields of
a first listing that suit each operator, and which items a condition selects under SQL's semantics. The
metamorphic relations built on these live in :mod:`zstack_contract.engine.query_relations`.

Matching follows the database ZStack queries (MySQL/MariaDB), not Python: an item that lacks a field (Gson
omits nulls, so it is NULL in the table) matches neither ``f=v`` nor ``f!=v``; string comparison goes by the
column's collation, which is case-insensitive (``utf8_general_ci``) and ignores trailing spaces. Where that
collation could decide either way (values equal but for case, accents or trailing spaces) an item is
*undecided*: the relations then require nothing of it, so a conforming server is never failed on a collation
the suite cannot see.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from zstack_contract.specs.formats import GSON_DATE_FORMAT, parse_gson_date
from zstack_contract.transport.client import Exchange

# ZStack's default page size (APIQueryMessage.limit): a listing this long may have been cut short.
DEFAULT_LIMIT = 1000
QUERY_BASIS = "protocol notes §6 'Query API' [V] (RestServer.handleQueryApi)"

# RestServer.QUERY_OP_MAPPING, in its order: the server takes the FIRST of these a condition contains and splits
# the condition at its first occurrence, so "=" sits after every operator that contains it.
SERVER_OPERATOR_ORDER: tuple[str, ...] = (
    "!=",
    ">=",
    "<=",
    "!?=",
    "!~=",
    "~=",
    "?=",
    "=",
    ">",
    "<",
    "is null",
    "not null",
)

# The 400 text for a condition without an operator. The server formats asList(QUERY_OP_MAPPING.keySet()): a
# list holding the key set, so Java prints the operators in two pairs of brackets.
NO_OPERATOR_TEXT = (
    "Invalid query parameter. The '{condition}' in the parameter[q] doesn't contain any query operator. "
    "Valid query operators are [[" + ", ".join(SERVER_OPERATOR_ORDER) + "]]"
)
NON_INTEGER_LIMIT_TEXT = "Invalid query parameter. 'limit' must be an integer"


class Op(StrEnum):
    """The twelve ``q`` operators, by the ids the test names use."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"
    GE = "ge"
    LE = "le"
    IN = "in"
    NOT_IN = "not-in"
    LIKE = "like"
    NOT_LIKE = "not-like"
    IS_NULL = "is-null"
    NOT_NULL = "not-null"


SYMBOL: dict[Op, str] = {
    Op.EQ: "=",
    Op.NE: "!=",
    Op.GT: ">",
    Op.LT: "<",
    Op.GE: ">=",
    Op.LE: "<=",
    Op.IN: "?=",
    Op.NOT_IN: "!?=",
    Op.LIKE: "~=",
    Op.NOT_LIKE: "!~=",
    Op.IS_NULL: "is null",
    Op.NOT_NULL: "not null",
}
UNARY = frozenset({Op.IS_NULL, Op.NOT_NULL})
ORDERING = frozenset({Op.GT, Op.LT, Op.GE, Op.LE})


class Kind(StrEnum):
    """What a field's values are, as the relations compare them."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    STRING = "string"
    DATE = "date"  # a Gson date string: ordered by time, never put in a q condition (its wire form is unknown)


# ---------------------------------------------------------------------------------------------------------
# Building requests


def condition(field: str, op: Op, value: str = "") -> str:
    """One ``q`` condition as the SDKs write it: ``name=vm1``, ``state?=Running,Stopped``, ``description is null``."""
    if op in UNARY:
        return f"{field} {SYMBOL[op]}"
    return f"{field}{SYMBOL[op]}{value}"


def server_reading(cond: str) -> tuple[str, str, str | None] | None:
    """How ZStack splits a condition: (field, operator symbol, value), or None when it has no operator (a 400)."""
    for symbol in SERVER_OPERATOR_ORDER:
        if symbol in cond:
            name, _, value = cond.partition(symbol)
            if symbol in ("is null", "not null"):
                return name.strip(), symbol, None
            return name.strip(), symbol, value  # the value is not trimmed
    return None


def reads_as_meant(field: str, op: Op, value: str = "") -> bool:
    """Whether the server reads ``condition(field, op, value)`` as that field, operator and value.

    A value holding an operator the server tries first (``a>=b`` in an ``=`` condition) would be split there.
    """
    reading = server_reading(condition(field, op, value))
    if reading is None:
        return False
    if op in UNARY:
        return reading[:2] == (field, SYMBOL[op])
    return reading == (field, SYMBOL[op], value)


def wire_value(value: Any) -> str:
    """A JSON value as a q condition or path writes it (Java parses it back into the column's type)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))  # Gson prints a Long column read as double as 1.073741824E9; Long.valueOf wants digits
    return str(value)


def sort_param(field: str, descending: bool) -> tuple[str, str]:
    return ("sort", f"{'-' if descending else '+'}{field}")


def fields_param(fields: Sequence[str]) -> tuple[str, str]:
    return ("fields", ",".join(fields))


def paging_params(start: int, limit: int) -> list[tuple[str, str]]:
    return [("start", str(start)), ("limit", str(limit))]


def short_form_path(spec_path: str, alternate_paths: Sequence[str], uuid: str) -> tuple[str, str]:
    """The path of ``GET /<resources>/{uuid}`` and where it comes from (the page, or ZStack's convention)."""
    template = next((p for p in alternate_paths if p.rstrip("/").endswith("/{uuid}")), None)
    source = "the page's alternate path"
    if template is None:
        template = spec_path.rstrip("/") + "/{uuid}"
        source = (
            "ZStack's convention <path>/{uuid}: the page lists no alternate path; Query APIs declare one in "
            "@RestRequest optionalPaths (APIQueryZoneMsg: /zones/{uuid}), not verified for this API"
        )
    return template.replace("{uuid}", uuid), source


# ---------------------------------------------------------------------------------------------------------
# Reading answers


@dataclass(frozen=True)
class Answer:
    """What a Query answer carries: its inventories and total, or why they cannot be read."""

    items: list[dict[str, Any]] | None
    total: Any  # the raw value (None when absent); the relations judge its type
    has_total: bool
    problem: str = ""  # why ``items`` is None, when it is


def read_answer(ex: Exchange, *, need_items: bool = True) -> Answer:
    """The inventories and total of a 200 body; ``problem`` says what is missing when they cannot be read."""
    is_json, body = ex.parsed
    if not is_json or not isinstance(body, dict):
        return Answer(None, None, False, "the body is not a JSON object")
    has_total = "total" in body
    total = body.get("total")
    raw = body.get("inventories")
    if raw is None:
        return Answer(None, total, has_total, "no 'inventories' list" if need_items else "")
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        return Answer(None, total, has_total, "'inventories' is not a list of objects")
    return Answer(list(raw), total, has_total)


def uuids(items: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [item.get("uuid") for item in items]


# ---------------------------------------------------------------------------------------------------------
# Fields of a listing


@dataclass(frozen=True)
class FieldProfile:
    """One documented scalar field as the listing shows it."""

    name: str
    kind: Kind
    values: tuple[Any, ...]  # the values of the items that carry it, in listing order
    present: int  # how many items carry it (non-null)
    total: int  # how many items the listing has

    @property
    def on_some_only(self) -> bool:
        return 0 < self.present < self.total

    @property
    def distinct(self) -> list[Any]:
        seen: dict[str, Any] = {}
        for v in self.values:
            seen.setdefault(repr(v), v)
        return list(seen.values())


def _documented_kinds(item_schema: Mapping[str, Any]) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    for name, prop in item_schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        declared = prop.get("type")
        if declared == "string":
            kinds[name] = Kind.DATE if prop.get("format") == GSON_DATE_FORMAT else Kind.STRING
        elif declared in ("number", "integer"):
            kinds[name] = Kind.NUMBER
        elif declared == "boolean":
            kinds[name] = Kind.BOOLEAN
    return kinds


def item_schema(response_schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema of one inventory in a Query API's derived must schema (empty when it has none)."""
    inventories = response_schema.get("properties", {}).get("inventories", {})
    items = inventories.get("items", {}) if isinstance(inventories, dict) else {}
    return items if isinstance(items, dict) else {}


def _fits(kind: Kind, value: Any) -> bool:
    if kind is Kind.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind is Kind.BOOLEAN:
        return isinstance(value, bool)
    if kind is Kind.DATE:
        return isinstance(value, str) and parse_gson_date(value) is not None
    return isinstance(value, str)


def profile_fields(items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> list[FieldProfile]:
    """The documented scalar fields, with their values in the listing, in the schema's order.

    A field some item carries with a value of another type than documented is left out: the shape test judges
    that, and no relation can say what such a value should match.
    """
    out = []
    for name, kind in _documented_kinds(schema).items():
        values = [item[name] for item in items if item.get(name) is not None]
        if not all(_fits(kind, v) for v in values):
            continue
        out.append(FieldProfile(name, kind, tuple(values), len(values), len(items)))
    return out


_PLAIN = re.compile(r"[0-9A-Za-z]*")


def plainly_ordered(profile: FieldProfile) -> bool:
    """Whether the database orders this field's values as the suite does.

    Numbers, dates and booleans always; strings only when every value is ASCII letters and digits, which every
    MySQL collation orders alike (digits before letters, case ignored): punctuation and spaces are ordered
    differently by ``utf8_general_ci`` and the ``0900`` UCA collations.
    """
    if profile.kind is not Kind.STRING:
        return True
    return all(_PLAIN.fullmatch(v) for v in profile.values)


def queryable(profile: FieldProfile) -> bool:
    """A field a q condition can name with a value the suite knows how to write (dates are not)."""
    return profile.kind is not Kind.DATE


# ---------------------------------------------------------------------------------------------------------
# What a condition selects (SQL semantics)


def _loose(text: str) -> str:
    """What a case- and accent-insensitive, PAD SPACE collation compares: no accents, one case, no trailing spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper().rstrip(" ")


def sort_key(kind: Kind, value: Any) -> Any:
    """The order the database sorts by: numbers by value, dates by time, plain strings case-insensitively.

    None for a value not of the kind (the shape test judges it; no order can be read from it).
    """
    if not _fits(kind, value):
        return None
    if kind is Kind.DATE:
        return parse_gson_date(value)
    if kind is Kind.STRING:
        return value.upper()
    return value


def _equal(kind: Kind, actual: Any, wanted: str) -> bool | None:
    """Whether a column value equals a condition's value: True, False, or None where the collation decides."""
    if kind is Kind.NUMBER:
        try:
            return float(actual) == float(wanted)
        except ValueError:
            return None
    if kind is Kind.BOOLEAN:
        return wire_value(actual) == wanted.lower()
    if actual == wanted:
        return True
    return None if _loose(actual) == _loose(wanted) else False


def _compare(kind: Kind, actual: Any, wanted: str) -> int | None:
    """-1, 0 or 1 as the column value is below, equal to or above the condition's value (None: undecided)."""
    if kind is Kind.NUMBER:
        a, w = float(actual), float(wanted)
        return (a > w) - (a < w)
    if kind is Kind.STRING and _PLAIN.fullmatch(actual) and _PLAIN.fullmatch(wanted):
        x, y = str(actual).upper(), wanted.upper()
        return (x > y) - (x < y)
    return None


def _like(actual: str, pattern: str) -> bool | None:
    """SQL LIKE (``%`` any run, ``_`` one character, no escapes): True, False, or None where case decides."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    if re.fullmatch(regex, actual, re.DOTALL):
        return True
    loose_regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in _loose(pattern))
    if re.fullmatch(regex, actual, re.DOTALL | re.IGNORECASE) or re.fullmatch(loose_regex, _loose(actual), re.DOTALL):
        return None  # equal but for case or accents: the column's collation decides
    return False


def _negate(result: bool | None) -> bool | None:
    return None if result is None else not result


def _any(results: Sequence[bool | None]) -> bool | None:
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def selects(kind: Kind, op: Op, value: str, item: Mapping[str, Any], field: str) -> bool | None:
    """Whether ``field <op> value`` selects ``item``: True, False, or None where the collation decides.

    SQL's three-valued logic: a missing (NULL) field satisfies only ``is null``.
    """
    actual = item.get(field)
    if op is Op.IS_NULL:
        return actual is None
    if op is Op.NOT_NULL:
        return actual is not None
    if actual is None:
        return False
    if op is Op.EQ:
        return _equal(kind, actual, value)
    if op is Op.NE:
        return _negate(_equal(kind, actual, value))
    if op in (Op.IN, Op.NOT_IN):
        inside = _any([_equal(kind, actual, v) for v in value.split(",")])
        return inside if op is Op.IN else _negate(inside)
    if op in (Op.LIKE, Op.NOT_LIKE):
        matched = _like(str(actual), value) if kind is Kind.STRING else None
        return matched if op is Op.LIKE else _negate(matched)
    order = _compare(kind, actual, value)
    if order is None:
        return None
    return {Op.GT: order > 0, Op.LT: order < 0, Op.GE: order >= 0, Op.LE: order <= 0}[op]


@dataclass(frozen=True)
class Selection:
    """Which items of the listing a condition must return, must not return, and may return either way."""

    included: list[Mapping[str, Any]]
    excluded: list[Mapping[str, Any]]
    undecided: list[Mapping[str, Any]]


def expected_selection(
    items: Sequence[Mapping[str, Any]], field: str, kind: Kind, op: Op, value: str = ""
) -> Selection:
    included: list[Mapping[str, Any]] = []
    excluded: list[Mapping[str, Any]] = []
    undecided: list[Mapping[str, Any]] = []
    for item in items:
        verdict = selects(kind, op, value, item, field)
        (included if verdict is True else excluded if verdict is False else undecided).append(item)
    return Selection(included, excluded, undecided)


# ---------------------------------------------------------------------------------------------------------
# Choosing a condition for each operator from a first listing


@dataclass(frozen=True)
class OperatorCase:
    field: str
    kind: Kind
    op: Op
    value: str
    why: str  # why this field suits the operator, shown in the report

    @property
    def condition(self) -> str:
        return condition(self.field, self.op, self.value)


def _like_pattern(value: str) -> str | None:
    """A LIKE pattern that matches ``value`` and more: the middle of it between wildcards."""
    if any(c in value for c in "%_\\") or not value.strip():
        return None  # wildcards, and MySQL's LIKE escape character, would not mean themselves
    middle = value[len(value) // 4 : len(value) - len(value) // 4] or value
    return f"%{middle}%"


Candidate = tuple[FieldProfile, str, str]  # field, condition value as written, why it suits the operator


def _in_order(profile: FieldProfile) -> list[Any]:
    return sorted(profile.distinct, key=lambda value: sort_key(profile.kind, value))


def _candidates(profiles: Sequence[FieldProfile], op: Op) -> list[Candidate]:
    """Every field and value of the listing that suits ``op``, in order of preference."""
    queryable_ = [p for p in profiles if queryable(p) and p.present]
    # uuid last: it selects one item at most, which says less about an operator than a shared value does.
    scalars = [p for p in queryable_ if p.name != "uuid"] + [p for p in queryable_ if p.name == "uuid"]
    if op in UNARY:
        ordered = [p for p in scalars if p.on_some_only] + [p for p in scalars if not p.on_some_only]
        return [
            (p, "", "absent on some items" if p.on_some_only else "present on every item (no field is absent on some)")
            for p in ordered
        ]
    if op in (Op.LIKE, Op.NOT_LIKE):
        return [
            (p, pattern, f"a string field; the pattern is taken from its value {v!r}")
            for p in scalars
            if p.kind is Kind.STRING
            for v in p.distinct
            if (pattern := _like_pattern(v)) is not None
        ]
    if op in ORDERING:
        # uuid before other strings: a plain varchar in every table, where another string may be an enum column.
        strings = [p for p in queryable_ if p.kind is Kind.STRING and plainly_ordered(p)]
        ordered = [p for p in scalars if p.kind is Kind.NUMBER] + sorted(strings, key=lambda p: p.name != "uuid")
        return [
            (p, wire_value(v), f"a {'numeric' if p.kind is Kind.NUMBER else 'plainly ordered string'} field")
            for p in ordered
            for v in _in_order(p)
        ]
    if op in (Op.IN, Op.NOT_IN):
        return [
            (p, ",".join(wire_value(v) for v in p.distinct[i : i + 2]), "a scalar field; values of the listing")
            for p in scalars
            for i in range(len(p.distinct))
            if all("," not in wire_value(v) for v in p.distinct[i : i + 2])
        ]
    return [(p, wire_value(v), "a scalar field; a value of the listing") for p in scalars for v in p.distinct]


def choose_operator_case(items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any], op: Op) -> OperatorCase | str:
    """A field and value of the listing that suit ``op``, or why there is none (the test skips with it).

    Strings for like; numbers or plainly ordered strings for > < >= <=; a field absent on some items first for
    is null / not null; only values the server reads back as written (no operator inside them). A condition
    that selects some items of the listing and leaves out others is preferred: it tells a server that ignores
    the condition from one that applies it.
    """
    if not items:
        return "the listing is empty: no field or value to take a condition from"
    fitting = [
        OperatorCase(p.name, p.kind, op, value, why)
        for p, value, why in _candidates(profile_fields(items, schema), op)
        if reads_as_meant(p.name, op, value)
    ]
    if not fitting:
        return f"no documented field of the listing suits '{SYMBOL[op]}' with a value the server reads as written"

    def telling(case: OperatorCase) -> bool:
        chosen = expected_selection(items, case.field, case.kind, op, case.value)
        return bool(chosen.included) and bool(chosen.excluded)

    return next((case for case in fitting if telling(case)), fitting[0])


# ---------------------------------------------------------------------------------------------------------
# What the properties draw from: small, finite lists taken from the listing, so that hypothesis tries each
# once and stops (the example budget bounds them; it does not have to fill it).

MAX_PAGES = 8  # pages per paging example, so a long listing costs a bounded number of requests
VALUES_PER_FIELD = 1  # the first item's: every field is filtered on, with a value some item has
COUNT_CONDITIONS = 3  # besides no condition at all


def spread(values: Sequence[Any], most: int = 3) -> list[Any]:
    """At most ``most`` of the values, from the first to the last and evenly between."""
    if len(values) <= most:
        return list(values)
    step = (len(values) - 1) / (most - 1)
    return [values[round(i * step)] for i in range(most)]


def limits(length: int) -> list[int]:
    """Limits below the listing's length (so an ignored limit shows), or 1 for a listing of one."""
    return spread(range(1, max(2, length)))


def page_sizes(length: int) -> list[int]:
    """Page sizes that split the listing into 2..MAX_PAGES pages (1 for a listing of one)."""
    smallest = max(1, -(-length // MAX_PAGES))
    return spread(range(smallest, max(smallest + 1, length)))


def filter_cases(items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> list[tuple[FieldProfile, str]]:
    """(field, value) pairs for q=f=v and q=f!=v: a few values of each queryable field, written as the server reads
    them back."""
    out = []
    for profile in profile_fields(items, schema):
        if not queryable(profile):
            continue
        texts = [wire_value(v) for v in profile.distinct]
        fitting = [
            t for t in texts if reads_as_meant(profile.name, Op.EQ, t) and reads_as_meant(profile.name, Op.NE, t)
        ]
        out += [(profile, t) for t in fitting[:VALUES_PER_FIELD]]
    return out


def count_conditions(
    items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]
) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """One q=f=v per queryable field, with the items it selects: only conditions no collation could decide
    otherwise, so that the total they must count is known."""
    out: list[tuple[str, list[Mapping[str, Any]]]] = []
    for profile, text in filter_cases(items, schema):
        if any(cond.startswith(f"{profile.name}=") for cond, _ in out):
            continue
        chosen = expected_selection(items, profile.name, profile.kind, Op.EQ, text)
        if not chosen.undecided:
            out.append((condition(profile.name, Op.EQ, text), chosen.included))
    return out[:COUNT_CONDITIONS]


def field_choices(items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """fields= values: one field alone, then the documented scalar fields the listing shows, two by two (each
    field is named once)."""
    names = [p.name for p in profile_fields(items, schema) if p.present]
    pairs = [tuple(names[i : i + 2]) for i in range(0, len(names), 2)]
    return [(names[0],), *pairs] if names else []


def sort_cases(items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> list[tuple[FieldProfile, bool]]:
    """(field, descending) for sort=: fields with two values or more that every database orders alike, the first
    of each kind (a number, a date, uuid or else a plain string), both ways."""
    fields = [
        p
        for p in profile_fields(items, schema)
        if len(p.distinct) > 1 and p.kind is not Kind.BOOLEAN and plainly_ordered(p)
    ]
    strings = sorted((p for p in fields if p.kind is Kind.STRING), key=lambda p: p.name != "uuid")
    chosen = [
        next(p for p in fields if p.kind is kind)
        for kind in (Kind.NUMBER, Kind.DATE)
        if any(p.kind is kind for p in fields)
    ] + strings[:1]
    return [(p, descending) for p in chosen for descending in (False, True)]
