"""How a run exercises each API of the catalogue: read it, call it as the suite's own session call, run it in the
write lifecycle, or leave it alone and say so.

- ``read``: a GET. Every generic test (parameters, auth, shape, examples, generated, list encodings) runs on it.
- ``session``: a non-GET API that needs no session and that the client's read-only allow-list lets through:
  login, logout of the suite's own sessions, GetVersion. ``tests/contract/test_sessions.py`` tests these.
- ``write``: a state-changing API, with ``--zstack-allow-writes``: the write lifecycle
  (:mod:`zstack_contract.transport.lifecycle`) sends it once, in order, and the async and lifecycle tests judge it.
- ``mock-only``: a state-changing API whose own call restores the management node's data
  (``safety.never_live_refusal``): with ``--zstack-allow-writes`` the lifecycle sends it to the embedded mock only.
- ``not-exercised``: every other non-GET API (all of them in a read-only run). Never sent; listed once in every
  report with the reason (and how to change it), never as an error and never as a pass. Its static checks
  (documentation findings, schema derivation) still run.

The mode is decided from the spec (method, auth, body key), the client's guards and the run's settings, never
from a list of API names: a page imported tomorrow lands in the right mode by what it documents. Only whether
the lifecycle has a step for a write API is a fact of the lifecycle (its step table).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pytest

from zstack_contract.engine.findings import CheckRecord
from zstack_contract.generation.cases import suite_supplies
from zstack_contract.generation.safety import never_live_refusal, request_refusal, write_only_paths
from zstack_contract.pytest.stash import CATALOG
from zstack_contract.reporting.summary import NOT_EXERCISED
from zstack_contract.specs.contract import ApiContract
from zstack_contract.specs.spec import Param
from zstack_contract.transport.client import Auth, Exchange, LoginRejectedError
from zstack_contract.transport.lifecycle import LIFECYCLE_APIS, MOCK_ONLY_REASON
from zstack_contract.transport.secret import Secret
from zstack_contract.transport.target import Target, TargetError

READ_METHODS = ("GET",)
NOT_EXERCISED_FAMILY = NOT_EXERCISED
# What the allow-list is asked about a path parameter: a well-formed 32-hex value, never sent.
_PROBE_SESSION = "0" * 32
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


class Mode(StrEnum):
    READ = "read"
    SESSION = "session"
    WRITE = "write"
    MOCK_ONLY = "mock-only"
    NOT_EXERCISED = "not-exercised"


@dataclass(frozen=True)
class Writes:
    """What the run may change: ``allowed`` is --zstack-allow-writes, ``embedded_mock`` that the target is the
    embedded mock (the only node a request restoring the node's own data may reach)."""

    allowed: bool = False
    embedded_mock: bool = False


READ_ONLY = Writes()
ENABLE_WRITES = "pass --zstack-allow-writes"


def auth_required(api: ApiContract) -> bool:
    """Whether the API needs a session: the page's fact (switch to ``api.auth_required``, corrected by the
    overlay, once the contract carries it)."""
    return api.auth_required


def is_read(api: ApiContract) -> bool:
    return api.spec.method in READ_METHODS


def _own_call(api: ApiContract) -> tuple[str, str, str | None]:
    """The API's own call as the client's guards see it: method, path (parameters filled), body (its key only)."""
    path = _PATH_PARAMETER.sub(_PROBE_SESSION, api.spec.path)
    key = api.spec.body_key
    body = f'{{"{key}": {{}}}}' if key is not None else None
    return api.spec.method, path, body


def _allowed_read_only(api: ApiContract) -> bool:
    """Whether the client's read-only allow-list would let the API's own call through."""
    return request_refusal(*_own_call(api)) is None


def restores_node_data(api: ApiContract) -> bool:
    """Whether the API's own call is one the client never sends to a live node (it restores the node's data)."""
    return never_live_refusal(*_own_call(api)) is not None


def mode(api: ApiContract, writes: Writes = READ_ONLY) -> Mode:
    if is_read(api):
        return Mode.READ
    if not auth_required(api) and _allowed_read_only(api):
        return Mode.SESSION
    if not writes.allowed:
        return Mode.NOT_EXERCISED
    return Mode.MOCK_ONLY if restores_node_data(api) else Mode.WRITE


def is_exercised(api: ApiContract, writes: Writes = READ_ONLY, stepped: Collection[str] = LIFECYCLE_APIS) -> bool:
    return not_exercised_reason(api, writes, stepped) is None


def read_apis(catalog: Iterable[ApiContract]) -> list[ApiContract]:
    return [api for api in catalog if mode(api) is Mode.READ]


def no_auth_apis(catalog: Iterable[ApiContract]) -> list[ApiContract]:
    """The APIs the suite calls that need no session (ValidateSession, GetVersion, login, logout)."""
    return [api for api in catalog if not auth_required(api) and mode(api) is not Mode.NOT_EXERCISED]


def not_exercised_reason(
    api: ApiContract, writes: Writes = READ_ONLY, stepped: Collection[str] = LIFECYCLE_APIS
) -> str | None:
    """Why the run does not send ``api`` (and what would change that), or None when it does.

    ``stepped``: the APIs the write lifecycle has a step for.
    """
    current = mode(api, writes)
    if current in (Mode.READ, Mode.SESSION):
        return None
    if restores_node_data(api) and not writes.embedded_mock:
        # Whatever the flags: the client refuses it for a live node, so telling how to enable writes would mislead.
        return f"not exercised: {MOCK_ONLY_REASON}"
    if api.name not in stepped:
        prefix = "" if writes.allowed else f"read-only ({api.spec.method} may change state), and "
        return f"not exercised: {prefix}no lifecycle step (the write lifecycle does not send {api.name})"
    if current is Mode.NOT_EXERCISED:
        return f"not exercised: read-only ({api.spec.method} may change state): {ENABLE_WRITES}"
    return None


def not_exercised_records(
    catalog: Iterable[ApiContract], writes: Writes = READ_ONLY, stepped: Collection[str] = LIFECYCLE_APIS
) -> list[CheckRecord]:
    """One record per API the run leaves alone: neither a pass nor a failure, with the reason."""
    records = []
    for api in catalog:
        reason = not_exercised_reason(api, writes, stepped)
        if reason is None:
            continue
        case = "read-only" if not writes.allowed else "not-exercised"
        records.append(
            CheckRecord(
                test=f"exercise::{api.name}::{case}",
                api=api.name,
                family=NOT_EXERCISED_FAMILY,
                case=case,
                rule="",
                level="",
                outcome=NOT_EXERCISED,
                message=reason,
            )
        )
    return records


def path_parameters(api: ApiContract) -> list[Param]:
    return [p for p in api.spec.parameters if p.location == "path"]


def catalogue_api(config: pytest.Config, name: str, why: str) -> ApiContract:
    """The named API's contract from the run's catalogue, or a skip saying the catalogue lacks it and ``why`` that
    ends the test (a test of one family API, run with another catalogue)."""
    catalog: list[ApiContract] = config.stash[CATALOG]
    for api in catalog:
        if api.name == name:
            return api
    pytest.skip(f"the catalogue (--zstack-schemas) has no {name}: {why}")


def skip_if_not_served(zstack: Target, api: ApiContract) -> None:
    """An API the target was found not to serve is reported once (by the test that found it); later tests of it
    are not sent and do not pass."""
    found_by = zstack.not_served.get(api.name)
    if found_by is not None:
        pytest.skip(
            f"{api.name} is not served by the target (404 'no api mapping'): not sent again, reported once as "
            f"not served by {found_by}"
        )


def own_session(zstack: Target) -> Secret:
    """A fresh session of the suite's own (the only kind it logs out), or a skip that says why there is none.

    A login that gives no usable session is not a node failure that ends the run: test_login_inventory_shape
    judges the login answer, and a check that needs a second session says it could not be set up.
    """
    if not zstack.can_login:
        pytest.skip(
            "needs --zstack-account/--zstack-password: the suite logs out only sessions of its own, never the one "
            "given with --zstack-session"
        )
    problem = ""
    try:
        return zstack.new_session()
    except (LoginRejectedError, TargetError) as exc:  # refused (e.g. ID.1006 too many sessions) or no answer
        problem = str(exc)
    # Outside the except block: a skip chained to the TargetError would end the whole run as NOT RUN.
    pytest.skip(
        f"cannot set up: logging in a session of the suite's own failed ({problem}). The run's first login worked, "
        "so the node may cap concurrent sessions, or its login answer is wrong (test_login_inventory_shape)"
    )


def send(
    zstack: Target,
    api: ApiContract,
    *,
    query: Sequence[tuple[str, str]] = (),
    path_values: Mapping[str, str] | None = None,
    auth: Auth | Secret = Auth.SESSION,
    headers: Mapping[str, str] | None = None,
    session: Secret | None = None,
) -> Exchange:
    """Send a request to ``api``'s path with its path parameters filled.

    Values come from ``path_values`` (the user's ``--zstack-param``); a session parameter is filled with
    ``session``, or a session of the suite's own, inside the client, so no frame here holds it.
    """
    skip_if_not_served(zstack, api)
    values = dict(path_values or {})
    path = api.spec.path
    fill: dict[str, Secret] = {}
    for param in path_parameters(api):
        placeholder = f"{{{param.name}}}"
        if param.name in values:
            path = path.replace(placeholder, values[param.name])
        elif suite_supplies(param):
            fill[placeholder] = session or zstack.probe_session()
    return zstack.client.send(api.spec.method, path, query=query, auth=auth, headers=headers, path_secrets=fill)



def catalogue_write_only_paths(catalog: Iterable[ApiContract]) -> tuple[re.Pattern[str], ...]:
    """The catalogue's paths that only state-changing APIs serve: a GET there would run the API on ZStack."""
    return write_only_paths(
        (api.spec.method, path) for api in catalog for path in (api.spec.path, *api.alternate_paths)
    )
