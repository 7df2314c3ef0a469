"""The structured form of one documented ZStack API: what the importer writes and the deriver reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Param:
    """One request parameter as the doc page lists it."""

    name: str
    location: str  # "query", "path" or "body"
    type: str  # the doc's Java-ish type name, e.g. "String", "int", "List"
    required: bool
    description: str


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
    """Everything the doc page says about one API."""

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

    @property
    def response_example_body(self) -> Any:
        return json.loads(self.example.response_text)

    def to_json(self) -> dict[str, Any]:
        return {
            "specFormat": SPEC_FORMAT_VERSION,
            "source": {"file": self.source_file, "sha256": self.source_sha256},
            "operationId": self.operation_id,
            "title": self.title,
            "category": self.category,
            "group": self.group,
            "method": self.method,
            "path": self.path,
            "since": self.since,
            "sync": self.sync,
            "authRequired": self.auth_required,
            "parameters": [
                {
                    "name": p.name,
                    "in": p.location,
                    "type": p.type,
                    "required": p.required,
                    "description": p.description,
                }
                for p in self.parameters
            ],
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
            parameters=tuple(
                Param(p["name"], p["in"], p["type"], p["required"], p["description"]) for p in data["parameters"]
            ),
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
