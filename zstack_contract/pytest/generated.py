"""Glue between schemathesis' generated cases and the suite's client, safety rules, oracle and checks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import schemathesis
from hypothesis import reject
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Finding
from zstack_contract.engine.oracle import expectation_for
from zstack_contract.generation import expectations as table
from zstack_contract.generation.expectations import Expectation, Outcome
from zstack_contract.generation.safety import make_safe_query, request_refusal
from zstack_contract.pytest.exercise import skip_if_not_served
from zstack_contract.pytest.stash import CATALOG
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import UnsafeRequestError
from zstack_contract.transport.target import Target, positive_defaults

# Set by generated_contract_test; the plugin builds the test from the run's schema folder at collection.
GENERATED_MARK = "__zstack_generated__"
F = TypeVar("F", bound=Callable[..., Any])


class OpenApiLoadError(ValueError):
    """The schema folder's openapi.json cannot drive the generated tests; the message says why."""


def generated_contract_test(func: F) -> F:
    """Mark a test ``(case, ...)`` to be run for every operation of the run's ``openapi.json``.

    The schema is not loaded at import: the plugin parametrizes the test at collection from ``--zstack-schemas``.
    """
    setattr(func, GENERATED_MARK, True)
    return func


def load_openapi(schemas_dir: Path) -> Any:
    """The derived OpenAPI document, configured for ZStack: no generated auth header, no extra parameters.

    Hypothesis settings (examples, derandomization, database) are applied to the tests by the plugin.
    """
    path = schemas_dir / "openapi.json"
    if not path.is_file():
        raise OpenApiLoadError(
            f"{path} is missing (or not a file): run 'python -m zstack_contract derive' to derive it from the specs"
        )
    try:
        schema = schemathesis.openapi.from_path(path)
        # Loading is lazy; walking the operations now makes a broken document one error before any test.
        errors = [result.err() for result in schema.get_all_operations() if isinstance(result, Err)]
    except Exception as exc:
        raise OpenApiLoadError(f"{path}: not a usable OpenAPI document ({type(exc).__name__}: {exc})") from None
    if errors:
        raise OpenApiLoadError(f"{path}: not a usable OpenAPI document: {errors[0]}")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        with_security_parameters=False,  # the suite sends its own 'OAuth <session>' header
        allow_extra_parameters=False,  # unknown keys are ignored by ZStack; the example tests cover that
    )
    # Path values are drawn only from what the read-only guard will send (see safe_path_parameters).
    schema.hook("before_generate_path_parameters")(safe_path_parameters)
    # The coverage phase would also try TRACE/POST/... on the path; the suite never sends state-changing methods.
    schema.config.phases.coverage.unexpected_methods = set()
    # Built-in checks are not used: run_generated_case applies ZStack-aware checks instead (see README).
    schema.config.output.sanitization.update(enabled=True)
    return schema


# A path value goes out as one percent-encoded segment (generated_path); the read-only guard refuses a segment that
# decodes to a control, space, non-ASCII, '/', '\\', '%' or '#' character, or to '.'/'..'. Everything else in
# printable ASCII may be sent, quotes, braces, '?' and ';' included.
PATH_SEGMENT_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "/\\%#")
_PROBE_PATH = "/zstack/v1/probe/"


def sendable_path_value(value: str) -> bool:
    """True when the read-only guard sends ``value`` as a path segment (the guard itself decides)."""
    return request_refusal("GET", _PROBE_PATH + quote(value, safe=""), None) is None


@functools.cache
def path_segment_values() -> st.SearchStrategy[str]:
    """Path values the suite can send: printable-ASCII text, and ZStack-shaped uuids (32 hex, or with dashes).

    Drawing only these, instead of any string and rejecting what the guard refuses, spends the generation time
    on requests that go out: with schemathesis' own strings (unicode, spaces, ...) about nine draws in ten were
    rejected (295 of 322 for GET /zones/{uuid}), and those draws were most of the default run's time.
    """
    text = st.text(alphabet=PATH_SEGMENT_ALPHABET, min_size=1)
    uuids = st.uuids().map(lambda u: u.hex) | st.uuids().map(str)
    # The guard's filter only drops '.', '..' and their ';'-parameter forms: rare, so hypothesis rarely retries.
    return st.one_of(text, uuids).filter(sendable_path_value)


def _plain_string(schema: Any) -> bool:
    """A path parameter schema that admits any non-empty string (the derived document's are all of this kind)."""
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and set(schema) <= {"type", "minLength"}
        and (schema.get("minLength", 0) <= 1)
    )


def safe_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """schemathesis hook ``before_generate_path_parameters``: plain-string path parameters drawn sendable.

    Parameters with any other constraint (format, pattern, enum, ...) keep schemathesis' own strategy, and the
    glue still rejects what the guard refuses (coverage-phase values, which hooks do not touch, included).
    """
    parameters = getattr(context.operation, "path_parameters", None)
    properties = getattr(parameters, "schema", {}).get("properties")
    if not properties or not all(_plain_string(schema) for schema in properties.values()):
        return strategy
    return _path_parameters_strategy(tuple(str(name) for name in properties))


