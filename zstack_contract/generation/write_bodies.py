"""Create bodies for the property-based write tests: valid names (the run's prefix, unicode, up to the limit in
Java characters) and the invalid cases, built from the Create API's spec like every lifecycle request.

Lengths are Java's (UTF-16 code units, :func:`zstack_contract.specs.formats.java_length`): ZStack checks
``String.length()``, so a character outside the BMP counts twice. A name is cut on whole characters only.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from zstack_contract.generation import expectations as table
from zstack_contract.generation.calls import Call, build_call, fresh_uuid
from zstack_contract.generation.expectations import Expectation
from zstack_contract.specs.contract import ApiContract
from zstack_contract.specs.formats import java_length

NAME_LIMIT = 255  # the page: "limited to 255 characters" (Java's String.length())
# Generated examples per writes-mode property test. Each example creates a real backup on the node and deletes it
# (about 6 requests and two job waits), so the budget is small and fixed, not --zstack-examples: 6 drawn names
# plus the explicit boundary examples cover short, unicode and long names without making a live run slow.
WRITE_EXAMPLES = 6
ASTRAL = "\U0001d11e"  # MUSICAL SYMBOL G CLEF: one character, two UTF-16 units


def outside_bmp(text: str) -> bool:
    """Whether ``text`` has a character outside the Basic Multilingual Plane (four bytes in UTF-8)."""
    return any(ord(c) > 0xFFFF for c in text)


def fit_name(prefix: str, text: str, limit: int = NAME_LIMIT) -> str:
    """``prefix + text`` cut to at most ``limit`` Java characters, never inside a character."""
    name = prefix
    for char in text:
        if java_length(name + char) > limit:
            break
        name += char
    return name


def name_of_length(prefix: str, length: int, *, astral: bool = False) -> str:
    """A name of exactly ``length`` Java characters: the prefix, then (``astral``) G clefs, then 'é's to fill."""
    name = prefix
    while astral and java_length(name) + 2 <= length - 1:
        name += ASTRAL
    while java_length(name) < length:
        name += "é"
    if java_length(name) != length:
        raise ValueError(f"the prefix {prefix!r} is longer than {length} Java characters")
    return name


@dataclass(frozen=True)
class InvalidBody:
    """One invalid Create body: what is wrong with it, and whether the refusal's code is must."""

    id: str
    why: str
    code_is_must: bool
    should_code: str | None = None  # another code than SYS.1007 (should), where ZStack answers one
    basis: str = ""

    def expectation(self) -> Expectation:
        """Refused through the job (202, then 503) or at once; the error code must or should be as said."""
        expected = table.async_invalid_argument(code_is_must=self.code_is_must)
        if self.should_code is None:
            return expected
        return dataclasses.replace(expected, should_code=self.should_code, basis=f"{self.basis}; {expected.basis}")


INVALID_BODIES = (
    InvalidBody("missing-name", "the required name is left out", code_is_must=True),
    InvalidBody("empty-name", 'the name is ""', code_is_must=True),
    InvalidBody("256-name", f"the name is {NAME_LIMIT + 1} Java characters long (limit {NAME_LIMIT})", True),
    InvalidBody(
        "unknown-backup-storage",
        "backupStorageUuid names no backup storage (a fresh uuid)",
        code_is_must=False,
        should_code="SYS.1003",
        basis="a uuid field naming no resource: PortApiValidator's resource check (@APIParam(resourceType=...)) "
        "answers SYS.1003 RESOURCE_NOT_FOUND 'invalid field[backupStorageUuid], resource[uuid:..., "
        "type:BackupStorageVO] not found' (zstackio/zstack portal/.../apimediator/PortApiValidator.java; protocol "
        "notes §2 system error codes)",
    ),
)


def create_call(api: ApiContract, name: str | None, storage_uuid: str) -> Call:
    """Create's request for ``name`` (None: left out) on ``storage_uuid``, filled as the lifecycle fills it."""
    context = {"name": name if name is not None else "placeholder", "backupStorageUuid": storage_uuid}
    call = build_call(api, context)
    if isinstance(call, str):
        raise ValueError(call)
    if name is None and call.body is not None:
        body: dict[str, Any] = copy.deepcopy(call.body)
        for fields in body.values():
            if isinstance(fields, dict):
                fields.pop("name", None)
        call = Call(call.method, call.path, call.query, body)
    return call


def invalid_call(api: ApiContract, case: InvalidBody, prefix: str, storage_uuid: str) -> tuple[Call, str]:
    """The request for an invalid case and the name entered in the ledger for it (a server that wrongly accepts
    it creates a backup the cleanup must find)."""
    if case.id == "missing-name":
        return create_call(api, None, storage_uuid), f"{prefix}missing-name (sent without a name)"
    if case.id == "empty-name":
        return create_call(api, "", storage_uuid), f"{prefix}empty-name (sent with an empty name)"
    if case.id == "256-name":
        name = name_of_length(prefix, NAME_LIMIT + 1)
        return create_call(api, name, storage_uuid), name
    if case.id == "unknown-backup-storage":
        name = f"{prefix}unknown-backup-storage"
        return create_call(api, name, fresh_uuid()), name
    raise ValueError(f"unknown invalid case {case.id}")


# Explicit examples of the valid-name property (the prefix is the run's, so they are filled in at run time): a
# name of exactly the limit in BMP characters, and one that reaches it with characters outside the BMP.
FILL_TO_LIMIT = "\x00fill-to-limit"
FILL_TO_LIMIT_ASTRAL = "\x00fill-to-limit-astral"


def example_name(prefix: str, text: str) -> str:
    """The name for one example: the boundary fillers, or ``prefix + text`` cut to the limit."""
    if text == FILL_TO_LIMIT:
        return name_of_length(prefix, NAME_LIMIT)
    if text == FILL_TO_LIMIT_ASTRAL:
        return name_of_length(prefix, NAME_LIMIT, astral=True)
    return fit_name(prefix, text)
