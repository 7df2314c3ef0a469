"""Requests built from an API's spec and a context of values by field name, never from a list of API names.

A path parameter, a query parameter or a field of the body key's object is filled when the context has a value
under its name; a required one the context lacks is the reason the call cannot be made, said, never guessed. The
write lifecycle and the write-body properties build their requests here, so a page imported tomorrow with the
same field names is filled the same way.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zstack_contract.specs.contract import ApiContract


@dataclass(frozen=True)
class Call:
    """One request of a step, built from the API's spec and the context."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] | None = None


def build_call(api: ApiContract, context: Mapping[str, str]) -> Call | str:
    """The API's request with every parameter the context names filled; a missing required one is the reason
    (a string) the call cannot be made."""
    path = api.spec.path
    query: list[tuple[str, str]] = []
    missing: list[str] = []
    body: dict[str, Any] | None = None
    for param in api.spec.parameters:
        if param.location == "path":
            value = context.get(param.name)
            if value is None:
                missing.append(param.name)
            else:
                path = path.replace(f"{{{param.name}}}", value)
        elif param.location == "query" and param.name in context:
            query.append((param.name, context[param.name]))
        elif param.location == "body" and param.name == api.spec.body_key:
            fields = {c.name: context[c.name] for c in param.children if c.name in context}
            missing += [c.name for c in param.children if c.required and c.name not in context]
            body = {param.name: fields}
    if missing:
        flags = " ".join(f"--zstack-param {name}=VALUE" for name in missing)
        return f"{api.name}: no value for required field(s) {', '.join(missing)} (the lifecycle knows none; {flags})"
    if api.spec.body_key is not None and body is None:
        body = {api.spec.body_key: {}}
    return Call(api.spec.method, path, query, body)


def fresh_uuid() -> str:
    """A uuid no resource has (32 hex, as ZStack writes them)."""
    return uuidlib.uuid4().hex
