"""The page's own examples: the response example against the schemas, the curl example against the target.

Where the page disagrees with itself (documentation findings) is not a test outcome: those findings never
blame the server, so they are records of their own (:func:`zstack_contract.engine.doccheck.doc_records`).
"""

from __future__ import annotations

import pytest

from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.doccheck import EXAMPLE_CASE, example_must_findings
from zstack_contract.engine.findings import Family
from zstack_contract.generation import expectations as table
from zstack_contract.generation.cases import documented_request_query, parse_curl, positive_values
from zstack_contract.pytest.exercise import send
from zstack_contract.pytest.judge import Judge
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Auth
from zstack_contract.transport.target import Target, positive_defaults

pytestmark = pytest.mark.zstack_family(Family.EXAMPLES)


def test_documented_example_meets_must(api: ApiContract, judge: Judge) -> None:
    judge(api, "examples", EXAMPLE_CASE, example_must_findings(api), rule="response.shape")


def test_documented_request_replayed(api: ApiContract, zstack: Target, zstack_settings: Settings, judge: Judge) -> None:
    curl = parse_curl(api.spec.example.request_curl)
    assert (curl.method, curl.path) == (api.spec.method, api.spec.path), (
        f"{api.name}: the curl example calls {curl.method} {curl.path}, the page documents "
        f"{api.spec.method} {api.spec.path}"
    )
    positive = positive_values(api, positive_defaults(zstack_settings))
    query, dropped = documented_request_query(curl, positive)
    sent = dict(query)
    missing = [p.name for p in api.spec.parameters if p.required and p.location == "query" and p.name not in sent]
    missing += list(positive.missing)
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        pytest.skip(f"{api.name}: the example's placeholder(s) {names} need a value: pass --zstack-param")
    # The example's 'Authorization: OAuth {sessionUuid}' becomes the run's session (built by the client only).
    auth = Auth.SESSION if "Authorization" in curl.headers else Auth.NONE
    # The example's path placeholders ({sessionUuid}, ...) are filled as for every call of the API.
    exchange = send(zstack, api, query=query, path_values=positive.path, auth=auth, headers=curl.headers)
    left_out = ", ".join(dropped) or "none"
    expectation = table.valid_request(f"the page's curl example (placeholders left out: {left_out})")
    judge(
        api,
        "examples",
        "documented-request",
        check_exchange(api, "documented-request", exchange, expectation),
        [exchange],
        rule="request.accepted",
    )
