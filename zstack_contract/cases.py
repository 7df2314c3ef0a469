"""The requests the example tests send, derived from each API's spec and overlay (never typed per field).

Expectations cite the protocol notes (``zstack-rest-protocol.md``) section they come from, so a finding
says not only what broke but why the suite expected otherwise.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from zstack_contract.checks import Expectation, Outcome
from zstack_contract.contract import ApiContract
from zstack_contract.spec import Param

INVALID_ARGUMENT = "SYS.1007"
INVALID_SESSION = "ID.1001"
MISSING_AUTH_TEXT = "missing header 'Authorization'"
WRONG_SCHEME_TEXT = "Authorization type must be 'OAuth'"
UNKNOWN_PARAM = "zstackContractUnknownParam"
# Tag values the suite writes into list parameters: clearly its own, and harmless to any tag parser.
TAG_VALUES = ("zstack-contract::probe-a", "zstack-contract::probe-b")

_VALIDATION_BASIS = "protocol notes §1 'Parameter validation': argerr → HTTP 503 SYS.1007"
_NON_NUMERIC_BASIS = (
    "protocol notes §1 'Number parsing': real ZStack answers HTTP 500 plain text 'For input string' here "
    "(NumberFormatException escapes), which breaks this should-rule"
)


def invalid_argument(basis: str = _VALIDATION_BASIS) -> Expectation:
    """Bad input: refused (must), with ZStack's 503 SYS.1007 (should)."""
    return Expectation(Outcome.REFUSED, should_status=503, should_code=INVALID_ARGUMENT, basis=basis)


def non_numeric() -> Expectation:
    """A non-numeric value for an integer parameter (real ZStack breaks the should part: HTTP 500)."""
    return invalid_argument(_NON_NUMERIC_BASIS)


def duplicate_scalar(name: str) -> Expectation:
    """A scalar given twice: ZStack's REST layer answers 400 plain text (should); must does not say."""
    return Expectation(
        Outcome.ANY,
        should_status=400,
        should_text=f"Invalid query parameter[{name}], only one value is allowed for the parameter but multiple "
        "values found",
        basis="protocol notes §1: a scalar given twice → HTTP 400 plain text",
    )


@dataclass(frozen=True)
class RequestCase:
    """One request of the example suite and what the contract expects of its answer."""

    id: str
    family: str  # parameters | auth | examples | shape
    query: tuple[tuple[str, str], ...]
    expectation: Expectation
    auth: str = "session"  # session | none | scheme | unknown-session | logged-out
    note: str = ""


@dataclass(frozen=True)
class PositiveValues:
    """Values for a request that should succeed; missing required ones make positive cases unavailable."""

    values: Mapping[str, str]
    missing: tuple[str, ...] = field(default=())

    def query(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.values.items())


def positive_values(api: ApiContract, configured: Mapping[str, str]) -> PositiveValues:
    names = {p.name for p in api.spec.parameters}
    values = {k: v for k, v in configured.items() if k in names}
    missing = tuple(p.name for p in api.spec.parameters if p.required and p.name not in values)
    return PositiveValues(values, missing)


def _integer_bounds(api: ApiContract, name: str) -> tuple[int | None, int | None]:
    schema = api.request_schema["properties"][name]
    return schema.get("minimum"), schema.get("maximum")


def _is_integer(api: ApiContract, name: str) -> bool:
    return bool(api.request_schema["properties"][name].get("type") == "integer")


def _is_list(api: ApiContract, name: str) -> bool:
    return bool(api.request_schema["properties"][name].get("type") == "array")


def list_parameter(api: ApiContract, param: Param) -> bool:
    """A list parameter of the query string (repeated or indexed keys on the wire)."""
    return param.location == "query" and _is_list(api, param.name)


def _without(query: tuple[tuple[str, str], ...], name: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in query if k != name)


def _with(query: tuple[tuple[str, str], ...], name: str, value: str) -> tuple[tuple[str, str], ...]:
    return (*_without(query, name), (name, value))


