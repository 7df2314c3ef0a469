"""Validate a JSON value against a derived schema and turn every error into a :class:`Finding`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from zstack_contract.engine.findings import Finding, Level, normalise_path
from zstack_contract.specs.formats import GSON_DATE_FORMAT, format_checker
from zstack_contract.transport.safejson import excerpt

_ALTERNATIVES = ("anyOf", "oneOf")


def json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _expected(error: ValidationError, level: Level) -> str:
    keyword = str(error.validator)
    if keyword == "required":
        if level is Level.MUST:
            return "field present (the page's response example shows it; the envelope requires it)"
        return "field present and non-null (the page marks it Required)"
    if keyword == "format":
        if error.validator_value == GSON_DATE_FORMAT:
            return f"format {GSON_DATE_FORMAT!r}: Gson's default US date, e.g. 'Nov 14, 2017 10:20:57 PM'"
        return f"format {error.validator_value!r}"
    if keyword in _ALTERNATIVES:
        # "value or null": name the non-null alternative, the one the reader cares about.
        alternatives = error.validator_value if isinstance(error.validator_value, list) else []
        options = [o for o in alternatives if o != {"type": "null"}]
        named = " or ".join(_alternative(o) for o in options)
        return named + (" (or null)" if len(options) < len(alternatives) else "")
    return f"{keyword}: {excerpt(error.validator_value, 120)}"


def _alternative(schema: Any) -> str:
    if isinstance(schema, dict) and set(schema) == {"$ref"} and isinstance(schema["$ref"], str):
        return f"a {schema['$ref'].rsplit('/', 1)[-1]}"  # the definition's name, not the pointer
    return excerpt(_strip(schema), 120)


def _strip(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: v for k, v in schema.items() if k not in ("description", "properties")} or schema
    return schema


def _actual(error: ValidationError) -> str:
    if error.validator == "required":
        missing = error.message.split(" is a required property")[0]
        present = sorted(error.instance) if isinstance(error.instance, dict) else error.instance
        return f"{missing} absent (keys present: {excerpt(present, 160)})"
    kind = type(error.instance).__name__.replace("NoneType", "null").replace("str", "string").replace("dict", "object")
    return f"{excerpt(error.instance, 160)} ({kind})"


def deepest_errors(error: ValidationError) -> list[ValidationError]:
    """The errors that name the real defect under an anyOf/oneOf: those of the alternative the value meant.

    ``{"$ref": ErrorCode} or null`` failing on an object says nothing; the object's own defect does (its
    ``cause`` lacks ``code``). The alternative meant is the one whose type the value has, and among those the
    one that got deepest into the value (jsonschema's best_match heuristic, keeping every error of that
    alternative rather than one). A value of no alternative's type keeps the anyOf error itself.
    """
    if error.validator not in _ALTERNATIVES or not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0] if sub.relative_schema_path else None].append(sub)

    def wrong_type(errors: list[ValidationError]) -> bool:
        return any(e.validator == "type" and not e.relative_path for e in errors)

    candidates = [errors for errors in branches.values() if not wrong_type(errors)]
    if not candidates:
        return [error]
    chosen = max(candidates, key=lambda errors: max(len(e.relative_path) for e in errors))
    return [deep for sub in chosen for deep in deepest_errors(sub)]


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=format_checker())


def schema_findings(
    instance: Any,
    validator: Draft202012Validator,
    *,
    api: str,
    rule: str,
    level: Level,
    note: str = "",
    case: str = "",
) -> list[Finding]:
    """One finding per validation error, in document order; ``required`` errors point at the missing field."""
    findings = []
    errors = [deep for error in validator.iter_errors(instance) for deep in deepest_errors(error)]
    for error in sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), str(e.validator))):
        path = json_path(error)
        if error.validator == "required":
            missing = error.message.split("'")[1] if error.message.count("'") >= 2 else "?"
            path = f"{path}.{missing}"
        findings.append(
            Finding(
                api=api,
                rule=rule,
                level=level,
                path=path,
                expected=_expected(error, level),
                actual=_actual(error),
                note=note,
                case=case,
            )
        )
    return findings


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Collapse the same rule broken at many list positions into one finding per normalised path."""
    seen: dict[tuple[str, str, str], Finding] = {}
    counts: dict[tuple[str, str, str], int] = {}
    for f in findings:
        normalised = normalise_path(f.path)
        key = (f.rule, normalised, f.expected)
        counts[key] = counts.get(key, 0) + 1
        seen.setdefault(key, f)
    return [
        replace(f, note=_join(f.note, f"and {counts[key] - 1} more like it at {key[1]}")) if counts[key] > 1 else f
        for key, f in seen.items()
    ]


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b
