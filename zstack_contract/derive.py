"""Derive JSON Schemas (Draft 2020-12) and an OpenAPI 3.1 document from imported API specs.

Two response levels come out of one spec:

* ``must`` (``response.schema.json``): the result fields shown in the documented example are present, every
  documented field that is present has its documented type, extra keys are allowed (real servers add
  ``success``). This is what gates.
* ``should`` (``response.should.schema.json``): every field the page marks Required is present and non-null,
  except fields whose own description says they are null by design (``error`` is "null on success"; Gson
  omits nulls, so absent is how null looks on the wire). Those exemptions are reported as documentation
  findings by the suite, not hidden.

Parameter constraints that the page does not state (``registryPort`` in 1..65535, ``url`` non-empty) come from
the hand-kept ``overlay.json`` beside each spec, which cites where each constraint was read (the SDK).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zstack_contract.spec import ApiSpec, Field, Param, dump_json, load_spec

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
GSON_DATE_FORMAT = "zstack-gson-date"
SCHEMA_ID_BASE = "urn:zstack-contract"
ERROR_DEF = "ZStackErrorCode"

# Descriptions on ZStack pages that say a field is null by design ("Default is null", "null on success",
# "null if there is no root error"). Such a field may be absent on the wire: Gson drops nulls.
_NULL_BY_DESIGN = re.compile(r"default is null|null on success|is null if", re.IGNORECASE)

_INTEGER_TYPES = {
    "int": "int32",
    "Integer": "int32",
    "short": "int32",
    "Short": "int32",
    "long": "int64",
    "Long": "int64",
}
_NUMBER_TYPES = {"float", "Float", "double", "Double"}
_STRING_TYPES = {"String"}
_BOOLEAN_TYPES = {"boolean", "Boolean"}
_DATE_TYPES = {"Timestamp", "Date"}
_LIST_TYPES = {"List", "Set"}
_MAP_TYPES = {"Map", "LinkedHashMap", "HashMap"}
_ERROR_TYPES = {"ErrorCode"}

# The envelope from the protocol notes (§2), used only when a page documents no ErrorCode tree of its own.
_PROTOCOL_ERROR_FIELDS = (
    Field("code", "String", True, "The error code, e.g. SYS.1007"),
    Field("description", "String", True, "A brief description of the error"),
    Field("details", "String", True, "The detailed error information"),
    Field("cause", "ErrorCode", True, "The root error. This field is null if there is no root error"),
)


class DeriveError(ValueError):
    """A spec that cannot be turned into a schema; the message names the API and field."""


class OverlayError(ValueError):
    """An ``overlay.json`` that cannot be used as written; the message names the file and what is wrong."""


# Every key an overlay may have. A misspelt key ("parameter", "knownAlias") would otherwise drop its
# constraints without a word, and the derived schemas would silently lose them.
OVERLAY_KEYS = ("$comment", "source", "parameters", "knownAliases")
ALIAS_KEYS = ("wireName", "source")


@dataclass(frozen=True)
class Overlay:
    """Constraints the doc page does not state, each with the place it was read."""

    parameters: Mapping[str, Mapping[str, Any]]
    aliases: Mapping[str, Mapping[str, str]]
    source: str

    @classmethod
    def empty(cls) -> Overlay:
        return cls({}, {}, "")

    @classmethod
    def load(cls, path: Path) -> Overlay:
        """The overlay at ``path`` (empty when there is none). Raises OverlayError naming the file and the fault."""
        if not path.exists():
            return cls.empty()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise OverlayError(f"{path}: cannot read the overlay: {exc}") from None
        if not isinstance(data, dict):
            raise OverlayError(f"{path}: an overlay is a JSON object, not {type(data).__name__}")
        _reject_unknown(path, data, OVERLAY_KEYS, "an overlay")
        parameters, aliases, source = data.get("parameters", {}), data.get("knownAliases", {}), data.get("source", "")
        if not isinstance(parameters, dict) or not all(isinstance(v, dict) for v in parameters.values()):
            raise OverlayError(f"{path}: 'parameters' maps each parameter name to an object of JSON Schema keywords")
        if not isinstance(aliases, dict) or not all(isinstance(v, dict) for v in aliases.values()):
            raise OverlayError(f"{path}: 'knownAliases' maps each documented name to an object")
        for name, alias in aliases.items():
            _reject_unknown(path, alias, ALIAS_KEYS, f"knownAliases.{name}")
            if not isinstance(alias.get("wireName"), str):
                raise OverlayError(f"{path}: knownAliases.{name} needs 'wireName', the name the SDK reads")
        if not isinstance(source, str):
            raise OverlayError(f"{path}: 'source' is text")
        return cls(parameters, aliases, source)


def _reject_unknown(path: Path, data: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise OverlayError(
            f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {names} in {where}, "
            f"which knows {', '.join(repr(k) for k in known)}"
        )


def check_overlay_parameters(spec: ApiSpec, overlay: Overlay, path: Path) -> None:
    """An overlay constraint for a parameter the spec lacks (a misspelt name) would be dropped without a word."""
    _reject_unknown(path, overlay.parameters, [p.name for p in spec.parameters], "'parameters'")


def is_null_by_design(field: Field) -> bool:
    return bool(_NULL_BY_DESIGN.search(field.description))


def _ref(ref_base: str) -> dict[str, Any]:
    return {"$ref": f"{ref_base}{ERROR_DEF}"}


def _type_schema(api: str, field: Field, level: str, ref_base: str, example_items: list[Any] | None) -> dict[str, Any]:
    """The schema of one field's value (never null; nullability is decided by the caller)."""
    t = field.type
    if t in _STRING_TYPES:
        return {"type": "string"}
    if t in _INTEGER_TYPES:
        # JSON Schema's "integer" accepts integral floats (7995392.0), as ZStack's doc generator prints them.
        return {"type": "integer", "format": _INTEGER_TYPES[t]}
    if t in _NUMBER_TYPES:
        return {"type": "number"}
    if t in _BOOLEAN_TYPES:
        return {"type": "boolean"}
    if t in _DATE_TYPES:
        return {"type": "string", "format": GSON_DATE_FORMAT}
    if t in _ERROR_TYPES:
        return _ref(ref_base)
    if t in _MAP_TYPES:
        return {"type": "object"}
    if t in _LIST_TYPES:
        if not field.children:
            return {"type": "array"}
        item_examples = [i for i in example_items or [] if isinstance(i, dict)]
        return {"type": "array", "items": _object_schema(api, field.children, level, ref_base, item_examples)}
    if field.children:
        return _object_schema(api, field.children, level, ref_base, [])
    if t == "Object" or t.endswith(("Inventory", "Struct", "View", "Info", "Reply", "Event")):
        return {"$comment": f"{t}: the page lists no fields for this class, so any value is accepted"}
    raise DeriveError(f"{api}: field {field.name!r} has type {t!r}, which has no JSON Schema mapping")


