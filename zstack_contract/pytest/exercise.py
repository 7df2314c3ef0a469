"""How a read-only run exercises each API of the catalogue: read it, call it as the suite's own session call, or
leave it alone and say so.

- ``read``: a GET. Every generic test (parameters, auth, shape, examples, generated, list encodings) runs on it.
- ``session``: a non-GET API that needs no session and that the client's read-only allow-list lets through:
  login, logout of the suite's own sessions, GetVersion. ``tests/contract/test_sessions.py`` tests these.
- ``not-exercised``: every other non-GET API. It may change state, so a read-only run never sends it; it is
  listed once in every report with the reason, never as an error and never as a pass. Its static checks
  (documentation findings, schema derivation) still run.

The mode is decided from the spec (method, auth, body key) and the client's allow-list, never from a list of API
names: a page imported tomorrow lands in the right mode by what it documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

import pytest

from zstack_contract.engine.findings import CheckRecord
from zstack_contract.generation.cases import suite_supplies
from zstack_contract.generation.safety import request_refusal
from zstack_contract.reporting.summary import NOT_EXERCISED
from zstack_contract.specs.contract import ApiContract
from zstack_contract.specs.spec import Param
from zstack_contract.transport.client import Auth, Exchange, LoginRejectedError
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
    NOT_EXERCISED = "not-exercised"


def auth_required(api: ApiContract) -> bool:
    """Whether the API needs a session: the page's fact (switch to ``api.auth_required``, corrected by the
    overlay, once the contract carries it)."""
    return api.auth_required


def is_read(api: ApiContract) -> bool:
    return api.spec.method in READ_METHODS


def _allowed_read_only(api: ApiContract) -> bool:
    """Whether the client's read-only allow-list would let the API's own call through."""
    path = _PATH_PARAMETER.sub(_PROBE_SESSION, api.spec.path)
    key = api.spec.body_key
    body = f'{{"{key}": {{}}}}' if key is not None else None
    return request_refusal(api.spec.method, path, body) is None


def mode(api: ApiContract) -> Mode:
    if is_read(api):
        return Mode.READ
    if not auth_required(api) and _allowed_read_only(api):
        return Mode.SESSION
    return Mode.NOT_EXERCISED


def read_apis(catalog: Iterable[ApiContract]) -> list[ApiContract]:
    return [api for api in catalog if mode(api) is Mode.READ]


def no_auth_apis(catalog: Iterable[ApiContract]) -> list[ApiContract]:
    """The APIs the suite calls that need no session (ValidateSession, GetVersion, login, logout)."""
    return [api for api in catalog if not auth_required(api) and mode(api) is not Mode.NOT_EXERCISED]


def not_exercised_reason(api: ApiContract) -> str:
    return f"not exercised: read-only ({api.spec.method} may change state)"


def not_exercised_records(catalog: Iterable[ApiContract]) -> list[CheckRecord]:
    """One record per API a read-only run leaves alone: neither a pass nor a failure, with the reason."""
    return [
        CheckRecord(
            test=f"exercise::{api.name}::read-only",
            api=api.name,
            family=NOT_EXERCISED_FAMILY,
            case="read-only",
            rule="",
            level="",
            outcome=NOT_EXERCISED,
            message=not_exercised_reason(api),
        )
        for api in catalog
        if mode(api) is Mode.NOT_EXERCISED
    ]


def path_parameters(api: ApiContract) -> list[Param]:
    return [p for p in api.spec.parameters if p.location == "path"]


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

