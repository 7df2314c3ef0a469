"""The alt server's Query API engine, written from protocol notes §6 and RestServer.handleQueryApi.

Parsing follows the REST layer (what it refuses with a plain-text 400, what it ignores); evaluation
follows what the generated SQL does on ZStack's MySQL schema: NULL semantics (a missing field
satisfies neither ``=`` nor ``!=``), case-insensitive utf8_general_ci string comparison, LIKE with
``%``/``_``, NULLs first in ascending order. Nothing here is shared with the embedded mock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeAlias

__all__ = [
    "FieldKind",
    "QueryFailedError",
    "QueryRefusedError",
    "QuerySpec",
    "Record",
    "Resource",
    "answer",
    "parse_query",
]

FieldKind: TypeAlias = Literal["string", "long", "date", "strings", "refs"]
Record: TypeAlias = Mapping[str, object]
JsonOut: TypeAlias = "dict[str, object]"

# The REST layer's table, in its matching order: an operator contained in another comes after it.
_OPERATORS: Final = (
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
# Java's List.toString of Arrays.asList(keySet()): a one-element list holding the set, hence [[...]].
_OPERATOR_LIST: Final = "[[" + ", ".join(symbol for symbol, _ in _OPERATORS) + "]]"
_DEFAULT_LIMIT: Final = 1000
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1


class QueryRefusedError(Exception):
    """A RestException of the REST layer: a plain-text 4xx before the message is even sent."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class QueryFailedError(Exception):
    """The query message failed behind the bus: a 503 with an error code."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Resource:
    """One queryable inventory type: its fields' kinds, its rows and how a row goes on the wire."""

    inventory_class: str
    fields: Mapping[str, FieldKind]
    rows: Callable[[], Sequence[Record]]
    render: Callable[[Record], JsonOut]
    ref_fields: Mapping[str, Mapping[str, FieldKind]]  # for "refs" fields: the nested fields' kinds
    ref_class: Mapping[str, str]  # for "refs" fields: the nested inventory class, for "schema"


@dataclass(frozen=True)
class Condition:
    name: str
    op: str  # QueryOp text: "=", "!=", "in", "like", "is null", ...
    value: str | None


@dataclass(frozen=True)
class QuerySpec:
    conditions: tuple[Condition, ...] = ()
    limit: int = _DEFAULT_LIMIT
    start: int | None = None
    count: bool = False
    reply_with_count: bool = False
    sort_by: str | None = None
    descending: bool = False
    fields: tuple[str, ...] | None = None
    group_by: str | None = None


# ---------------------------------------------------------------------------------------------
# Parsing: RestServer.handleQueryApi


def _java_split(text: str, separator: str) -> list[str]:
    # String.split: no match keeps the whole string; trailing empty strings are dropped.
    if separator not in text:
        return [text]
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _split_by_whole_separator(text: str, separator: str, limit: int) -> list[str]:
    """Commons-lang StringUtils.splitByWholeSeparator(text, separator, limit).

    Leading and repeated separators are skipped, so ``a==b`` splits into ``a`` and ``b`` and
    ``=b`` into the single ``b`` (which the REST layer then refuses as no key-value pair).
    """
    parts: list[str] = []
    begin = end = found = 0
    while end < len(text):
        end = text.find(separator, begin)
        if end == -1:
            parts.append(text[begin:])
            end = len(text)
        elif end > begin:
            found += 1
            if found == limit:
                parts.append(text[begin:])
                end = len(text)
            else:
                parts.append(text[begin:end])
                begin = end + len(separator)
        else:
            begin = end + len(separator)
    return parts


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _integer_value_of(text: str, name: str) -> int:
    # Integer.valueOf: optional sign, decimal digits (any Unicode Nd, as Character.digit allows), 32-bit.
    if re.fullmatch(r"[+-]?\d+", text) is not None:
        value = int(text)
        if _INT_MIN <= value <= _INT_MAX:
            return value
    raise QueryRefusedError(f"Invalid query parameter. '{name}' must be an integer")


def _parse_condition(text: str) -> Condition:
    for symbol, op in _OPERATORS:  # noqa: B007 - the loop finds the operator that is used below
        if symbol in text:
            break
    else:
        raise QueryRefusedError(
            f"Invalid query parameter. The '{text}' in the parameter[q] doesn't contain any query operator."
            f" Valid query operators are {_OPERATOR_LIST}"
        )
    parts = _split_by_whole_separator(text, symbol, 2)
    if op in ("is null", "is not null"):
        return Condition(_java_trim(parts[0]) if parts else "", op, None)
    if len(parts) != 2:
        raise QueryRefusedError(
            f"Invalid query parameter. The '{text}' in parameter[q] is not a key-value pair split by {op}"
        )
    # The value is deliberately not trimmed: a space can be part of it.
    return Condition(_java_trim(parts[0]), op, parts[1])


