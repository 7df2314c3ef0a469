"""Levels from ZStack's semantics, checked over every committed schema (issue 8, §2), not over chosen examples.

* must: no field is required unless every documented example object at its place shows it, or it is the
  result key (Gson omits nulls, so nothing else is sure to be on the wire);
* the ErrorCode's must part is exactly {code, description, details} wherever the envelope appears (a 503's
  ``error``, a nested ``cause``, a 200's ``error``); its other members may be absent or a literal null;
* in a 200, ``error`` may be absent or null, at both levels.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.conftest import SCHEMAS
from zstack_contract.engine.validation import validator_for
from zstack_contract.specs.derive import ERROR_CORE, ERROR_DEF, result_key
from zstack_contract.specs.spec import load_spec

APIS = sorted(p.parent.name for p in SCHEMAS.glob("*/spec.json"))
LEVEL_FILES = {"must": "response.schema.json", "should": "response.should.schema.json"}
CORE = {"code": "SYS.1006", "description": "An operation failed", "details": "x"}


def _schema(api_name: str, name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / api_name / name).read_text(encoding="utf-8")))


def _examples(api_name: str) -> list[Any]:
    spec = load_spec(SCHEMAS / api_name / "spec.json")
    texts = [spec.example.response_text, spec.success_response_text]
    return [json.loads(t) for t in texts if t is not None]


def _value(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null alternative of a ``value or null`` schema."""
    options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
    return options[0] if len(options) == 1 else schema


def _objects(
    schema: dict[str, Any], values: list[Any], path: str = "$"
) -> Iterator[tuple[str, dict[str, Any], list[Any]]]:
    """Every object schema of a response with the documented example values at its place."""
    schema = _value(schema)
    if "$ref" in schema:
        return  # the ErrorCode: its own test below
    if schema.get("type") == "array":
        items = [i for v in values if isinstance(v, list) for i in v]
        yield from _objects(schema.get("items", {}), items, f"{path}[*]")
    elif "properties" in schema:
        objects = [v for v in values if isinstance(v, dict)]
        yield path, schema, objects
        for name, sub in schema["properties"].items():
            yield from _objects(sub, [o[name] for o in objects if name in o], f"{path}.{name}")


@pytest.mark.parametrize("api_name", APIS)
def test_must_requires_only_what_every_example_shows_or_the_result_key(api_name: str) -> None:
    must = _schema(api_name, LEVEL_FILES["must"])
    key = result_key(load_spec(SCHEMAS / api_name / "spec.json"))
    if key is not None:  # a reply with no result key ({} of a delete) requires nothing
        assert key in must.get("required", []), f"{api_name}: the result key {key!r} is not required at must"
    for path, schema, examples in _objects(must, _examples(api_name)):
        for name in schema.get("required", []):
            if path == "$" and name == key:
                continue
            assert examples, f"{api_name} {path}.{name}: required at must with no example object at {path}"
            assert all(name in e for e in examples), f"{api_name} {path}.{name}: required, not in every example"


def _envelopes(api_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in ("error.schema.json", *LEVEL_FILES.values()):
        yield name, _schema(api_name, name)


@pytest.mark.parametrize("api_name", APIS)
def test_error_code_must_part_is_exactly_code_description_details_everywhere(api_name: str) -> None:
    for name, schema in _envelopes(api_name):
        assert schema["$defs"][ERROR_DEF]["required"] == list(ERROR_CORE), f"{api_name}/{name}"
    envelope = validator_for(_schema(api_name, "error.schema.json"))
    assert envelope.is_valid({"error": CORE})
    assert envelope.is_valid({"error": {**CORE, "cause": {**CORE, "cause": CORE}}})
    for missing in ERROR_CORE:
        partial = {k: v for k, v in CORE.items() if k != missing}
        assert not envelope.is_valid({"error": partial}), missing
        assert not envelope.is_valid({"error": {**CORE, "cause": partial}}), f"cause without {missing}"
        assert not envelope.is_valid({"error": {**CORE, "cause": {**CORE, "cause": partial}}}), missing


def _members(api_name: str) -> list[str]:
    return [m for m in _schema(api_name, "error.schema.json")["$defs"][ERROR_DEF]["properties"] if m not in ERROR_CORE]


@pytest.mark.parametrize("api_name", APIS)
def test_other_error_code_members_may_be_absent_or_null(api_name: str) -> None:
    members = _members(api_name)
    assert {"cause"} <= set(members)
    nulls = dict.fromkeys(members, None)
    for name, schema in _envelopes(api_name):
        validator = validator_for(schema)
        if name == "error.schema.json":
            body: dict[str, Any] = {"error": {**CORE, **nulls, "cause": {**CORE, **nulls}}}
            assert [e.message for e in validator.iter_errors(body)] == [], f"{api_name}/{name}"
        else:
            # A 200 that carries an ErrorCode anyway: the nulls add no finding to what the example already gets.
            example = {k: v for k, v in _examples(api_name)[0].items() if k != "error"}
            before = sorted(e.message for e in validator.iter_errors(example))
            after = sorted(e.message for e in validator.iter_errors({**example, "error": {**CORE, **nulls}}))
            assert after == before, f"{api_name}/{name}"


@pytest.mark.parametrize("api_name", APIS)
@pytest.mark.parametrize("level", sorted(LEVEL_FILES))
def test_a_200_may_leave_error_out_or_carry_null(api_name: str, level: str) -> None:
    schema = _schema(api_name, LEVEL_FILES[level])
    assert "error" not in schema.get("required", [])
    validator = validator_for(schema)
    for body in _examples(api_name):
        if not isinstance(body, dict):
            continue
        without = sorted(e.message for e in validator.iter_errors({k: v for k, v in body.items() if k != "error"}))
        assert sorted(e.message for e in validator.iter_errors({**body, "error": None})) == without


def test_every_api_was_checked() -> None:
    assert len(APIS) == 15
    assert Path(SCHEMAS / "openapi.json").is_file()
