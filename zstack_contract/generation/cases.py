"""The requests the example tests send, derived from each API's spec and overlay (never typed per field).

Expectations come from the one table in :mod:`zstack_contract.generation.expectations` (shared with the wire oracle and
the list-encodings property); each cites the protocol notes section it comes from, so a finding says not only
what broke but why the suite expected otherwise.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from zstack_contract.generation import expectations as table
from zstack_contract.generation.expectations import Expectation
from zstack_contract.specs.contract import ApiContract
from zstack_contract.specs.spec import Param

UNKNOWN_PARAM = "zstackContractUnknownParam"
# Tag values the suite writes into list parameters: clearly its own, and harmless to any tag parser.
TAG_VALUES = ("zstack-contract::probe-a", "zstack-contract::probe-b")


class AuthMode(StrEnum):
    """How a case authenticates: the run's session, or one of the ways ZStack must refuse."""

    SESSION = "session"
    NONE = "none"  # no Authorization header
    WRONG_SCHEME = "scheme"  # a non-OAuth scheme
    UNKNOWN_SESSION = "unknown-session"  # a well-formed session uuid the node never issued
    LOGGED_OUT = "logged-out"  # a session of the suite's own, logged out first


@dataclass(frozen=True)
class RequestCase:
    """One request of the example suite and what the contract expects of its answer."""

    id: str
    family: str  # parameters | auth | examples | shape
    query: tuple[tuple[str, str], ...]
    expectation: Expectation
    auth: AuthMode = AuthMode.SESSION
    note: str = ""


@dataclass(frozen=True)
class PositiveValues:
    """Values for a request that should succeed; missing required ones make positive cases unavailable.

    ``values`` go in the query string, ``path`` into the path's placeholders. A session path parameter is
    neither: the suite fills it with a session of its own (:func:`zstack_contract.pytest.exercise.send`).
    """

    values: Mapping[str, str]
    missing: tuple[str, ...] = field(default=())
    path: Mapping[str, str] = field(default_factory=dict)

    def query(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.values.items())


# The ZStack field that carries a session uuid; a path parameter of this name is one the suite fills itself.
SESSION_PARAMETER = "sessionUuid"


def suite_supplies(param: Param) -> bool:
    """A path parameter the suite fills itself: a session uuid (one of its own sessions)."""
    return param.location == "path" and param.name == SESSION_PARAMETER


def documented_flags(api: ApiContract) -> dict[str, str]:
    """Boolean flags the page's own curl example sets (GetBackupStorageCapacity's ``all=true``, without which the
    call lacks its subject): values the page shows working, so positive calls send them unless the user gives
    others. Booleans only: an example's literal number or text (``registryPort=1``) illustrates, it need not
    work on any node."""
    flags = {p.name for p in api.spec.parameters if p.location == "query" and p.type.lower() == "boolean"}
    return {
        key: value
        for key, value in _curl_query(api.spec.example.request_curl)
        if key in flags and value in ("true", "false")
    }


@lru_cache(maxsize=1024)
def _curl_query(curl_text: str) -> tuple[tuple[str, str], ...]:
    """The query pairs of a page's curl example (none when it does not parse), parsed once per text: every case
    builder of every API asks at collection."""
    try:
        return tuple(parse_curl(curl_text).query)
    except CurlParseError:
        return ()


def positive_values(api: ApiContract, configured: Mapping[str, str]) -> PositiveValues:
    params = api.spec.parameters
    configured = {**documented_flags(api), **configured}
    values = {k: v for k, v in configured.items() if k in {p.name for p in params if p.location == "query"}}
    path = {k: v for k, v in configured.items() if k in {p.name for p in params if p.location == "path"}}
    missing = tuple(
        p.name
        for p in params
        if p.required and p.location in ("query", "path") and p.name not in configured and not suite_supplies(p)
    )
    return PositiveValues(values, missing, path)


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


# A request's query string: (key, value) pairs in order, keys repeated for lists.
Query = tuple[tuple[str, str], ...]


def _without(query: tuple[tuple[str, str], ...], name: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in query if k != name)


def _with(query: tuple[tuple[str, str], ...], name: str, value: str) -> tuple[tuple[str, str], ...]:
    return (*_without(query, name), (name, value))


