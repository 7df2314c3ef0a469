"""Derive JSON Schemas (Draft 2020-12) and an OpenAPI 3.1 document from imported API specs.

Two response levels come out of one spec, both decided by ZStack's semantics rather than the page's wording:

* ``must`` (``response.schema.json``): Gson omits nulls, so a field is required only when the documented
  example shows it (every example object, when there are several) or it is the result key (the one top-level
  field besides ``success`` and ``error``). Every documented field that is present has its documented type,
  fields not required may be null, extra keys are allowed (real servers add ``success``). This is what gates.
* ``should`` (``response.should.schema.json``): every field the page marks Required is present and non-null,
  except fields null by design. Null by design is ZStack's semantics first: every ``ErrorCode`` field (``error``
  in a 200, ``cause``) and every ErrorCode member other than ``code``/``description``/``details``
  (``elaboration``, ``opaque``, ...) is null unless something fills it, however the page words it; for other
  fields the page's own wording ("Default is null", "null on success") still counts. Those exemptions are
  reported as documentation findings by the suite, not hidden.

The error envelope's ErrorCode is the same at both levels: exactly ``code``, ``description`` and ``details``
are required, wherever it appears (a 503's ``error``, a nested ``cause``, a 200's ``error``); its other members
may be absent or null.

Parameter constraints that the page does not state (``registryPort`` in 1..65535, ``url`` non-empty) come from
the hand-kept ``overlay.json`` beside each spec, which cites where each constraint was read (the SDK). Its
``corrections`` fix page facts the wire contradicts (the portal's "Synchronous" where the SDK polls, a Query
API's short form the page omits): ``openapi.json`` follows the corrected facts (an async API's first answer is
202 ``{location, apiTimeout}``), spec.json keeps the page's word, and each correction is a doc finding.

Request side: path and query parameters become OpenAPI parameters; body parameters of a POST/PUT become a JSON
``requestBody`` object with the page's nesting (the ``params`` object or the action key). ZStack's REST server
reads only the query string for GET and DELETE (protocol notes §1), so body fields a DELETE page documents are
derived as *query* parameters, where the server does read them (a doc finding reports the page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from zstack_contract.specs.formats import GSON_DATE_FORMAT
from zstack_contract.specs.spec import ApiSpec, Field, Param, dump_json, load_spec

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "urn:zstack-contract"
ERROR_DEF = "ZStackErrorCode"

# Descriptions on ZStack pages that say a field is null by design ("Default is null", "null on success",
# "null if there is no root error"). Such a field may be absent on the wire: Gson drops nulls.
_NULL_BY_DESIGN = re.compile(
    r"default is null|null on success|is null if|left out when|left out while|omitted when", re.IGNORECASE
)
# Inventory members ZStack leaves null unless a user set them, whatever a page marks Required or its example
# shows: every resource VO's ``description`` column is nullable and every create API takes it as optional
# (CreateDatabaseBackup's page: "Optional"), and Gson omits nulls, so a conforming node answers without it.
# A backup-storage ref's ``exportUrl`` is set by ExportDatabaseBackupFromBackupStorage and cleared by
# DeleteExported (CreateDatabaseBackup's page: "left out while it has not been exported"); QueryDatabaseBackup's
# page marks it Required without saying so.
_NULLABLE_COLUMNS = ("description", "exportUrl")

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
OVERLAY_KEYS = ("$comment", "source", "parameters", "knownAliases", "corrections")
ALIAS_KEYS = ("wireName", "source")
CORRECTION_KEYS = ("value", "source")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_path_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v.startswith("/") for v in value)


# The page facts an overlay may correct (spec.json key → what a value must be), and nothing else: a correction
# changes what the suite sends and expects, so each one is named, typed, sourced and reported as a doc finding.
CORRECTABLE: dict[str, tuple[Callable[[Any], bool], str]] = {
    "sync": (_is_bool, "true or false"),
    "authRequired": (_is_bool, "true or false"),
    # Paths the API serves that the page does not list (a Query API's short form); added to the page's own.
    "alternatePaths": (_is_path_list, "a non-empty list of paths, each starting with '/'"),
}


@dataclass(frozen=True)
class Correction:
    """A page fact the overlay corrects: the spec.json key, the value the wire has, and where that was read."""

    fact: str
    value: Any
    source: str


@dataclass(frozen=True)
class Overlay:
    """Constraints the doc page does not state, and page facts it gets wrong, each with the place it was read."""

    parameters: Mapping[str, Mapping[str, Any]]
    aliases: Mapping[str, Mapping[str, str]]
    source: str
    corrections: tuple[Correction, ...] = ()

    @classmethod
    def empty(cls) -> Overlay:
        return cls({}, {}, "")

    def corrected(self, fact: str) -> Correction | None:
        return next((c for c in self.corrections if c.fact == fact), None)

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
        for name, constraint in parameters.items():
            try:
                # The constraints go into the derived request schema as they are; the loader trusts it.
                Draft202012Validator.check_schema({k: v for k, v in constraint.items() if k != "source"})
            except SchemaError as exc:
                raise OverlayError(
                    f"{path}: parameters.{name} is not a set of JSON Schema keywords: {exc.message}"
                ) from None
        for name, alias in aliases.items():
            _reject_unknown(path, alias, ALIAS_KEYS, f"knownAliases.{name}")
            if not isinstance(alias.get("wireName"), str):
                raise OverlayError(f"{path}: knownAliases.{name} needs 'wireName', the name the SDK reads")
        if not isinstance(source, str):
            raise OverlayError(f"{path}: 'source' is text")
        return cls(parameters, aliases, source, _corrections(path, data.get("corrections", {})))


def _corrections(path: Path, data: Any) -> tuple[Correction, ...]:
    if not isinstance(data, dict):
        raise OverlayError(f"{path}: 'corrections' maps each corrected page fact to {{'value': ..., 'source': ...}}")
    _reject_unknown(path, data, CORRECTABLE, "'corrections'")
    out = []
    for fact, entry in data.items():
        where = f"corrections.{fact}"
        if not isinstance(entry, dict):
            raise OverlayError(f"{path}: {where} is an object {{'value': ..., 'source': ...}}")
        _reject_unknown(path, entry, CORRECTION_KEYS, where)
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            # A correction overrides the page; without the place it was read, nobody can check or retire it.
            raise OverlayError(f"{path}: {where} needs 'source', where the corrected fact was read (SDK, server)")
        valid, expected = CORRECTABLE[fact]
        if "value" not in entry or not valid(entry["value"]):
            raise OverlayError(f"{path}: {where}.value must be {expected}, not {entry.get('value')!r}")
        out.append(Correction(fact, entry["value"], source))
    return tuple(out)


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
    check_overlay_corrections(spec, overlay, path)


def check_overlay_corrections(spec: ApiSpec, overlay: Overlay, path: Path) -> None:
    """A correction that restates the page corrects nothing, and would report a disagreement that is not there."""
    for c in overlay.corrections:
        page = page_value(spec, c.fact)
        restated = set(c.value) & set(page) if c.fact == "alternatePaths" else {c.value} if c.value == page else set()
        if restated:
            raise OverlayError(
                f"{path}: corrections.{c.fact} restates what the page already says ({sorted(restated)!r}): "
                "remove it, or correct only what the page gets wrong"
            )


_FACT_ATTRIBUTES = {"sync": "sync", "authRequired": "auth_required", "alternatePaths": "alternate_paths"}


def page_value(spec: ApiSpec, fact: str) -> Any:
    """What the page says about a correctable fact (lists as lists, as in spec.json)."""
    value = getattr(spec, _FACT_ATTRIBUTES[fact])
    return list(value) if isinstance(value, tuple) else value


def corrected_spec(spec: ApiSpec, overlay: Overlay) -> ApiSpec:
    """The page's facts with the overlay's corrections applied: what the wire does (spec.json stays the page)."""
    changes: dict[str, Any] = {}
    for c in overlay.corrections:
        attribute = _FACT_ATTRIBUTES[c.fact]
        changes[attribute] = (*spec.alternate_paths, *c.value) if c.fact == "alternatePaths" else c.value
    return replace(spec, **changes) if changes else spec


def is_null_by_design(field: Field) -> bool:
    """The page's wording says the field is null by design (kept for the doc finding that quotes the wording)."""
    return bool(_NULL_BY_DESIGN.search(field.description))


