"""ZStack's Query API engine, shared by QueryZone, QueryBackupStorage and QueryDatabaseBackup.

Parsing follows ``RestServer.handleQueryApi`` (protocol notes §6): every parameter's first value is Java-trimmed;
``limit`` and ``start`` go through ``Integer.valueOf`` and a failure is a 400 plain text; ``q`` conditions are split
at the first operator of a fixed list that the condition *contains*, so ``name=a!=b`` is ``name=a`` != ``b``;
``count`` and ``replyWithCount`` are ``Boolean.valueOf``; unknown keys are ignored. Evaluation follows the query
facade (ZQL over MySQL): conditions are ANDed with SQL NULL semantics (a null field matches no comparison, not even
!=), ``like`` uses % and _, in-lists are comma-separated and trimmed, numbers compare as numbers and dates as time.
What the mock decides where the source was not followed to the end is marked [I].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zstack_contract.mock import jvm
from zstack_contract.mock.family import Kind, Record

DEFAULT_LIMIT = 1000

# RestServer.QUERY_OP_MAPPING, in its order: an operator contained in another comes after it. Values are QueryOp's.
OPERATORS: tuple[tuple[str, str], ...] = (
    ("!=", "!="),
    (">=", ">="),
    ("<=", "<="),
    ("!?=", "not in"),
    ("!~=", "not like"),
    ("~=", "like"),
    ("?=", "in"),
    ("=", "="),
    (">", ">"),
    ("<", "<"),
    ("is null", "is null"),
    ("not null", "is not null"),
)
# Arrays.asList(keySet()) wraps the set in a one-element list, hence the double brackets in the 400 text.
_OPERATOR_LIST = "[[" + ", ".join(symbol for symbol, _ in OPERATORS) + "]]"
_NULL_OPS = frozenset({"is null", "is not null"})
_NEGATED = {"!=": "=", "not in": "in", "not like": "like"}

# Integer.valueOf: an optional sign, then digits; Character.digit accepts any Unicode decimal digit, like \d.
_JAVA_INTEGER = re.compile(r"[+-]?\d+")
_GSON_DATE = re.compile(
    r"(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4}),? "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"[ \u202f](?P<half>AM|PM)"
)
_SQL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?:\.\d{1,9})?")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class QueryRefusedError(Exception):
    """RestServer refuses the query string itself: HTTP 400 with this plain text."""


class QueryFailedError(Exception):
    """The query facade fails the message: a 503 with this error code and details."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Condition:
    name: str
    op: str  # QueryOp's text: "=", "not in", "is not null"...
    value: str | None


@dataclass
class QuerySpec:
    """An APIQueryMessage as RestServer fills it."""

    conditions: list[Condition] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    start: int | None = None
    count: bool = False
    reply_with_count: bool = False
    sort_by: str | None = None
    sort_direction: str = "asc"
    fields: list[str] | None = None
    group_by: str | None = None


@dataclass(frozen=True)
class Quirks:
    """Defects a deviating server has in its query engine; all off is ZStack's behaviour.

    The q defects live in the parser, so the short form's uuid condition is never affected by them.
    """

    limit_ignored: bool = False
    start_one_based: bool = False
    count_plus_one: bool = False
    total_missing: bool = False
    conditions_ignored: bool = False
    ne_as_eq: bool = False
    fields_ignored: bool = False
    sort_reversed: bool = False
    non_integer_limit_accepted: bool = False
    operatorless_condition_accepted: bool = False


def short_form(uuid: str) -> QuerySpec:
    """GET /<resources>/{uuid}: the condition uuid=<uuid>, every query parameter ignored."""
    return QuerySpec(conditions=[Condition("uuid", "=", uuid)])