def parse_query(pairs: Sequence[tuple[str, str]], short_form_uuid: str | None) -> QuerySpec:
    """Turn the query string into a query, refusing what the REST layer refuses with a 400."""
    if short_form_uuid is not None:
        # GET /<resources>/{uuid}: one condition, every query parameter ignored.
        return QuerySpec(conditions=(Condition("uuid", "=", short_form_uuid),))

    # The servlet's parameter map: values grouped by raw name in first-seen order. Tomcat drops
    # parameters without a name.
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key:
            grouped.setdefault(key, []).append(value)

    conditions: list[Condition] = []
    limit, start = _DEFAULT_LIMIT, None
    count = reply_with_count = descending = False
    sort_by: str | None = None
    group_by: str | None = None
    fields: tuple[str, ...] | None = None
    for raw_name, values in grouped.items():
        name = _java_trim(raw_name)
        first = _java_trim(values[0])  # a repeated scalar parameter: the first value wins
        if name == "limit":
            limit = _integer_value_of(first, "limit")
        elif name == "start":
            start = _integer_value_of(first, "start")
        elif name == "count":
            count = first.lower() == "true"  # Boolean.valueOf
        elif name == "groupBy":
            group_by = first
        elif name == "replyWithCount":
            reply_with_count = first.lower() == "true"
        elif name == "sort":
            # No sign sorts ascending; StringUtils.stripStart drops every leading sign character.
            descending = first.startswith("-")
            sort_by = first.lstrip("-") if descending else first.lstrip("+")
        elif "q".startswith(name):  # the source's own test, so a blank name counts as q too
            conditions.extend(_parse_condition(value) for value in values)
        elif name == "fields":
            names = tuple(_java_trim(part) for part in _java_split(first, ","))
            if not names:
                raise QueryRefusedError("Invalid query parameter. 'fields' contains zero field")
            fields = names
        # Anything else (filterName, systemTags, unknown names) is ignored.
    return QuerySpec(
        conditions=tuple(conditions),
        limit=limit,
        start=start,
        count=count,
        reply_with_count=reply_with_count,
        sort_by=sort_by,
        descending=descending,
        fields=fields,
        group_by=group_by,
    )


# ---------------------------------------------------------------------------------------------
# Evaluation: what the generated SQL does


def _no_such_field(resource: Resource, name: str) -> QueryFailedError:
    # ZQL's failure surfaces through @MessageSafe as an internal error.
    short = resource.inventory_class.rsplit(".", 1)[-1]
    return QueryFailedError("SYS.1000", f"field[{name}] is not a queryable field of {short}")


def _collate(text: str) -> str:
    # utf8_general_ci: case-insensitive, and PAD SPACE ignores trailing blanks in comparisons.
    return text.rstrip(" ").casefold()


_NUMBER_PREFIX: Final = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def _as_number(text: str) -> float:
    # MySQL reads a string compared with a number by its numeric prefix, and as 0 without one.
    match = _NUMBER_PREFIX.match(text)
    return float(match.group(1)) if match else 0.0


def _as_date(text: str) -> datetime | None:
    # A DATETIME column accepts MySQL's literal forms; anything else compares as NULL.
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


_Key: TypeAlias = "tuple[int, float | str | datetime]"


def _typed(kind: FieldKind, value: object) -> float | str | datetime | None:
    if kind == "long":
        return float(value) if isinstance(value, (int, float)) else None
    if kind == "date":
        return value.replace(tzinfo=None) if isinstance(value, datetime) else None
    return _collate(value) if isinstance(value, str) else None


def _literal(kind: FieldKind, text: str) -> float | str | datetime | None:
    if kind == "long":
        return _as_number(text)
    if kind == "date":
        return _as_date(text)
    return _collate(text)


def _as_text(kind: FieldKind, value: object) -> str:
    # LIKE casts the column to a string first.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _like(pattern: str, text: str) -> bool:
    regex = []
    escaped = False
    for char in pattern:
        if escaped:
            regex.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            regex.append(".*")
        elif char == "_":
            regex.append(".")
        else:
            regex.append(re.escape(char))
    if escaped:
        regex.append(re.escape("\\"))
    return re.fullmatch("".join(regex), text, re.IGNORECASE | re.DOTALL) is not None


def _compare(op: str, left: float | str | datetime, right: float | str | datetime) -> bool:
    if type(left) is not type(right):
        return False
    if op in ("=", "!="):
        return (left == right) == (op == "=")
    ordered = {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}  # type: ignore[operator]
    return ordered[op]


