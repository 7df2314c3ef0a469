"""The structured form of one documented ZStack API: what the importer writes and the deriver reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Param:
    """One request parameter as the doc page lists it.

    ``children`` nests body fields the way the page nests its bullets (the ``params`` object or the action key);
    a child's ``required`` holds only when its parent is sent. ``documented_in`` is set only when the page lists
    the parameter under another section than the one the endpoint puts it in (e.g. a ``{name}`` of the endpoint's
    query string listed under "Path Parameters"): a page fact for a doc finding, the location is the wire's.
    """

    name: str
    location: str  # "query", "path" or "body"
    type: str  # the doc's Java-ish type name, e.g. "String", "int", "List"
    required: bool
    description: str
    children: tuple[Param, ...] = ()
    documented_in: str | None = None


@dataclass(frozen=True)
class Field:
    """One field of the documented response tree."""

    name: str
    type: str
    required: bool
    description: str
    children: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Example:
    """The documented request (curl) and response example, kept verbatim."""

    request_curl: str
    response_status: int
    response_text: str


@dataclass(frozen=True)
class ApiSpec:
    """Everything the doc page says about one API.

    Every field is a page fact. ``sync`` and ``auth_required`` are what the page's heading says ("Synchronous",
    "Auth Required"); the portal labels every API "Synchronous", so the SDK facts that correct them live in the
    API's overlay, not here. Fields added after format 1 was first committed have defaults and are left out of
    the JSON at their default, so a page that does not use them imports to the same bytes as before.
    """

    operation_id: str
    title: str
    category: str
    group: str
    method: str
    path: str
    since: str
    sync: bool
    auth_required: bool
    parameters: tuple[Param, ...]
    response_status: int
    response_description: str
    response_fields: tuple[Field, ...]
    example: Example
    change_history: str
    source_file: str
    source_sha256: str
    extra: dict[str, Any] = field(default_factory=dict)
    # Further endpoints the page lists for the same method, e.g. a Query API's short form ``.../{uuid}``.
    alternate_paths: tuple[str, ...] = ()
    # The page's "Success Response" and "Error Response" blocks, verbatim JSON text, when it has them.
    success_response_text: str | None = None
    error_response_text: str | None = None

    @property
    def body_key(self) -> str | None:
        """The top-level body object that wraps the fields (``params`` or the action key), when there is one.

        ZStack routes APIs that share a path and method by this key (protocol notes §1, "Routing").
        """
        objects = [p.name for p in self.parameters if p.location == "body" and p.type == "Object" and p.required]
        return objects[0] if len(objects) == 1 else None

    @property
    def response_example_body(self) -> Any:
        return json.loads(self.example.response_text)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "specFormat": SPEC_FORMAT_VERSION,
            "source": {"file": self.source_file, "sha256": self.source_sha256},
            "operationId": self.operation_id,
            "title": self.title,
            "category": self.category,
            "group": self.group,
            "method": self.method,
            "path": self.path,
            **({"alternatePaths": list(self.alternate_paths)} if self.alternate_paths else {}),
            "since": self.since,
            "sync": self.sync,
            "authRequired": self.auth_required,
            "parameters": [_param_to_json(p) for p in self.parameters],
            "response": {
                "status": self.response_status,
                "description": self.response_description,
                "fields": [_field_to_json(f) for f in self.response_fields],
            },
            "examples": {
                "request": {"curl": self.example.request_curl},
                "response": {"status": self.example.response_status, "text": self.example.response_text},
            },
            "changeHistory": self.change_history,
        }
        if self.success_response_text is not None:
            out["examples"]["success"] = {"text": self.success_response_text}
        if self.error_response_text is not None:
            out["examples"]["error"] = {"text": self.error_response_text}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiSpec:
        if data.get("specFormat") != SPEC_FORMAT_VERSION:
            raise ValueError(f"unsupported spec format {data.get('specFormat')!r}; expected {SPEC_FORMAT_VERSION}")
        return cls(
            operation_id=data["operationId"],
            title=data["title"],
            category=data["category"],
            group=data["group"],
            method=data["method"],
            path=data["path"],
            since=data["since"],
            sync=data["sync"],
            auth_required=data["authRequired"],
            parameters=tuple(_param_from_json(p) for p in data["parameters"]),
            response_status=data["response"]["status"],
            response_description=data["response"]["description"],
            response_fields=tuple(_field_from_json(f) for f in data["response"]["fields"]),
            example=Example(
                request_curl=data["examples"]["request"]["curl"],
                response_status=data["examples"]["response"]["status"],
                response_text=data["examples"]["response"]["text"],
            ),
            change_history=data["changeHistory"],
            source_file=data["source"]["file"],
            source_sha256=data["source"]["sha256"],
            alternate_paths=tuple(data.get("alternatePaths", ())),
            success_response_text=data["examples"].get("success", {}).get("text"),
            error_response_text=data["examples"].get("error", {}).get("text"),
        )


def _param_to_json(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name,
        "in": p.location,
        "type": p.type,
        "required": p.required,
        "description": p.description,
    }
    if p.documented_in is not None:
        out["documentedIn"] = p.documented_in
    if p.children:
        out["children"] = [_param_to_json(c) for c in p.children]
    return out


def _param_from_json(data: dict[str, Any]) -> Param:
    return Param(
        name=data["name"],
        location=data["in"],
        type=data["type"],
        required=data["required"],
        description=data["description"],
        children=tuple(_param_from_json(c) for c in data.get("children", ())),
        documented_in=data.get("documentedIn"),
    )


def _field_to_json(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "type": f.type, "required": f.required, "description": f.description}
    if f.children:
        out["children"] = [_field_to_json(c) for c in f.children]
    return out


def _field_from_json(data: dict[str, Any]) -> Field:
    return Field(
        name=data["name"],
        type=data["type"],
        required=data["required"],
        description=data["description"],
        children=tuple(_field_from_json(c) for c in data.get("children", ())),
    )


def dump_json(data: Any) -> str:
    """The one serialisation every committed file uses, so regeneration is byte-for-byte deterministic."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def load_spec(path: Path) -> ApiSpec:
    return ApiSpec.from_json(json.loads(path.read_text(encoding="utf-8")))