def _object_schema(
    api: str, fields: Iterable[Field], level: str, ref_base: str, examples: list[dict[str, Any]]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    # "must": what every example object shows is required. No example objects: nothing is required at must level.
    shown_everywhere = set.intersection(*(set(e) for e in examples)) if examples else set()
    for f in fields:
        child_examples = [e[f.name] for e in examples if f.name in e]
        items = [i for value in child_examples if isinstance(value, list) for i in value]
        value_schema = _type_schema(api, f, level, ref_base, items)
        needed = f.name in shown_everywhere if level == "must" else f.required and not is_null_by_design(f)
        if needed:
            required.append(f.name)
            properties[f.name] = value_schema
        elif level == "must":
            # Present-but-null is tolerated at must level: Java fields are nullable, and Gson may emit them.
            properties[f.name] = {"anyOf": [value_schema, {"type": "null"}]}
        else:
            properties[f.name] = value_schema
        properties[f.name] = (
            {"description": f.description, **properties[f.name]} if f.description else properties[f.name]
        )
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def error_fields(spec: ApiSpec) -> tuple[Field, ...]:
    """The ErrorCode field tree the page documents, or the protocol envelope when it documents none."""
    for f in spec.response_fields:
        if f.type in _ERROR_TYPES and f.children:
            return f.children
    return _PROTOCOL_ERROR_FIELDS


def error_code_schema(spec: ApiSpec, ref_base: str) -> dict[str, Any]:
    """ErrorCode; ``cause`` refers back to it, so the envelope nests to any depth."""
    schema = _object_schema(spec.operation_id, error_fields(spec), "should", ref_base, [])
    schema["title"] = "ZStack ErrorCode"
    return schema


def _with_header(schema: dict[str, Any], spec: ApiSpec, name: str, title: str) -> dict[str, Any]:
    return {
        "$schema": DRAFT_2020_12,
        "$id": f"{SCHEMA_ID_BASE}:{spec.operation_id}:{name}",
        "title": title,
        "$comment": f"Derived from {spec.source_file} (sha256 {spec.source_sha256[:16]}); do not edit by hand.",
        **schema,
    }


def response_schema(spec: ApiSpec, level: str, ref_base: str = "#/$defs/") -> dict[str, Any]:
    if level not in ("must", "should"):
        raise ValueError(f"level must be 'must' or 'should', not {level!r}")
    example = spec.response_example_body
    examples = [example] if isinstance(example, dict) else []
    return _object_schema(spec.operation_id, spec.response_fields, level, ref_base, examples)


def error_envelope_schema(ref_base: str = "#/$defs/") -> dict[str, Any]:
    return {"type": "object", "required": ["error"], "properties": {"error": _ref(ref_base)}}


def _param_schema(spec: ApiSpec, param: Param, overlay: Overlay) -> dict[str, Any]:
    field = Field(param.name, param.type, param.required, param.description)
    schema = _type_schema(spec.operation_id, field, "should", "#/$defs/", None)
    if param.type in _LIST_TYPES:
        # A query list carries strings: repeated keys (k=a&k=b) or indexed keys (k.0=a); commas are not split.
        schema = {"type": "array", "items": {"type": "string"}}
    constraints = {k: v for k, v in overlay.parameters.get(param.name, {}).items() if k != "source"}
    return {**schema, **constraints}


def request_schema(spec: ApiSpec, overlay: Overlay) -> dict[str, Any]:
    properties = {p.name: _param_schema(spec, p, overlay) for p in spec.parameters}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [p.name for p in spec.parameters if p.required]
    if required:
        schema["required"] = required
    return schema


def derive_files(spec: ApiSpec, overlay: Overlay) -> dict[str, dict[str, Any]]:
    """File name (relative to the API's schema folder) → schema document."""
    defs = {"$defs": {ERROR_DEF: error_code_schema(spec, "#/$defs/")}}
    op = spec.operation_id
    return {
        "request.schema.json": _with_header(request_schema(spec, overlay), spec, "request", f"{op} request parameters"),
        "response.schema.json": _with_header(
            {**response_schema(spec, "must"), **defs}, spec, "response", f"{op} 200 response (must)"
        ),
        "response.should.schema.json": _with_header(
            {**response_schema(spec, "should"), **defs}, spec, "response-should", f"{op} 200 response (should)"
        ),
        "error.schema.json": _with_header(
            {**error_envelope_schema(), **defs}, spec, "error", f"{op} failure envelope (HTTP 503)"
        ),
    }


def _openapi_parameter(spec: ApiSpec, param: Param, overlay: Overlay) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.location,
        "required": param.required or param.location == "path",
        "description": param.description,
        "schema": _param_schema(spec, param, overlay),
    }
    if param.type in _LIST_TYPES:
        out["style"] = "form"
        out["explode"] = True
    return out


