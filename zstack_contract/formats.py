"""Formats the contract asserts (jsonschema only checks ``format`` when given a checker that knows it)."""

from __future__ import annotations

import re
from datetime import datetime

from jsonschema import FormatChecker

from zstack_contract.derive import GSON_DATE_FORMAT

# Gson's default US DateFormat.DEFAULT: "Nov 14, 2017 10:20:57 PM". Newer JDKs (CLDR data) print a comma
# after the year and U+202F (narrow no-break space) before AM/PM; all four combinations occur in the wild.
_GSON_DATE = re.compile(
    r"^(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4}),? "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})[ \u202f](?P<ampm>AM|PM)$"
)


def is_gson_date(value: object) -> bool:
    """True for a string Gson's default US format could have written (and that names a real date)."""
    if not isinstance(value, str):
        return True  # format applies to strings only; the type keyword catches the rest
    match = _GSON_DATE.match(value)
    if match is None:
        return False
    normalised = "{month} {day} {year} {hour}:{minute}:{second} {ampm}".format(**match.groupdict())
    try:
        # %b and %p are locale-dependent; the C locale Python starts with names months and AM/PM in English.
        datetime.strptime(normalised, "%b %d %Y %I:%M:%S %p")
    except ValueError:
        return False
    return True


def format_checker() -> FormatChecker:
    """jsonschema's own format checks plus the ZStack ones."""
    checker = FormatChecker()
    checker.checks(GSON_DATE_FORMAT)(is_gson_date)
    return checker