# The part of ZStack's ErrorCode that is always filled in; every other member (elaboration, opaque, cause,
# location, cost, ...) is set only when something fills it, so Gson leaves it out.
ERROR_CORE = ("code", "description", "details")


def null_by_design(field: Field, in_error_code: bool = False) -> bool:
    """ZStack's semantics: an ErrorCode-typed field (``error``, ``cause``) and any ErrorCode member outside
    ``code``/``description``/``details`` is null by design, whatever the page says; otherwise the page's wording."""
    if field.type in _ERROR_TYPES:
        return True
    if in_error_code:
        # ZStack fills code, description and details on every ErrorCode, even where a page calls them null.
        return field.name not in ERROR_CORE
    if field.name in _NULLABLE_COLUMNS and field.type in _STRING_TYPES:
        return True
    return is_null_by_design(field)


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
        # The example's own object (a login's ``inventory``): what it shows is required at must, as for list items.
        objects = [i for i in example_items or [] if isinstance(i, dict)]
        return _object_schema(api, field.children, level, ref_base, objects)
    if t == "Object" or t.endswith(("Inventory", "Struct", "View", "Info", "Reply", "Event")):
        return {"$comment": f"{t}: the page lists no fields for this class, so any value is accepted"}
    raise DeriveError(f"{api}: field {field.name!r} has type {t!r}, which has no JSON Schema mapping")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _null_or(schema: dict[str, Any]) -> dict[str, Any]:
    """Null, or a value of ``schema``, written so that a wrong value still gets its own precise finding.

    An ``anyOf`` with null would report a ``cause`` of the wrong type as "a ZStackErrorCode (or null)"; a type
    list or ``if null / else`` keeps the finding the value's own schema gives ("type: object", a missing code).
    """
    if isinstance(schema.get("type"), str) and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    if "type" not in schema and "$ref" not in schema:
        return schema  # no type: null is already accepted
    return {"if": {"type": "null"}, "else": schema}