@functools.cache
def _path_parameters_strategy(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    # Built once per set of names: the hook runs for every drawn case, and a fresh strategy would be validated
    # again by hypothesis each time (a third of the draw time in a profile).
    return st.fixed_dictionaries({name: path_segment_values() for name in names})


def _query_pairs(params: dict[str, Any] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(key), _wire(item)))
    return pairs


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def api_name_for(operation: dict[str, Any], body: Any) -> str | None:
    """The API an OpenAPI operation of the derived document stands for.

    A short form (``/zones/{uuid}``) names its API in ``x-zstack.api``; an operation that APIs share by path and
    method lists them in ``x-zstack-operations``, and the body's one key picks the API, as ZStack routes it.
    """
    shared = operation.get("x-zstack-operations")
    if isinstance(shared, list):
        keys = set(body) if isinstance(body, dict) else set()
        named = [o.get("operationId") for o in shared if isinstance(o, dict) and o.get("bodyKey") in keys]
        return named[0] if len(named) == 1 else None
    extension = operation.get("x-zstack")
    api = extension.get("api") if isinstance(extension, dict) else None
    return str(api or operation.get("operationId") or "") or None


def contract_for(case: schemathesis.Case[Any], catalog: list[ApiContract]) -> ApiContract:
    name = api_name_for(case.operation.definition.raw, getattr(case, "body", None))
    for api in catalog:
        if api.name == name:
            return api
    raise LookupError(f"no contract for operation {name!r} ({case.method.upper()} {case.path})")


def path_values(case: schemathesis.Case[Any]) -> dict[str, str]:
    """The case's path parameters as the values they stand for.

    schemathesis keeps path parameters percent-encoded in the case (``quote_all``: ``"a'b"`` is ``"a%27b"``), so
    they are decoded here; encoding them again as they are would send ``%2527`` for a quote, which the
    read-only guard refuses (an encoded '%') and which would not be the generated value anyway.
    """
    return {str(k): unquote(v) if isinstance(v, str) else _wire(v) for k, v in (case.path_parameters or {}).items()}


def generated_path(case: schemathesis.Case[Any]) -> str:
    """The case's path with each path parameter's value percent-encoded once, as one segment."""
    path = case.path
    for name, value in path_values(case).items():
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    return path


# protocol notes §6: the Query API is read by RestServer.handleQueryApi, not by the message-field rules of §1.
QUERY_BASIS = "protocol notes §6 'Query API' [V]"
QUERY_OPERATORS = ("!=", ">=", "<=", "!?=", "!~=", "~=", "?=", "=", ">", "<", "is null", "not null")
_JAVA_INT = re.compile(r"-?[0-9]{1,10}", re.ASCII)
# Query parameters whose random values name fields the generator cannot know: the answer is not specified.
_FIELD_NAMING = ("sort", "fields", "groupBy", "filterName")


def query_expectation(query: list[tuple[str, str]], *, short_form: bool) -> Expectation:
    """What a Query API owes an arbitrary generated query (the example tests of test_query.py go deeper)."""
    if short_form:
        return table.valid_request(f"{QUERY_BASIS}: the short form /<resources>/{{uuid}} ignores other parameters")
    unspecified = False
    for key, value in query:
        if key == "q" and not any(op in value for op in QUERY_OPERATORS):
            return Expectation(
                Outcome.REFUSED, must_status=table.BAD_REQUEST, basis=f"{QUERY_BASIS}: a condition with no operator"
            )
        if key in ("limit", "start"):
            if not any(c.isdigit() for c in value):
                return Expectation(
                    Outcome.REFUSED, must_status=table.BAD_REQUEST, basis=f"{QUERY_BASIS}: {key} must be an integer"
                )
            strict = _JAVA_INT.fullmatch(value) is not None and -(2**31) <= int(value) < 2**31
            unspecified = unspecified or not strict or int(value) < 0
        if key == "q" or (key in _FIELD_NAMING and value):
            unspecified = True  # a generated field name or condition the node may or may not know
    if unspecified:
        return Expectation(Outcome.ANY, basis=f"{QUERY_BASIS}: this combination's answer is not specified")
    return table.valid_request(f"{QUERY_BASIS}: a query with valid paging")


def reshaping_query(query: list[tuple[str, str]]) -> bool:
    """count=true answers only ``total``; fields=a,b answers items with only those keys: the result key and the
    item fields the must schema requires may then be absent (test_query.py judges what they must be)."""
    return any((key == "count" and value.lower() == "true") or (key == "fields" and value) for key, value in query)


def _absent(finding: Finding) -> bool:
    return finding.rule in ("response.shape", "response.required-fields") and " absent (keys present" in finding.actual


def run_generated_case(case: schemathesis.Case[Any], zstack: Target, judge: Any) -> None:
    api = contract_for(case, judge.item.config.stash[CATALOG])
    skip_if_not_served(zstack, api)
    extension = case.operation.definition.raw.get("x-zstack")
    short_form = isinstance(extension, dict) and bool(extension.get("alternateOf"))
    positive = positive_defaults(zstack.settings)
    kwargs = case.as_transport_kwargs(base_url=zstack.url, headers={})
    query = make_safe_query(_query_pairs(kwargs.get("params")), positive)
    try:
        exchange = zstack.client.send(case.method.upper(), generated_path(case), query=query)
    except UnsafeRequestError:
        # A generated path value the read-only guard will not send ('..', an encoded '/'): not a request the
        # contract can judge, so the example is dropped (no traffic was sent).
        reject()
    # Path parameters are message fields too (protocol notes §1): the oracle sees them as the node decodes them.
    path_fields = list(path_values(case).items())
    if api.is_query:
        expectation = query_expectation(query, short_form=short_form)
    else:
        expectation = expectation_for(api, [*query, *path_fields])
    findings = check_exchange(api, "generated", exchange, expectation)
    if api.is_query and not short_form and reshaping_query(query):
        findings = [f for f in findings if not _absent(f)]
    judge.collect(api, "generated", f"generated:{case.method.upper()} {case.path}", findings, exchange)
