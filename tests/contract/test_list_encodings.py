"""A metamorphic property schemathesis cannot state: both of ZStack's list encodings mean the same request.

For any list of values, ``k=a&k=b`` and ``k.0=a&k.1=b`` must get the same status and the same body
(protocol notes §1). What each answer is expected to be comes from the one table
(:mod:`zstack_contract.generation.expectations`): repeated keys, what the SDKs send, must be accepted (200, or a 503
envelope), never a server error; indexed keys should be (no SDK sends them). The body's shape is left to the
shape and generated tests: judging it here too would fail this property on every example of a shape
deviation and make hypothesis shrink it for nothing.

Only what the server repeats deterministically is compared: when the two encodings get different answers, the
repeated-keys request goes out once more, and when its two answers differ (a server that invents bodies, like
Prism ``--dynamic``), only statuses are. (Asked only then: two equal answers need no determinism check.)
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zstack_contract.engine.checks import check_exchange, finding
from zstack_contract.engine.findings import Family, Finding
from zstack_contract.generation import expectations as table
from zstack_contract.pytest.exercise import send
from zstack_contract.pytest.judge import Judge
from zstack_contract.pytest.plugin import positive_or_skip
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.safejson import excerpt
from zstack_contract.transport.target import Target

# Any text a tag may hold, control characters aside (no server is asked to store them: this API only reads).
pytestmark = pytest.mark.zstack_family(Family.PARAMETERS)


TAG_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=24)
AGREE_BASIS = "protocol notes §1: repeated keys and indexed keys (sorted by index) both make a list"
# What this property judges of each answer; the body's shape is the shape tests' job.
_JUDGED = ("request.", "api.", "response.unjudgeable")


def answer(ex: Exchange) -> tuple[int, str, Any]:
    """What two answers are compared by: the status and the body (parsed JSON, or else the raw text)."""
    is_json, value = ex.parsed
    return (ex.status, "json", value) if is_json else (ex.status, "text", ex.text)


def agreement(first: Exchange, second: Exchange, indexed: Exchange) -> tuple[bool, str]:
    """Whether the indexed-keys answer agrees with the repeated-keys one, and on what it was compared."""
    if answer(first) == answer(second):
        return answer(first) == answer(indexed), "status and body"
    return first.status == indexed.status, (
        "status only: the server answered the same repeated-keys request differently twice "
        f"(HTTP {first.status} then HTTP {second.status}), so its bodies are not deterministic"
    )


def list_encoding_findings(
    api: ApiContract, case: str, first: Exchange, second: Exchange, indexed: Exchange
) -> list[Finding]:
    findings = [
        f
        for exchange, expectation in (
            (first, table.repeated_list_keys()),
            (indexed, table.indexed_list_keys()),
        )
        for f in check_exchange(api, case, exchange, expectation)
        if f.rule.startswith(_JUDGED)
    ]
    agree, compared = agreement(first, second, indexed)
    if not agree:
        findings.append(
            finding(
                api.name,
                case,
                "request.list-encodings-agree",
                "$",
                f"the answer to repeated keys (k=a&k=b): HTTP {first.status} {excerpt(first.text, 160)}",
                f"HTTP {indexed.status} {excerpt(indexed.text, 160)} to indexed keys (k.0=a&k.1=b)",
                f"{AGREE_BASIS}; compared: {compared}",
            )
        )
    return findings


@given(values=st.lists(TAG_TEXT, min_size=1, max_size=4))
def test_list_encodings_agree(
    api: ApiContract, list_param: str, zstack: Target, zstack_settings: Settings, judge: Judge, values: list[str]
) -> None:

    positive = positive_or_skip(api, zstack_settings)
    base, path = positive.query(), positive.path
    repeated_query = (*base, *((list_param, v) for v in values))
    first = send(zstack, api, query=repeated_query, path_values=path)
    indexed = send(
        zstack, api, query=(*base, *((f"{list_param}.{i}", v) for i, v in enumerate(values))), path_values=path
    )
    second = first if answer(first) == answer(indexed) else send(zstack, api, query=repeated_query, path_values=path)
    case = f"list-encodings-{list_param}"
    findings = list_encoding_findings(api, case, first, second, indexed)
    shown = indexed if any(f.rule == "request.list-encodings-agree" for f in findings) else first
    judge.collect(api, "parameters", case, findings, shown)