def java_split(text: str, separator: str) -> list[str]:
    """String.split with a literal separator: trailing empty strings are removed, and no match gives [text]."""
    parts = text.split(separator)
    if len(parts) == 1:
        return parts
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def split_by_whole_separator(text: str, separator: str, limit: int) -> list[str]:
    """commons-lang StringUtils.splitByWholeSeparator(text, separator, max): adjacent separators are skipped."""
    parts: list[str] = []
    begin, end, length = 0, 0, len(text)
    while end < length:
        end = text.find(separator, begin)
        if end > -1:
            if end > begin:
                if len(parts) + 1 == limit:
                    parts.append(text[begin:])
                    end = length
                else:
                    parts.append(text[begin:end])
                    begin = end + len(separator)
            else:
                begin = end + len(separator)
        else:
            parts.append(text[begin:])
            end = length
    return parts


def parse_java_integer(text: str) -> int:
    """Integer.valueOf(text); raises NumberFormatError like the JDK."""
    if not _JAVA_INTEGER.fullmatch(text):
        raise jvm.NumberFormatError(f'For input string: "{text}"')
    value = int(text)
    if not jvm.INT_MIN <= value <= jvm.INT_MAX:
        raise jvm.NumberFormatError(f'For input string: "{text}"')
    return value


def _java_boolean(text: str) -> bool:
    return text.lower() == "true"


def parse_condition(text: str, quirks: Quirks = Quirks()) -> Condition | None:
    """One ``q`` value as a condition; None when a deviating server drops it."""
    found = next(((symbol, op) for symbol, op in OPERATORS if symbol in text), None)
    if found is None:
        if quirks.operatorless_condition_accepted:
            return None
        raise QueryRefusedError(
            f"Invalid query parameter. The '{text}' in the parameter[q] doesn't contain any query operator. "
            f"Valid query operators are {_OPERATOR_LIST}"
        )
    symbol, op = found
    parts = split_by_whole_separator(text, symbol, 2)
    if op in _NULL_OPS:
        return Condition(jvm.java_trim(parts[0]) if parts else "", op, None)
    if len(parts) != 2:
        raise QueryRefusedError(
            f"Invalid query parameter. The '{text}' in parameter[q] is not a key-value pair split by {op}"
        )
    # The value is not trimmed: a space is valid in some conditions.
    return Condition(jvm.java_trim(parts[0]), op, parts[1])


def _integer(name: str, text: str) -> int:
    try:
        return parse_java_integer(text)
    except jvm.NumberFormatError:
        raise QueryRefusedError(f"Invalid query parameter. '{name}' must be an integer") from None


def parse(params: Iterable[tuple[str, list[str]]], quirks: Quirks = Quirks()) -> QuerySpec:
    """The query string (keys in order, each with all its values) as RestServer turns it into the message."""
    spec = QuerySpec()
    for key, values in params:
        name = jvm.java_trim(key)
        value = jvm.java_trim(values[0])
        if name == "limit":
            try:
                spec.limit = _integer("limit", value)
            except QueryRefusedError:
                if not quirks.non_integer_limit_accepted:
                    raise
        elif name == "start":
            spec.start = _integer("start", value)
        elif name == "count":
            spec.count = _java_boolean(value)
        elif name == "groupBy":
            spec.group_by = value
        elif name == "replyWithCount":
            spec.reply_with_count = _java_boolean(value)
        elif name == "sort":
            spec.sort_direction = "desc" if value.startswith("-") else "asc"
            spec.sort_by = value.lstrip("+") if value.startswith("+") else value.lstrip("-")
        elif "q".startswith(name) and not quirks.conditions_ignored:
            # RestServer tests "q".startsWith(name), so an empty key carries conditions too.
            for text in values:
                condition = parse_condition(text, quirks)
                if condition is not None and quirks.ne_as_eq and condition.op == "!=":
                    condition = Condition(condition.name, "=", condition.value)
                if condition is not None:
                    spec.conditions.append(condition)
        elif name == "fields":
            fields = [jvm.java_trim(part) for part in java_split(value, ",")]
            if not fields:
                raise QueryRefusedError("Invalid query parameter. 'fields' contains zero field")
            spec.fields = fields
    return spec