def _object_schema(
    api: str,
    fields: Iterable[Field],
    level: str,
    ref_base: str,
    examples: list[dict[str, Any]],
    result_key: str | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    # "must": what every example object shows is required. No example objects: nothing is required at must level.
    shown_everywhere = set.intersection(*(set(e) for e in examples)) if examples else set()
    for f in fields:
        child_examples = [e[f.name] for e in examples if f.name in e]
        # A list field's example items, or an object field's example objects.
        items = [i for value in child_examples if isinstance(value, list) for i in value]
        items += [value for value in child_examples if isinstance(value, dict)]
        value_schema = _type_schema(api, f, level, ref_base, items)
        if null_by_design(f):
            # ErrorCode fields (a 200's ``error``): absent or null at both levels, even if an example shows one.
            needed = False
        elif level == "must":
            needed = f.name in shown_everywhere or f.name == result_key
        else:
            needed = f.required
        if needed:
            required.append(f.name)
            properties[f.name] = value_schema
        elif level == "must" or null_by_design(f):
            # Present-but-null is tolerated at must level: Java fields are nullable, and Gson may emit them.
            properties[f.name] = _nullable(value_schema)
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
    """ErrorCode, the same at both levels; ``cause`` refers back to it, so the envelope nests to any depth.

    Exactly ``code``, ``description`` and ``details`` are required (protocol notes §2), whatever the page marks
    Required; every other member is null by design (see ``null_by_design``), so it may be absent, or a literal
    ``null`` (ZStack's Gson omits nulls, but a proxy or another serializer writes them, and a client reading
    ErrorCode treats both alike). The core members are never null.
    """
    documented = {f.name: f for f in error_fields(spec)}
    fields = [documented.get(f.name, f) for f in _PROTOCOL_ERROR_FIELDS if f.name in ERROR_CORE]
    fields += [f for name, f in documented.items() if name not in ERROR_CORE]
    properties: dict[str, Any] = {}
    for f in fields:
        value = _type_schema(spec.operation_id, f, "should", ref_base, None)
        if f.name not in ERROR_CORE:
            value = _null_or(value)
        properties[f.name] = {"description": f.description, **value} if f.description else value
    return {"type": "object", "properties": properties, "required": list(ERROR_CORE), "title": "ZStack ErrorCode"}


def _with_header(schema: dict[str, Any], spec: ApiSpec, name: str, title: str) -> dict[str, Any]:
    return {
        "$schema": DRAFT_2020_12,
        "$id": f"{SCHEMA_ID_BASE}:{spec.operation_id}:{name}",
        "title": title,
        "$comment": f"Derived from {spec.source_file} (sha256 {spec.source_sha256[:16]}); do not edit by hand.",
        **schema,
    }


def result_key(spec: ApiSpec) -> str | None:
    """The reply's one result field (``inventories``, ``version``), when the page documents exactly one."""
    results = [f.name for f in spec.response_fields if f.name != "success" and not null_by_design(f)]
    return results[0] if len(results) == 1 else None


def _success_examples(spec: ApiSpec) -> list[dict[str, Any]]:
    """The documented 200 bodies: the response example and, when the page has one, its "Success Response"."""
    texts = [spec.example.response_text]
    if spec.success_response_text is not None:
        texts.append(spec.success_response_text)
    bodies = []
    for text in texts:
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(body, dict):
            bodies.append(body)
    return bodies


def response_schema(spec: ApiSpec, level: str, ref_base: str = "#/$defs/") -> dict[str, Any]:
    if level not in ("must", "should"):
        raise ValueError(f"level must be 'must' or 'should', not {level!r}")
    return _object_schema(
        spec.operation_id, spec.response_fields, level, ref_base, _success_examples(spec), result_key(spec)
    )


def error_envelope_schema(ref_base: str = "#/$defs/") -> dict[str, Any]:
    return {"type": "object", "required": ["error"], "properties": {"error": _ref(ref_base)}}


def _param_schema(spec: ApiSpec, param: Param, overlay: Overlay) -> dict[str, Any]:
    if param.children or (param.location == "body" and param.type == "Object"):
        # A body object (``params``, the action key): its fields with the page's nesting. An action key with no
        # fields (``getVersion``) is still an object: ``{"getVersion": {}}`` is how the API is picked.
        return _body_object_schema(spec, param.children, overlay)
    field = Field(param.name, param.type, param.required, param.description)
    schema = _type_schema(spec.operation_id, field, "should", "#/$defs/", None)
    if param.type in _LIST_TYPES:
        # A query list carries strings: repeated keys (k=a&k=b) or indexed keys (k.0=a); commas are not split.
        # In a JSON body the same lists are arrays of strings (systemTags, userTags, uuid lists).
        schema = {"type": "array", "items": {"type": "string"}}
    constraints = {k: v for k, v in overlay.parameters.get(param.name, {}).items() if k != "source"}
    return {**schema, **constraints}


def _body_object_schema(spec: ApiSpec, params: Iterable[Param], overlay: Overlay) -> dict[str, Any]:
    """A JSON object of body fields; a child's ``required`` holds only when its parent is sent."""
    params = tuple(params)
    properties = {p.name: _described(p.description, _param_schema(spec, p, overlay)) for p in params}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [p.name for p in params if p.required]
    if required:
        schema["required"] = required
    return schema


def _described(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, **schema} if description else schema


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


_BODY_METHODS = ("POST", "PUT")


def _wire_location(spec: ApiSpec, param: Param) -> str:
    """Where the server reads the parameter: body fields of a GET/DELETE are read from the query string."""
    if param.location == "body" and spec.method.upper() not in _BODY_METHODS:
        return "query"
    return param.location


def _openapi_parameter(spec: ApiSpec, param: Param, overlay: Overlay, location: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": location,
        "required": param.required or location == "path",
        "description": param.description,
        "schema": _param_schema(spec, param, overlay),
    }
    if param.type in _LIST_TYPES:
        out["style"] = "form"
        out["explode"] = True
    return out


def _path_names(path: str) -> list[str]:
    return re.findall(r"\{([^{}/]+)\}", path)


@dataclass(frozen=True)
class _Operation:
    """One OpenAPI operation before APIs that share its path and method are put side by side."""

    path: str
    method: str
    operation: dict[str, Any]
    body_key: str | None


ASYNC_JOB_DEF = "ZStackAsyncJob"


def async_job_schema() -> dict[str, Any]:
    """The first answer of an asynchronous API (protocol notes §3): where to poll, and for how long."""
    return {
        "type": "object",
        "title": "ZStack async job accepted",
        "properties": {
            "location": {
                "type": "string",
                "description": "http://<mn-ip>:<port>/zstack/v1/api-jobs/<msgId>: poll it with GET until 200 or 503",
            },
            "apiTimeout": {"type": "integer", "description": "the job's timeout in milliseconds"},
        },
        "required": ["location", "apiTimeout"],
    }


def _x_zstack(spec: ApiSpec, overlay: Overlay, page: ApiSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "since": spec.since,
        "async": not spec.sync,
        "source": spec.source_file,
        "sha256": spec.source_sha256,
    }
    if overlay.corrections:
        # The document follows the wire; what the page said, and where the wire fact was read, stay visible.
        out["corrections"] = [
            {"fact": c.fact, "page": page_value(page, c.fact), "value": c.value, "source": c.source}
            for c in overlay.corrections
        ]
    return out


def _responses(spec: ApiSpec, ref_base: str, plain_text: dict[str, Any]) -> dict[str, Any]:
    op = spec.operation_id
    result = {
        "description": spec.response_description
        if spec.sync
        else f"The job's result, answered by polling the 202's location ({spec.response_description})",
        "content": {"application/json": {"schema": {"$ref": f"{ref_base}{op}Response"}}},
    }
    responses: dict[str, Any] = {}
    if not spec.sync:
        # First: it is what the call itself answers; the SDKs poll the location for the 200 or 503.
        responses["202"] = {
            "description": "Accepted: the API runs as a job (protocol notes section 3)",
            "content": {"application/json": {"schema": {"$ref": f"{ref_base}{ASYNC_JOB_DEF}"}}},
        }
    responses[str(spec.response_status)] = result
    responses["400"] = {
        "description": "Refused by the REST layer (auth header, duplicate key): plain text",
        "content": plain_text,
    }
    responses["503"] = {
        "description": "The API failed: ZStack error envelope",
        "content": {"application/json": {"schema": {"$ref": f"{ref_base}{op}Error"}}},
    }
    return responses


def _operations(page: ApiSpec, overlay: Overlay, ref_base: str, plain_text: dict[str, Any]) -> list[_Operation]:
    spec = corrected_spec(page, overlay)
    op = spec.operation_id
    wire = [(p, _wire_location(spec, p)) for p in spec.parameters]
    parameters = [_openapi_parameter(spec, p, overlay, where) for p, where in wire if where != "body"]
    operation: dict[str, Any] = {
        "operationId": op,
        "summary": spec.title,
        "tags": [spec.group] if spec.group else [],
        "parameters": parameters,
    }
    if any(where == "body" for _, where in wire):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"{ref_base}{op}Request"}}},
        }
    operation["responses"] = _responses(spec, ref_base, plain_text)
    operation["x-zstack"] = _x_zstack(spec, overlay, page)
    if spec.auth_required:
        operation["security"] = [{"session": []}]
    out = [_Operation(spec.path, spec.method.lower(), operation, spec.body_key)]
    for index, alternate in enumerate(spec.alternate_paths):
        suffix = str(index + 1) if len(spec.alternate_paths) > 1 else ""
        out.append(
            _Operation(alternate, spec.method.lower(), _alternate(spec, operation, alternate, suffix), spec.body_key)
        )
    return out