def parameter_cases(api: ApiContract, positive: PositiveValues) -> list[RequestCase]:
    """Each parameter rule the spec implies, applied to a request that is otherwise valid."""
    base = positive.query()
    refused = invalid_argument()
    cases: list[RequestCase] = []
    for param in api.spec.parameters:
        if param.location != "query":
            continue
        name = param.name
        if param.required:
            cases.append(RequestCase(f"missing-{name}", "parameters", _without(base, name), refused))
            if api.request_schema["properties"][name].get("type") == "string":
                cases.append(RequestCase(f"empty-{name}", "parameters", _with(base, name, ""), refused))
        if _is_integer(api, name):
            cases.append(
                RequestCase(
                    f"non-integer-{name}",
                    "parameters",
                    _with(base, name, "abc"),
                    non_numeric(),
                )
            )
            low, high = _integer_bounds(api, name)
            range_basis = f"{_VALIDATION_BASIS}; range from {api.overlay.source or 'the overlay'}"
            range_refused = invalid_argument(range_basis)
            if low is not None:
                cases.append(
                    RequestCase(f"below-range-{name}", "parameters", _with(base, name, str(low - 1)), range_refused)
                )
            if high is not None:
                cases.append(
                    RequestCase(f"above-range-{name}", "parameters", _with(base, name, str(high + 1)), range_refused)
                )
        if _is_list(api, name) and not positive.missing:
            repeated = (*base, *((name, v) for v in TAG_VALUES))
            cases.append(
                RequestCase(
                    f"repeated-keys-{name}",
                    "parameters",
                    repeated,
                    Expectation(
                        Outcome.SUCCESS, basis="protocol notes §1: lists as repeated keys (what the SDK sends)"
                    ),
                )
            )
            indexed = (*base, *((f"{name}.{i}", v) for i, v in enumerate(TAG_VALUES)))
            cases.append(
                RequestCase(
                    f"indexed-keys-{name}",
                    "parameters",
                    indexed,
                    Expectation(
                        Outcome.ANY, should_succeed=True, basis="protocol notes §1: lists as indexed keys k.0, k.1"
                    ),
                )
            )
        if not _is_list(api, name) and name in positive.values and not positive.missing:
            value = positive.values[name]
            cases.append(
                RequestCase(
                    f"duplicate-{name}",
                    "parameters",
                    (*base, (name, value)),
                    duplicate_scalar(name),
                )
            )
    if not positive.missing:
        cases.append(
            RequestCase(
                "unknown-parameter-ignored",
                "parameters",
                (*base, (UNKNOWN_PARAM, "1")),
                Expectation(
                    Outcome.ANY, should_succeed=True, basis="protocol notes §1: unknown query keys are ignored"
                ),
            )
        )
    return cases


def auth_cases(api: ApiContract, positive: PositiveValues) -> list[RequestCase]:
    """Requests that must be refused for want of a valid session (only for APIs that require one)."""
    if not api.spec.auth_required:
        return []
    base = positive.query()
    session_basis = "protocol notes §2 'Invalid or expired session': sync API → HTTP 503 ID.1001"
    return [
        RequestCase(
            "no-authorization-header",
            "auth",
            base,
            Expectation(
                Outcome.REFUSED,
                should_status=400,
                should_text=MISSING_AUTH_TEXT,
                basis="protocol notes §1 status table: missing Authorization → HTTP 400 plain text",
            ),
            auth="none",
        ),
        RequestCase(
            "non-oauth-scheme",
            "auth",
            base,
            Expectation(
                Outcome.REFUSED,
                should_status=400,
                should_text=WRONG_SCHEME_TEXT,
                basis="protocol notes §1 status table: scheme neither OAuth nor ZStack → HTTP 400",
            ),
            auth="scheme",
        ),
        RequestCase(
            "unknown-session",
            "auth",
            base,
            Expectation(Outcome.REFUSED, should_status=503, should_code=INVALID_SESSION, basis=session_basis),
            auth="unknown-session",
        ),
        RequestCase(
            "session-after-logout",
            "auth",
            base,
            Expectation(Outcome.REFUSED, should_status=503, should_code=INVALID_SESSION, basis=session_basis),
            auth="logged-out",
        ),
    ]


@dataclass(frozen=True)
class CurlRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]


class CurlParseError(ValueError):
    pass


def parse_curl(command: str) -> CurlRequest:
    """Parse the documented curl example (``-X``, a quoted URL, ``-H`` headers)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CurlParseError(f"cannot split the curl example: {exc}") from exc
    if not words or words[0] != "curl":
        raise CurlParseError(f"not a curl command: {command[:60]!r}")
    method, url, headers = "GET", None, {}
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-X", "--request"):
            method, i = words[i + 1], i + 2
        elif word in ("-H", "--header"):
            key, _, value = words[i + 1].partition(":")
            headers[key.strip()] = value.strip()
            i += 2
        elif word.startswith("http"):
            url, i = word, i + 1
        else:
            i += 1
    if url is None:
        raise CurlParseError(f"no URL in the curl example: {command[:80]!r}")
    parts = urlsplit(url)
    return CurlRequest(method, parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True)), headers)


_PLACEHOLDER = re.compile(r"^<(?P<name>\w+)>$")


def documented_request_query(
    curl: CurlRequest, positive: PositiveValues
) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """The example's query with ``<placeholders>`` filled from positive values; unfilled ones are dropped."""
    query: list[tuple[str, str]] = []
    dropped: list[str] = []
    for key, value in curl.query:
        placeholder = _PLACEHOLDER.match(value)
        if key in positive.values:
            query.append((key, positive.values[key]))
        elif placeholder:
            dropped.append(key)
        else:
            query.append((key, value))
    return tuple(query), dropped
