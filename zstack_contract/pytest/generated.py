"""Glue between schemathesis' generated cases and the suite's client, safety rules, oracle and checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import schemathesis
from hypothesis import reject
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Finding
from zstack_contract.engine.oracle import expectation_for
from zstack_contract.generation import expectations as table
from zstack_contract.generation.expectations import Expectation, Outcome
from zstack_contract.generation.safety import make_safe_query
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
    # The coverage phase would also try TRACE/POST/... on the path; the suite never sends state-changing methods.
    schema.config.phases.coverage.unexpected_methods = set()
    # Built-in checks are not used: run_generated_case applies ZStack-aware checks instead (see README).
    schema.config.output.sanitization.update(enabled=True)
    return schema


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


def generated_path(case: schemathesis.Case[Any]) -> str:
    """The case's path with each generated path parameter percent-encoded as one segment."""
    path = case.path
    for name, value in (case.path_parameters or {}).items():
        path = path.replace(f"{{{name}}}", quote(_wire(value), safe=""))
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
    return any(
        (key == "count" and value.lower() == "true") or (key == "fields" and value) for key, value in query
    )


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
    # Path parameters are message fields too (protocol notes §1): the oracle sees them as sent.
    path_fields = [(str(k), _wire(v)) for k, v in (case.path_parameters or {}).items()]
    if api.is_query:
        expectation = query_expectation(query, short_form=short_form)
    else:
        expectation = expectation_for(api, [*query, *path_fields])
    findings = check_exchange(api, "generated", exchange, expectation)
    if api.is_query and not short_form and reshaping_query(query):
        findings = [f for f in findings if not _absent(f)]
    judge.collect(api, "generated", f"generated:{case.method.upper()} {case.path}", findings, exchange)
