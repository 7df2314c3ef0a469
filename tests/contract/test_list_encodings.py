"""A metamorphic property schemathesis cannot state: both of ZStack's list encodings mean the same request.

For any list of values, ``k=a&k=b`` and ``k.0=a&k.1=b`` must get the same status and the same body
(protocol notes §1). Each answer must also be an acceptance (200, or a 503 envelope), never a server error.
The body's shape is left to the shape and generated tests: judging it here too would fail this property on
every example of a shape deviation and make hypothesis shrink it for nothing.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zstack_contract.checks import Expectation, Outcome, check_exchange, finding
from zstack_contract.contract import ApiContract
from zstack_contract.judge import Judge
from zstack_contract.pytest_plugin import positive_or_skip
from zstack_contract.settings import Settings
from zstack_contract.target import Target
from zstack_contract.validation import parse_json

# Any text a tag may hold, control characters aside (no server is asked to store them: this API only reads).
TAG_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=24)
VALID = Expectation(Outcome.SUCCESS_OR_API_ERROR, basis="a valid request: list values are free text")


@given(values=st.lists(TAG_TEXT, min_size=1, max_size=4))
def test_list_encodings_agree(
    api: ApiContract, list_param: str, zstack: Target, zstack_settings: Settings, judge: Judge, values: list[str]
) -> None:
    base = tuple(positive_or_skip(api, zstack_settings).items())
    repeated = zstack.client.send(
        api.spec.method, api.spec.path, query=(*base, *((list_param, v) for v in values))
    )
    indexed = zstack.client.send(
        api.spec.method,
        api.spec.path,
        query=(*base, *((f"{list_param}.{i}", v) for i, v in enumerate(values))),
    )
    case = f"list-encodings-{list_param}"
    findings = [
        f
        for exchange in (repeated, indexed)
        for f in check_exchange(api, case, exchange, VALID)
        if f.rule.startswith("request.")
    ]
    same = repeated.status == indexed.status and parse_json(repeated.text) == parse_json(indexed.text)
    if not same:
        findings.append(
            finding(
                api.name,
                case,
                "request.list-encodings-agree",
                "$",
                f"the repeated-keys answer: HTTP {repeated.status} {repeated.text[:160]}",
                f"indexed keys got HTTP {indexed.status} {indexed.text[:160]}",
                "protocol notes §1: repeated keys and indexed keys (sorted by index) both make a list",
            )
        )
    judge.collect(api, "parameters", case, findings, indexed if not same else repeated)