def _alternate(spec: ApiSpec, operation: dict[str, Any], alternate: str, suffix: str) -> dict[str, Any]:
    """The short form (``GET /zones/{uuid}``) of the same API: its path names (``uuid``) are implicit path
    parameters the page does not list; the query parameters still apply. Its ``x-zstack.api`` names the API,
    since an operationId must be unique in the document."""
    names = _path_names(alternate)
    implicit = [
        {
            "name": n,
            "in": "path",
            "required": True,
            "description": f"implicit in {alternate}",
            "schema": {"type": "string"},
        }
        for n in names
    ]
    kept = [p for p in operation["parameters"] if p["in"] != "path" and p["name"] not in names]
    by = "By" + "And".join(n[:1].upper() + n[1:] for n in names) if names else "Alternate"
    return {
        **operation,
        "operationId": f"{spec.operation_id}{by}{suffix}",
        "parameters": implicit + kept,
        "x-zstack": {**operation["x-zstack"], "api": spec.operation_id, "alternateOf": spec.path},
    }


def _side_by_side(shared: list[_Operation]) -> dict[str, Any]:
    """APIs sharing one path and method, held side by side (ZStack routes them by the body key, protocol §1).

    OpenAPI allows one operation per path and method, so the shared operation carries all of them: its request
    body is a ``oneOf`` of the per-API body schemas (each requires its own body key, so a routable body matches
    exactly one), each status's response is an ``anyOf`` of the per-API responses (a response cannot show which
    key picked the API, and the per-API schemas overlap), and ``x-zstack-operations`` lists every API with its
    operationId, body key and facts. The joint ``operationId`` joins the sorted ids with ``|``: unique, stable,
    and never mistaken for one API. Parameters are the union; one is required only where every API requires it.
    """
    ops = sorted(shared, key=lambda o: str(o.operation["operationId"]))
    parameters: dict[tuple[str, str], dict[str, Any]] = {}
    for o in ops:
        for p in o.operation["parameters"]:
            key = (p["in"], p["name"])
            if key not in parameters:
                parameters[key] = dict(p)
            parameters[key]["required"] = parameters[key]["required"] and p["required"]
    for key, p in parameters.items():
        if not all(any((q["in"], q["name"]) == key for q in o.operation["parameters"]) for o in ops):
            p["required"] = p["in"] == "path"
    merged: dict[str, Any] = {
        "operationId": "|".join(str(o.operation["operationId"]) for o in ops),
        "summary": "; ".join(str(o.operation["summary"]) for o in ops),
        "tags": sorted({t for o in ops for t in o.operation["tags"]}),
        "parameters": list(parameters.values()),
    }
    bodies = [
        o.operation["requestBody"]["content"]["application/json"]["schema"] for o in ops if "requestBody" in o.operation
    ]
    if bodies:
        merged["requestBody"] = {
            "required": len(bodies) == len(ops),
            "content": {"application/json": {"schema": {"oneOf": bodies}}},
        }
    responses: dict[str, Any] = {}
    for o in ops:
        for status, response in o.operation["responses"].items():
            entry = responses.setdefault(status, {"description": response["description"], "content": {}})
            for media, content in response["content"].items():
                alternatives = entry["content"].setdefault(media, {"schema": {"anyOf": []}})["schema"]["anyOf"]
                if content["schema"] not in alternatives:
                    alternatives.append(content["schema"])
    for response in responses.values():
        for content in response["content"].values():
            if len(content["schema"]["anyOf"]) == 1:
                content["schema"] = content["schema"]["anyOf"][0]
    merged["responses"] = dict(sorted(responses.items()))
    merged["x-zstack-operations"] = [
        {
            "operationId": o.operation["operationId"],
            "bodyKey": o.body_key,
            "summary": o.operation["summary"],
            "authRequired": "security" in o.operation,
            **o.operation["x-zstack"],
        }
        for o in ops
    ]
    secured = ["security" in o.operation for o in ops]
    if all(secured):
        merged["security"] = [{"session": []}]
    elif any(secured):
        merged["security"] = [{"session": []}, {}]  # some of the APIs need no session
    return merged


