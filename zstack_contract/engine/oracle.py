"""What the contract expects of an arbitrary (generated) query, judged the way ZStack reads query strings.

Generation modes (schemathesis' positive/negative) say what the generator *meant*; this module decides from
what actually goes on the wire, following the protocol notes §1 ("GET / DELETE query string → message fields"):
repeated or indexed keys make lists, a scalar given twice is refused with 400, unknown keys are ignored,
numbers go through Java's ``Double.valueOf(v).intValue()``, so ``8000.9`` is accepted as 8000.

The expectations themselves come from :mod:`zstack_contract.generation.expectations`, the table the example cases use.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

from zstack_contract.generation import expectations as table
from zstack_contract.generation.expectations import Expectation
from zstack_contract.specs.contract import ApiContract

# Every pattern is ASCII-only: Python's \d and \s match Unicode digits and spaces, Java's number grammar does not
# (Double.valueOf rejects '٨٠٠٠'), and String.trim() strips exactly the chars U+0000..U+0020.
_STRICT_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_JAVA_BLANKS = "".join(map(chr, range(0x21)))
_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<digits>[0-9]+\.?[0-9]*|\.[0-9]+)(?P<exp>[eE][+-]?[0-9]+)?[dDfF]?", re.ASCII)
_HEX = re.compile(
    r"(?P<sign>[+-]?)0[xX](?P<mantissa>[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP](?P<exp>[+-]?[0-9]+)[dDfF]?",
    re.ASCII,
)
_SPECIAL = re.compile(r"(?P<sign>[+-]?)(?P<word>NaN|Infinity)", re.ASCII)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def java_double_int_value(text: str) -> int | None:
    """``Double.valueOf(text).intValue()``, or None where Java throws NumberFormatException."""
    trimmed = text.strip(_JAVA_BLANKS)
    value: float
    if m := _SPECIAL.fullmatch(trimmed):
        value = math.nan if m["word"] == "NaN" else math.inf
    elif m := _DECIMAL.fullmatch(trimmed):
        value = float(m["digits"] + (m["exp"] or ""))
    elif m := _HEX.fullmatch(trimmed):
        value = _hex_float(m["mantissa"], int(m["exp"]))
    else:
        return None
    if m["sign"] == "-":
        value = -value
    if math.isnan(value):
        return 0
    # (int) of a double saturates at the int range and truncates toward zero.
    return INT_MAX if value >= INT_MAX else INT_MIN if value <= INT_MIN else math.trunc(value)


def _hex_float(mantissa: str, exponent: int) -> float:
    whole, _, fraction = mantissa.partition(".")
    significand = int(whole + fraction or "0", 16)
    if significand == 0:
        return 0.0
    scale = exponent - 4 * len(fraction)
    magnitude = significand.bit_length() + scale  # the value lies in [2**(magnitude-1), 2**magnitude)
    if magnitude > 1024:
        return math.inf  # above Double.MAX_VALUE: Java rounds to Infinity
    if magnitude < -1100:
        return 0.0
    # 64 significant bits are plenty for intValue(), and float() of them cannot overflow.
    shift = max(significand.bit_length() - 64, 0)
    try:
        return math.ldexp(float(significand >> shift), scale + shift)
    except OverflowError:
        return math.inf


def _group(pairs: Iterable[tuple[str, str]], list_names: set[str]) -> tuple[dict[str, list[str]], list[str], bool]:
    """Query pairs → field values (lists from repeated and indexed keys), duplicated scalars, indexed keys used."""
    values: dict[str, list[str]] = defaultdict(list)
    duplicates: list[str] = []
    indexed = False
    for key, value in pairs:
        name, _, index = key.partition(".")
        if index and name in list_names:
            values[name].append(value)
            indexed = True
        elif not index:
            if values.get(name) and name not in list_names and name not in duplicates:
                duplicates.append(name)
            values[name].append(value)
    return dict(values), duplicates, indexed


def expectation_for(api: ApiContract, pairs: Iterable[tuple[str, str]]) -> Expectation:
    """The expectation for one concrete query against ``api``."""
    schema = api.request_schema
    properties: dict[str, dict[str, object]] = schema.get("properties", {})
    list_names = {name for name, prop in properties.items() if prop.get("type") == "array"}
    values, duplicates, indexed = _group(pairs, list_names)
    if duplicates:
        return table.duplicate_scalar(duplicates[0])
    # ZStack converts every query value to its field type before it validates the message (protocol notes §1):
    # a non-numeric integer fails in the conversion (HTTP 500) even when another field is missing or empty.
    for name, prop in properties.items():
        if prop.get("type") == "integer" and name in values and java_double_int_value(values[name][0]) is None:
            return table.non_numeric()
    for name in schema.get("required", []):
        if name not in values:
            return table.invalid_argument(f"{table.VALIDATION_BASIS} ({name} is required)")
    unspecified: Expectation | None = None
    for name, prop in properties.items():
        if name not in values or name in list_names:
            continue
        value = values[name][0]
        if prop.get("type") == "string" and prop.get("minLength", 0) and value == "":
            return table.invalid_argument()
        if prop.get("type") == "string" and prop.get("minLength", 0) and not value.strip():
            unspecified = unspecified or table.blank_string()
        if prop.get("type") == "integer":
            number = java_double_int_value(value)
            if number is None:
                return table.non_numeric()
            low, high = prop.get("minimum"), prop.get("maximum")
            in_range = not ((isinstance(low, int) and number < low) or (isinstance(high, int) and number > high))
            strict = _STRICT_INTEGER.fullmatch(value) is not None
            if not in_range:
                return table.out_of_range("the request schema") if strict else table.loosely_numeric_out_of_range()
            if not strict:
                unspecified = unspecified or table.loosely_numeric()
    if unspecified is not None:
        return unspecified
    if indexed:
        return table.indexed_list_keys()
    if set(values) - set(properties):
        return table.unknown_parameter()
    return table.valid_request()
