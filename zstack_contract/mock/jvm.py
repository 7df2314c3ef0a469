"""Java and Gson behaviour the real management node shows on the wire, re-created by hand.

ZStack parses query-string numbers with ``Double.valueOf(v).intValue()`` and ``Integer.parseInt``, and
formats dates with Gson's default US DateFormat. The mock must reproduce their quirks exactly, error
texts included.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

# Java's String.trim() strips every char <= U+0020, not Unicode whitespace.
_JAVA_TRIM_CHARS = "".join(chr(code) for code in range(0x21))

# FloatingDecimal.readJavaFormatString's grammar. The digits are ASCII only, unlike Python's float().
_JAVA_DECIMAL = re.compile(r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)")
_JAVA_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?")
_JAVA_INT = re.compile(r"[+-]?[0-9]+")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class NumberFormatError(ValueError):
    """java.lang.NumberFormatException; str() is the JDK's getMessage() text."""


def java_trim(text: str) -> str:
    return text.strip(_JAVA_TRIM_CHARS)


def _for_input_string(text: str) -> NumberFormatError:
    return NumberFormatError(f'For input string: "{text}"')


def parse_int(text: str) -> int:
    """Integer.parseInt(text): an optional sign then ASCII digits, within the int range, no trimming."""
    if not _JAVA_INT.fullmatch(text):
        raise _for_input_string(text)
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise _for_input_string(text)
    return value


def parse_double(text: str) -> float:
    """Double.valueOf(text), including its trimming, hex floats, type suffixes, NaN and Infinity."""
    # readJavaFormatString reassigns the trimmed string before building its error message.
    trimmed = java_trim(text)
    if not trimmed:
        raise NumberFormatError("empty String")
    if _JAVA_DECIMAL.fullmatch(trimmed):
        return float(trimmed.rstrip("fFdD"))
    if _JAVA_HEX.fullmatch(trimmed):
        # The suffix follows the decimal exponent, so stripping f/F/d/D cannot eat hex digits.
        hex_text = trimmed.rstrip("fFdD")
        try:
            return float.fromhex(hex_text)
        except OverflowError:
            # Java rounds an out-of-range hex float to Infinity rather than failing.
            return -math.inf if hex_text.startswith("-") else math.inf
    raise _for_input_string(trimmed)


def int_value(value: float) -> int:
    """(int) of a double: NaN is 0, out-of-range values saturate, and the rest truncate toward zero."""
    if math.isnan(value):
        return 0
    if value >= INT_MAX:
        return INT_MAX
    if value <= INT_MIN:
        return INT_MIN
    return math.trunc(value)


def parse_double_int_value(text: str) -> int:
    """TypeUtils.stringToValue for an int field: Double.valueOf(text).intValue()."""
    return int_value(parse_double(text))


def gson_date(moment: datetime) -> str:
    """Format a naive server-local time like Gson's default US DateFormat ("MMM d, yyyy h:mm:ss a").

    Written out by hand because strftime's %b and %p depend on the process locale.
    """
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    clock = f"{hour}:{moment.minute:02d}:{moment.second:02d} {half}"
    return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year} {clock}"


def java_length(text: str) -> int:
    """String.length(): UTF-16 code units, so a character outside the BMP counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
