"""What the contract expects of an arbitrary (generated) query, judged the way ZStack reads query strings.

Generation modes (schemathesis' positive/negative) say what the generator *meant*; this module decides from
what actually goes on the wire, following the protocol notes §1 ("GET / DELETE query string → message fields"):
repeated or indexed keys make lists, a scalar given twice is refused with 400, unknown keys are ignored,
numbers go through Java's ``Double.valueOf(v).intValue()``, so ``8000.9`` is accepted as 8000.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from zstack_contract.cases import duplicate_scalar, invalid_argument, non_numeric
from zstack_contract.checks import Expectation, Outcome
from zstack_contract.contract import ApiContract

_STRICT_INTEGER = re.compile(r"^[+-]?\d+$")
# Strings Java's Double.valueOf accepts in the common forms (decimal, exponent, d/f suffix, surrounding blanks).
_JAVA_DECIMAL = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[dDfF]?\s*$")
_JAVA_SPECIAL = re.compile(r"^\s*[+-]?(?:NaN|Infinity|0[xX][0-9a-fA-F.]+[pP][+-]?\d+[dDfF]?)\s*$")

_NOTES = "protocol notes §1 'GET / DELETE query string → message fields'"


def _group(pairs: Iterable[tuple[str, str]], list_names: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Query pairs → field values (lists merged from repeated and indexed keys) and duplicated scalars."""
    values: dict[str, list[str]] = defaultdict(list)
    duplicates: list[str] = []
    for key, value in pairs:
        name, _, index = key.partition(".")
        if index and name in list_names:
            values[name].append(value)
        elif not index:
            if values.get(name) and name not in list_names and name not in duplicates:
                duplicates.append(name)
            values[name].append(value)
    return dict(values), duplicates


def expectation_for(api: ApiContract, pairs: Iterable[tuple[str, str]]) -> Expectation:
    """The expectation for one concrete query against ``api``."""
    schema = api.request_schema
    properties: dict[str, dict[str, object]] = schema.get("properties", {})
    list_names = {name for name, prop in properties.items() if prop.get("type") == "array"}
    values, duplicates = _group(pairs, list_names)
    refused = invalid_argument(f"{_NOTES}; parameter validation (argerr → 503 SYS.1007)")
    if duplicates:
        return duplicate_scalar(duplicates[0])
    for name in schema.get("required", []):
        if name not in values:
            return refused
    for name, prop in properties.items():
        if name not in values or name in list_names:
            continue
        value = values[name][0]
        if prop.get("type") == "string" and prop.get("minLength", 0) and value == "":
            return refused
        if prop.get("type") == "string" and prop.get("minLength", 0) and not value.strip():
            # Whether a blank string is "empty" depends on the server's trim; the contract does not say.
            return Expectation(Outcome.ANY, basis=f"{_NOTES}: a blank (not empty) string is not specified")
        if prop.get("type") == "integer":
            if _STRICT_INTEGER.match(value):
                number = int(value)
                low, high = prop.get("minimum"), prop.get("maximum")
                if (isinstance(low, int) and number < low) or (isinstance(high, int) and number > high):
                    return refused
            elif _JAVA_DECIMAL.match(value) or _JAVA_SPECIAL.match(value):
                # ZStack truncates 8000.9 to 8000 (Double.valueOf(v).intValue()); a stricter server may refuse.
                return Expectation(Outcome.ANY, basis=f"{_NOTES}: 'Number parsing' truncates decimals")
            else:
                return non_numeric()
    return Expectation(
        Outcome.SUCCESS_OR_API_ERROR,
        basis="a valid query (per the derived request schema): 200 with a valid body, or a 503 ZStack envelope "
        "(e.g. the store cannot be reached)",
    )