def parameter_cases(api: ApiContract, positive: PositiveValues) -> list[RequestCase]:
    """Each parameter rule the spec implies, applied to a request that is otherwise valid.

    A Query API's parameters (q, limit, start, fields, ...) are read by the Query engine, not as message fields
    (protocol notes §6): the message-field rules do not apply to them, and test_query.py tests them; only the
    rule both share (unknown keys are ignored) is checked here.
    """
    base = positive.query()
    cases: list[RequestCase] = []
    for param in () if api.is_query else api.spec.parameters:
        if param.location != "query":
            continue
        cases += _required_cases(api, param.name, param.required, base)
        if _is_integer(api, param.name):
            cases += _integer_cases(api, param.name, base)
        if positive.missing:
            continue
        if _is_list(api, param.name):
            cases += _list_cases(param.name, base)
        else:
            cases += _duplicate_cases(param.name, positive)
    if not positive.missing:
        unknown = (*base, (UNKNOWN_PARAM, "1"))
        cases.append(RequestCase("unknown-parameter-ignored", "parameters", unknown, table.unknown_parameter()))
    return cases


def _required_cases(api: ApiContract, name: str, required: bool, base: Query) -> list[RequestCase]:
    """A required parameter left out, or (a string) sent empty: ZStack's argerr, 503 SYS.1007."""
    if not required:
        return []
    refused = table.invalid_argument()
    cases = [RequestCase(f"missing-{name}", "parameters", _without(base, name), refused)]
    if api.request_schema["properties"][name].get("type") == "string":
        cases.append(RequestCase(f"empty-{name}", "parameters", _with(base, name, ""), refused))
    return cases


def _integer_cases(api: ApiContract, name: str, base: Query) -> list[RequestCase]:
    """A non-number, and one past each end of the documented (or overlay) range."""
    cases = [RequestCase(f"non-integer-{name}", "parameters", _with(base, name, "abc"), table.non_numeric())]
    low, high = _integer_bounds(api, name)
    range_refused = table.out_of_range(api.overlay.source or "the overlay")
    if low is not None:
        cases.append(RequestCase(f"below-range-{name}", "parameters", _with(base, name, str(low - 1)), range_refused))
    if high is not None:
        cases.append(RequestCase(f"above-range-{name}", "parameters", _with(base, name, str(high + 1)), range_refused))
    return cases


def _list_cases(name: str, base: Query) -> list[RequestCase]:
    """A list sent as repeated keys (k=a&k=b) and as indexed keys (k.0=a&k.1=b), both of which ZStack reads."""
    repeated = (*base, *((name, v) for v in TAG_VALUES))
    indexed = (*base, *((f"{name}.{i}", v) for i, v in enumerate(TAG_VALUES)))
    return [
        RequestCase(
            f"repeated-keys-{name}", "parameters", repeated, table.positive_call(table.repeated_list_keys().basis)
        ),
        RequestCase(f"indexed-keys-{name}", "parameters", indexed, table.indexed_list_keys()),
    ]


def _duplicate_cases(name: str, positive: PositiveValues) -> list[RequestCase]:
    """A scalar given twice: ZStack's 400 'only one value'."""
    if name not in positive.values:
        return []
    duplicated = (*positive.query(), (name, positive.values[name]))
    return [RequestCase(f"duplicate-{name}", "parameters", duplicated, table.duplicate_scalar(name))]


def auth_cases(api: ApiContract, positive: PositiveValues) -> list[RequestCase]:
    """Requests that must be refused for want of a valid session (the plugin asks only for APIs that need one)."""
    base = positive.query()
    session = table.invalid_session(arguments_complete=not positive.missing)
    return [
        RequestCase("no-authorization-header", "auth", base, table.missing_authorization(), auth=AuthMode.NONE),
        RequestCase("non-oauth-scheme", "auth", base, table.wrong_scheme(), auth=AuthMode.WRONG_SCHEME),
        RequestCase("unknown-session", "auth", base, session, auth=AuthMode.UNKNOWN_SESSION),
        RequestCase("session-after-logout", "auth", base, session, auth=AuthMode.LOGGED_OUT),
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