# Evaluation.


def _argerr(details: str) -> QueryFailedError:
    return QueryFailedError("SYS.1007", details)


def parse_time(text: str) -> datetime | None:
    """A date as the API prints it (Gson, with or without the CLDR comma) or as SQL writes it; None otherwise."""
    gson = _GSON_DATE.fullmatch(text)
    try:
        if gson is not None:
            if gson["month"] not in _MONTHS:
                return None
            hour = int(gson["hour"]) % 12 + (12 if gson["half"] == "PM" else 0)
            return datetime(
                int(gson["year"]),
                _MONTHS.index(gson["month"]) + 1,
                int(gson["day"]),
                hour,
                int(gson["minute"]),
                int(gson["second"]),
            )
        sql = _SQL_DATE.fullmatch(text)
        if sql is not None:
            year, month, day, hour, minute, second = (int(part) for part in sql.groups()[:6])
            return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return None


def sql_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _typed(kind: Kind, name: str, field_type: str, text: str) -> object:
    """A condition value in the field's type [I: ZQL types the value by the field; a bad one fails the query]."""
    if field_type == "long":
        try:
            return jvm.parse_double(text)
        except jvm.NumberFormatError as exc:
            raise _argerr(f"failed to parse value[{text}] of field[{name}] on {kind.inventory_class}, {exc}") from None
    if field_type == "timestamp":
        moment = parse_time(text)
        if moment is None:
            raise _argerr(f"failed to parse value[{text}] of field[{name}] on {kind.inventory_class} as a timestamp")
        return moment
    return text


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE as a regex: % any run, _ one character, backslash escapes the next character."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def _as_text(value: object) -> str:
    if isinstance(value, datetime):
        return sql_date(value)
    return str(value)


def _compare(op: str, actual: object, wanted: Any) -> bool:
    if op == "=":
        return bool(actual == wanted)
    if op == ">":
        return bool(actual > wanted)
    if op == ">=":
        return bool(actual >= wanted)
    if op == "<":
        return bool(actual < wanted)
    if op == "<=":
        return bool(actual <= wanted)
    raise AssertionError(op)


def _scalar_matches(op: str, actual: object, condition_value: str, typed: object, in_values: list[object]) -> bool:
    """One non-null column value against a condition; negations are handled by the caller."""
    if op == "in":
        return any(actual == wanted for wanted in in_values)
    if op == "like":
        return _like(condition_value).fullmatch(_as_text(actual)) is not None
    return _compare(op, actual, typed)


@dataclass(frozen=True)
class _Bound:
    """A condition checked against the kind, with its value typed once."""

    field: str
    field_type: str
    op: str
    raw: str
    typed: object
    in_values: list[object]
    nested: _Bound | None = None

    def matches(self, record: Record) -> bool:
        value = record.get(self.field)
        if self.nested is not None:
            refs = value if isinstance(value, list) else []
            return any(isinstance(ref, dict) and self.nested.matches(ref) for ref in refs)
        if self.field_type == "strings":
            # A joined list: the resource matches when one of its elements does [I].
            elements = value if isinstance(value, list) else []
            if self.op in _NULL_OPS:
                return (not elements) == (self.op == "is null")
            return any(self._one(element) for element in elements)
        if self.op in _NULL_OPS:
            return (value is None) == (self.op == "is null")
        return self._one(value)

    def _one(self, value: object) -> bool:
        if value is None:
            # SQL NULL: neither f=v nor f!=v (nor not in, not like) holds.
            return False
        positive = _NEGATED.get(self.op, self.op)
        found = _scalar_matches(positive, value, self.raw, self.typed, self.in_values)
        return found != (positive != self.op)


