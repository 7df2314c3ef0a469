"""The generated tests spend their example budget on requests that go out.

Path values are drawn from what the read-only guard sends (``generated.path_segment_values``) instead of from any
string, most of which the guard refuses and the glue then rejects: before, about nine draws in ten of a
path-parameter operation were thrown away, and those draws were most of the default run's time.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.selftest.conftest import SCHEMAS
from zstack_contract.generation.safety import request_refusal
from zstack_contract.pytest.generated import (
    PATH_SEGMENT_ALPHABET,
    generated_path,
    load_openapi,
    path_segment_values,
    path_values,
    safe_path_parameters,
    sendable_path_value,
)

PATH_OPERATIONS = (
    "/zstack/v1/zones/{uuid}",
    "/zstack/v1/backup-storage/{uuid}",
    "/zstack/v1/accounts/sessions/{sessionUuid}/valid",
)


def test_alphabet_is_what_the_guard_sends() -> None:
    # One character at a time, over ASCII and a few beyond: the alphabet must track the guard exactly (a
    # character the guard starts refusing would be drawn and wasted; one it starts allowing would never be sent).
    # '.' alone is a dot segment (refused), yet it is fine inside a value: the strategy filters the lone form.
    probes = [chr(c) for c in range(0x80) if chr(c) != "."] + ["é", "\u00a0", "\u2028", "中", "\U0001f600"]
    wrong = [c for c in probes if sendable_path_value(c) != (c in PATH_SEGMENT_ALPHABET)]
    assert wrong == []
    assert {"'", '"', "{", "}", "?", ";", "<", "~", "."} <= set(PATH_SEGMENT_ALPHABET)


def test_dot_segments_are_not_sendable() -> None:
    assert [v for v in (".", "..", ".;x", "..;x") if sendable_path_value(v)] == []
    assert all(sendable_path_value(v) for v in ("a.b", "...", "..a", "x;..", "0123456789abcdef0123456789abcdef"))


@settings(max_examples=300, database=None, deadline=None)
@given(value=path_segment_values())
def test_every_drawn_path_value_is_sent(value: str) -> None:
    assert value
    assert sendable_path_value(value), value


def test_drawn_values_vary() -> None:
    # Not a constant: plain text with punctuation and uuid-shaped values (ZStack's own form, 32 hex) both come up.
    values: list[str] = []

    @settings(max_examples=200, database=None, deadline=None, derandomize=True)
    @given(value=path_segment_values())
    def draw(value: str) -> None:
        values.append(value)

    draw()
    assert len(set(values)) > 100
    assert any(len(v) == 32 and all(c in "0123456789abcdef" for c in v) for v in values)
    assert any(not v.replace("-", "").isalnum() for v in values)


def _case_strategy(path: str) -> Any:
    schema = load_openapi(SCHEMAS)
    return schema[path]["GET"].as_strategy()


@pytest.mark.parametrize("path", PATH_OPERATIONS)
def test_generated_cases_of_path_operations_are_all_sent(path: str) -> None:
    # Fails before the fix: schemathesis' own strings (unicode, spaces, ...) were mostly refused by the guard,
    # and every value with a character outside [A-Za-z0-9._~-] went out double-encoded ('%2527' for "'"), which
    # the guard refuses too. Now every drawn case is sent, with its value encoded once.
    refused: list[str] = []
    special: list[str] = []

    @settings(max_examples=60, database=None, deadline=None, derandomize=True)
    @given(case=_case_strategy(path))
    def draw(case: Any) -> None:
        target = generated_path(case)
        if request_refusal("GET", target, None) is not None:
            refused.append(target)
        for name, value in path_values(case).items():
            assert value in unquote(target).split("/"), (name, value, target)
            if not value.replace("-", "").isalnum():
                special.append(value)

    draw()
    assert refused == [], refused[:5]
    assert special, "no value with punctuation was sent"


class _Operation:
    def __init__(self, properties: dict[str, Any]) -> None:
        self.path_parameters = type("P", (), {"schema": {"properties": properties}})()


class _Context:
    def __init__(self, properties: dict[str, Any]) -> None:
        self.operation = _Operation(properties)


def test_constrained_path_parameters_keep_schemathesis_strategy() -> None:
    original = st.just({"uuid": "x"})
    for schema in (
        {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        {"type": "integer"},
        {"enum": ["a"]},
        {"type": "string", "format": "uuid"},
        {"type": "string", "minLength": 32},
    ):
        assert safe_path_parameters(_Context({"uuid": schema}), original) is original, schema
    # Mixed: one constrained parameter keeps the whole strategy (the glue still rejects what is not sendable).
    mixed = {"a": {"type": "string"}, "b": {"type": "string", "maxLength": 3}}
    assert safe_path_parameters(_Context(mixed), original) is original
    assert safe_path_parameters(_Context({}), original) is original
    plain = {"a": {"type": "string", "minLength": 1}, "b": {"type": "string"}}
    replaced = safe_path_parameters(_Context(plain), original)
    assert replaced is not original
    # Built once per set of names (a fresh strategy per drawn case is validated again by hypothesis each time).
    assert safe_path_parameters(_Context({"a": {"type": "string"}, "b": {"type": "string"}}), original) is replaced


def test_derived_document_path_parameters_are_plain_strings() -> None:
    # The replacement applies to every path parameter of the derived document today; a derived constraint
    # (a pattern for uuids, say) would silently bring the old rejections back, so it has to be noticed here.
    document = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
    constrained = [
        (path, p["name"], p["schema"])
        for path, methods in document["paths"].items()
        for operation in methods.values()
        if isinstance(operation, dict)
        for p in operation.get("parameters", [])
        if p.get("in") == "path" and p.get("schema") != {"type": "string"}
    ]
    assert constrained == []