def _scalar_matches(kind: FieldKind, value: object, condition: Condition) -> bool:
    """One SQL predicate on one column value; NULL satisfies only ``is null``."""
    op = condition.op
    if op == "is null":
        return value is None
    if op == "is not null":
        return value is not None
    typed = _typed(kind, value)
    assert condition.value is not None
    if typed is None:
        return False
    if op in ("like", "not like"):
        return _like(condition.value, _as_text(kind, value)) == (op == "like")
    if op in ("in", "not in"):
        items = _java_split(condition.value, ",") or [""]
        literals = [_literal(kind, item) for item in items]
        inside = any(literal is not None and _compare("=", typed, literal) for literal in literals)
        return inside == (op == "in")
    literal = _literal(kind, condition.value)
    return literal is not None and _compare(op, typed, literal)


def _matches(resource: Resource, row: Record, condition: Condition) -> bool:
    name = condition.name
    head, dot, tail = name.partition(".")
    kind = resource.fields.get(head)
    if kind is None:
        raise _no_such_field(resource, name)
    if kind == "refs":
        # A nested field is a join: the row matches when one of its references does.
        nested = resource.ref_fields[head]
        if not dot or tail not in nested:
            raise _no_such_field(resource, name)
        refs = row.get(head) or []
        assert isinstance(refs, list)
        return any(_scalar_matches(nested[tail], ref.get(tail), condition) for ref in refs)
    if dot:
        raise _no_such_field(resource, name)
    if kind == "strings":
        # A list of uuids is a reference table too: any element, and "is null" when it is empty.
        items = row.get(head) or []
        assert isinstance(items, list)
        if condition.op == "is null":
            return not items
        return any(_scalar_matches("string", item, condition) for item in items)
    return _scalar_matches(kind, row.get(head), condition)


def _sort_key(resource: Resource, name: str) -> Callable[[Record], _Key]:
    kind = resource.fields.get(name)
    if kind is None or kind in ("strings", "refs"):
        raise _no_such_field(resource, name)

    def key(row: Record) -> _Key:
        typed = _typed(kind, row.get(name))
        # MySQL puts NULLs first in ascending order (and so last in descending order).
        return (0, 0.0) if typed is None else (1, typed)

    return key


def _project(rendered: JsonOut, fields: Sequence[str]) -> JsonOut:
    # Gson omits nulls, so a requested field the row lacks is simply absent.
    return {name: rendered[name] for name in fields if name in rendered}


def _schema(resource: Resource, inventories: Sequence[JsonOut]) -> dict[str, str]:
    # The real server always attaches a "schema" map naming the class of each non-JDK object.
    schema: dict[str, str] = {}
    for index, item in enumerate(inventories):
        schema[f"inventories[{index}]"] = resource.inventory_class
        for field, ref_class in resource.ref_class.items():
            refs = item.get(field)
            if isinstance(refs, list):
                for ref_index in range(len(refs)):
                    schema[f"inventories[{index}].{field}[{ref_index}]"] = ref_class
    return schema


def answer(resource: Resource, spec: QuerySpec) -> JsonOut:
    """Run a parsed query against the resource and build the 200 reply."""
    if spec.limit < 0 or (spec.start is not None and spec.start < 0):
        # Negative bounds reach JPA's setMaxResults/setFirstResult, which throw.
        raise QueryFailedError("SYS.1000", "negative value passed to query limit or offset")
    sort_key = _sort_key(resource, spec.sort_by) if spec.sort_by is not None else None
    for name in spec.fields or ():
        if name not in resource.fields:
            raise _no_such_field(resource, name)
    rows = [row for row in resource.rows() if all(_matches(resource, row, c) for c in spec.conditions)]
    if spec.group_by is not None:
        group_key = _sort_key(resource, spec.group_by)
        seen: set[_Key] = set()
        grouped = []
        for row in rows:
            key = group_key(row)
            if key not in seen:
                seen.add(key)
                grouped.append(row)
        rows = grouped
    total = len(rows)
    if spec.count:
        return {"total": total, "schema": {}}
    if sort_key is not None:
        rows.sort(key=sort_key, reverse=spec.descending)
    start = spec.start or 0
    page = rows[start : start + spec.limit]
    inventories = [resource.render(row) for row in page]
    if spec.fields is not None:
        inventories = [_project(item, spec.fields) for item in inventories]
    reply: JsonOut = {"inventories": inventories}
    if spec.reply_with_count:
        reply["total"] = total
    reply["schema"] = _schema(resource, inventories)
    return reply