def _bind(kind: Kind, condition: Condition) -> _Bound:
    name, _, rest = condition.name.partition(".")
    field_type = kind.fields.get(name)
    if field_type is None:
        raise _argerr(
            f"condition name[{condition.name}] is invalid, no such field on inventory class[{kind.inventory_class}]"
        )
    if rest:
        nested_kind = kind.nested.get(name)
        if nested_kind is None:
            raise _argerr(
                f"condition name[{condition.name}] is invalid, field[{name}] of inventory class"
                f"[{kind.inventory_class}] is not queryable as a nested field"
            )
        inner = _bind(nested_kind, Condition(rest, condition.op, condition.value))
        return _Bound(name, field_type, condition.op, "", None, [], nested=inner)
    if field_type == "refs":
        raise _argerr(f"condition name[{condition.name}] is invalid, field[{name}] is a nested inventory")
    raw = condition.value if condition.value is not None else ""
    element_type = "string" if field_type == "strings" else field_type
    typed: object = None
    in_values: list[object] = []
    if condition.op in {"in", "not in"}:
        parts = [jvm.java_trim(part) for part in java_split(raw, ",")] or [""]
        in_values = [_typed(kind, name, element_type, part) for part in parts if part or element_type == "string"]
    elif condition.op not in _NULL_OPS and condition.op not in {"like", "not like"}:
        typed = _typed(kind, name, element_type, raw)
    return _Bound(name, field_type, condition.op, raw, typed, in_values)


def _sort_key(record: Record, name: str) -> tuple[bool, Any]:
    value = record.get(name)
    # MySQL puts NULLs first in ascending order.
    return (value is not None, value if value is not None else 0)


def _check_primitive(kind: Kind, name: str, what: str) -> None:
    if not kind.is_primitive(name):
        raise QueryFailedError(
            "SYS.1000", f"illegal {what}[{name}], entity[{kind.inventory_class}] doesn't have this field"
        )


def run(spec: QuerySpec, kind: Kind, records: Sequence[Record], quirks: Quirks = Quirks()) -> dict[str, Any]:
    """Evaluate the query: {"inventories": [...]} and/or {"total": n}, with records still as Python values."""
    bound = [_bind(kind, condition) for condition in spec.conditions]
    if spec.fields is not None:
        primitives = [name for name, kind_type in kind.fields.items() if kind.is_primitive(name)]
        for name in spec.fields:
            if not kind.is_primitive(name):
                raise _argerr(
                    f"field[{name}] is not a primitive of the inventory {kind.inventory_class.rsplit('.', 1)[-1]}; "
                    f"you cannot specify it in the parameter 'fields';valid fields are [{', '.join(primitives)}]"
                )
    if spec.sort_by is not None:
        _check_primitive(kind, spec.sort_by, "sortBy")
    if spec.limit < 0 or (spec.start is not None and spec.start < 0):
        # [I] ZQL writes "limit -1" into its SQL, which MySQL rejects; the facade reports an internal error.
        raise QueryFailedError("SYS.1000", "java.lang.IllegalArgumentException: limit and offset cannot be negative")

    matching = [record for record in records if all(b.matches(record) for b in bound)]
    total = len(matching) + (1 if quirks.count_plus_one else 0)
    if spec.count:
        return {"total": total}

    if spec.sort_by is not None:
        descending = (spec.sort_direction == "desc") != quirks.sort_reversed
        matching.sort(key=lambda record: _sort_key(record, str(spec.sort_by)), reverse=descending)
    offset = spec.start or 0
    if quirks.start_one_based and spec.start is not None:
        offset = max(spec.start - 1, 0)
    page = matching[offset:] if quirks.limit_ignored else matching[offset : offset + spec.limit]
    if spec.fields is not None and not quirks.fields_ignored:
        wanted = set(spec.fields)
        page = [{name: value for name, value in record.items() if name in wanted} for record in page]
    result: dict[str, Any] = {"inventories": page}
    if spec.reply_with_count and not quirks.total_missing:
        result["total"] = total
    return result