def openapi_document(specs: Iterable[tuple[ApiSpec, Overlay]], version: str) -> dict[str, Any]:
    """One OpenAPI 3.1 document for all APIs; the error schema is shared under components."""
    ref_base = "#/components/schemas/"
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    plain_text = {"text/plain": {"schema": {"type": "string"}}}
    for spec, overlay in sorted(specs, key=lambda pair: pair[0].operation_id):
        op = spec.operation_id
        schemas.setdefault(ERROR_DEF, error_code_schema(spec, ref_base))
        schemas[f"{op}Response"] = response_schema(spec, "must", ref_base)
        schemas[f"{op}Error"] = error_envelope_schema(ref_base)
        operation: dict[str, Any] = {
            "operationId": op,
            "summary": spec.title,
            "tags": [spec.group] if spec.group else [],
            "parameters": [_openapi_parameter(spec, p, overlay) for p in spec.parameters if p.location != "body"],
            "responses": {
                str(spec.response_status): {
                    "description": spec.response_description,
                    "content": {"application/json": {"schema": {"$ref": f"{ref_base}{op}Response"}}},
                },
                "400": {
                    "description": "Refused by the REST layer (auth header, duplicate key): plain text",
                    "content": plain_text,
                },
                "503": {
                    "description": "The API failed: ZStack error envelope",
                    "content": {"application/json": {"schema": {"$ref": f"{ref_base}{op}Error"}}},
                },
            },
            "x-zstack": {
                "since": spec.since,
                "sync": spec.sync,
                "source": spec.source_file,
                "sha256": spec.source_sha256,
            },
        }
        if spec.auth_required:
            operation["security"] = [{"session": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ZStack Cloud REST API (documented contract)",
            "version": version,
            "description": "Derived by zstack-contract from ZStack's published API pages; do not edit by hand.",
        },
        "jsonSchemaDialect": DRAFT_2020_12,
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "'OAuth <sessionUuid>' from PUT /zstack/v1/accounts/login",
                }
            },
        },
    }


def api_dirs(schemas_dir: Path) -> list[Path]:
    return sorted(p.parent for p in schemas_dir.glob("*/spec.json"))


def stale_files(schemas_dir: Path) -> dict[Path, str]:
    """Derived files that are missing or differ from what their spec derives, with the text they must have."""
    return {
        path: text
        for path, text in derive_all(schemas_dir).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    }


def derive_all(schemas_dir: Path) -> dict[Path, str]:
    """Every derived file under ``schemas_dir`` with the exact text it must have."""
    out: dict[Path, str] = {}
    pairs: list[tuple[ApiSpec, Overlay]] = []
    for api_dir in api_dirs(schemas_dir):
        spec = load_spec(api_dir / "spec.json")
        overlay = Overlay.load(api_dir / "overlay.json")
        check_overlay_parameters(spec, overlay, api_dir / "overlay.json")
        pairs.append((spec, overlay))
        for name, schema in derive_files(spec, overlay).items():
            out[api_dir / name] = dump_json(schema)
    if pairs:
        from zstack_contract import __version__

        out[schemas_dir / "openapi.json"] = dump_json(openapi_document(pairs, __version__))
    return out
