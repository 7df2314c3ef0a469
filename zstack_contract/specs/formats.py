"""Formats the contract asserts (jsonschema only checks ``format`` when given a checker that knows it)."""

from __future__ import annotations

import re
from datetime import datetime

from jsonschema import FormatChecker

# The JSON Schema format name of a Gson date (derived schemas name it; the checker below knows it).
GSON_DATE_FORMAT = "zstack-gson-date"

# Gson's default US DateFormat.DEFAULT: "Nov 14, 2017 10:20:57 PM". Newer JDKs (CLDR data) print a comma
# after the year and U+202F (narrow no-break space) before AM/PM; all four combinations occur in the wild.
_GSON_DATE = re.compile(
    r"^(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4}),? "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})[ \u202f](?P<ampm>AM|PM)$",
    re.ASCII,  # \d would match any Unicode digit, and int() reads them: Gson writes ASCII digits only
)


# Gson writes with Locale.US whatever the server's locale; the names are spelt here rather than read from the
# process locale (strptime's %b and %p), which would make the verdict depend on the machine running the suite.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_gson_date(value: str) -> datetime | None:
    """The time a string in Gson's default US format names, or None when it is not one (or names no real time)."""
    match = _GSON_DATE.fullmatch(value)  # not match: its $ also matches before a final newline
    if match is None or match["month"] not in _MONTHS:
        return None
    hour = int(match["hour"])
    if not 1 <= hour <= 12:
        return None
    try:
        return datetime(
            int(match["year"]),
            _MONTHS.index(match["month"]) + 1,
            int(match["day"]),
            hour % 12 + (12 if match["ampm"] == "PM" else 0),
            int(match["minute"]),
            int(match["second"]),
        )
    except ValueError:  # no such day, minute or second
        return None


def is_gson_date(value: object) -> bool:
    """True for a string Gson's default US format could have written (and that names a real date)."""
    if not isinstance(value, str):
        return True  # format applies to strings only; the type keyword catches the rest
    return parse_gson_date(value) is not None


def java_length(text: str) -> int:
    """The length Java's String.length() gives: UTF-16 code units (a character beyond U+FFFF counts 2).

    ZStack's maxLength checks (a name of at most 255 characters) count these, not code points.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def format_checker() -> FormatChecker:
    """jsonschema's own format checks plus the ZStack ones."""
    checker = FormatChecker()
    checker.checks(GSON_DATE_FORMAT)(is_gson_date)
    return checker