def openapi_document(specs: Iterable[tuple[ApiSpec, Overlay]], version: str) -> dict[str, Any]:
    """One OpenAPI 3.1 document for all APIs; the error schema is shared under components."""
    ref_base = "#/components/schemas/"
    schemas: dict[str, Any] = {}
    plain_text = {"text/plain": {"schema": {"type": "string"}}}
    grouped: dict[tuple[str, str], list[_Operation]] = {}
    for spec, overlay in sorted(specs, key=lambda pair: pair[0].operation_id):
        op = spec.operation_id
        schemas.setdefault(ERROR_DEF, error_code_schema(spec, ref_base))
        schemas[f"{op}Response"] = response_schema(spec, "must", ref_base)
        schemas[f"{op}Error"] = error_envelope_schema(ref_base)
        body = [p for p in spec.parameters if _wire_location(spec, p) == "body"]
        if body:
            schemas[f"{op}Request"] = _body_object_schema(spec, body, overlay)
        if not corrected_spec(spec, overlay).sync:
            schemas[ASYNC_JOB_DEF] = async_job_schema()
        for operation in _operations(spec, overlay, ref_base, plain_text):
            grouped.setdefault((operation.path, operation.method), []).append(operation)
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), shared in sorted(grouped.items()):
        paths.setdefault(path, {})[method] = shared[0].operation if len(shared) == 1 else _side_by_side(shared)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ZStack Cloud REST API (documented contract)",
            "version": version,
            "description": "Derived by zstack-contract from ZStack's published API pages; do not edit by hand.",
        },
        "jsonSchemaDialect": DRAFT_2020_12,
        "paths": paths,
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
