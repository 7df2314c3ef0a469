"""Removing what the suite created: at the end of a writes-mode session, and from the command line after a crash.

Only names that start with the suite's prefix are ever touched. A Query's ``name~=<prefix>%`` is a MySQL LIKE,
which ignores case, so every listed name is checked again here, exactly and case-sensitively, before anything is
deleted. Which resources can be created and removed is read from the catalogue (``Create<X>`` with its
``Query<X>`` and ``Delete<X>``), so a new family of APIs is cleaned up without a change here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.answers import error_code, succeeded_listing
from zstack_contract.transport.client import TargetUnreachableError, UnsafeRequestError, ZStackClient
from zstack_contract.transport.jobs import FAILED, SUCCEEDED, Clock, Sleep, submit
from zstack_contract.transport.ledger import Created, Ledger, run_prefix
from zstack_contract.transport.safejson import excerpt

_PATH_PARAMETER = re.compile(r"\{\w+\}")
_ZSTACK_UUID = re.compile(r"[0-9a-fA-F]{32}")


class CleanupError(RuntimeError):
    """Listing a kind of resource failed; the message says how (masked)."""


# What a node can do to a cleanup (no answer, a refused or odd answer): noted on the entry, never raised.
# KeyboardInterrupt and the suite's own bugs are not among them: they go through.
SERVER_FAILURES: tuple[type[Exception], ...] = (
    CleanupError,
    TargetUnreachableError,
    UnsafeRequestError,
    ValueError,
)


@dataclass(frozen=True)
class Creatable:
    """A kind of resource the suite can create, find by name and remove."""

    create: ApiContract
    query: ApiContract
    delete: ApiContract

    @property
    def kind(self) -> str:
        return self.create.name[len("Create") :]


@dataclass(frozen=True)
class Leftover:
    name: str
    uuid: str


def creatables(catalog: Iterable[ApiContract]) -> list[Creatable]:
    """Every ``Create<X>`` of the catalogue with a ``Query<X>`` (a Query API) and a ``Delete<X>`` (one path
    parameter, the uuid)."""
    by_name = {api.name: api for api in catalog}
    out = []
    for name in sorted(by_name):
        if not name.startswith("Create") or len(name) == len("Create"):
            continue
        kind = name[len("Create") :]
        query, delete = by_name.get(f"Query{kind}"), by_name.get(f"Delete{kind}")
        if query is None or delete is None or not query.is_query:
            continue
        if delete.spec.method != "DELETE" or len(_PATH_PARAMETER.findall(delete.spec.path)) != 1:
            continue
        out.append(Creatable(by_name[name], query, delete))
    return out


def find_leftovers(client: ZStackClient, creatable: Creatable, prefix: str) -> list[Leftover]:
    """The resources of this kind whose name starts with ``prefix`` (exactly, case-sensitively).

    Raises CleanupError when the Query does not answer a listing.
    """
    query = creatable.query
    exchange = client.send("GET", query.spec.path, query=[("q", f"name~={prefix}%")])
    items = succeeded_listing(exchange)
    if not isinstance(items, list):
        raise CleanupError(
            f"{query.name} did not list {creatable.kind} resources: HTTP {exchange.status} "
            f"{excerpt(exchange.text, 200)}"
        )
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name, uuid = item.get("name"), item.get("uuid")
        if isinstance(name, str) and isinstance(uuid, str) and name.startswith(prefix):
            out.append(Leftover(name, uuid))
    return out


def remove(
    client: ZStackClient,
    creatable: Creatable,
    uuid: str,
    *,
    job_timeout: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> tuple[bool, str]:
    """Delete one resource and wait for its job: (removed, what happened)."""
    delete = creatable.delete
    if not _ZSTACK_UUID.fullmatch(uuid):
        # It goes into the request path: anything but a ZStack uuid could steer the DELETE elsewhere.
        return False, f"not removed: {uuid[:80]!r} is not a ZStack uuid (32 hex digits)"
    path = _PATH_PARAMETER.sub(uuid, delete.spec.path, count=1)
    run = submit(client, "DELETE", path, job_timeout=job_timeout, clock=clock, sleep=sleep)
    final = run.final
    if final is not None and final.status == SUCCEEDED:
        # A Delete whose job says success is only believed once the Query agrees: "cleaned up" in a report must
        # mean nothing is left on the node, not that the node said so.
        unconfirmed = _not_gone(client, creatable, uuid)
        if unconfirmed:
            return False, f"{delete.name} answered HTTP 200 but {unconfirmed}"
        return True, f"removed ({delete.name} answered HTTP 200; {creatable.query.name} no longer lists it)"
    if final is not None and final.status == FAILED:
        code = error_code(final) or "no error code"
        return False, f"{delete.name} failed: HTTP 503 {code}: {excerpt(final.text, 200)}"
    if final is not None:
        return False, f"{delete.name} answered HTTP {final.status}: {excerpt(final.text, 200)}"
    return False, f"{delete.name} did not end: {run.gave_up}"


def _not_gone(client: ZStackClient, creatable: Creatable, uuid: str) -> str:
    """Why ``uuid`` cannot be called gone ("" when the Query API lists it no more)."""
    query = creatable.query
    exchange = client.send("GET", query.spec.path, query=[("q", f"uuid={uuid}")])
    items = succeeded_listing(exchange)
    if not isinstance(items, list):
        return f"{query.name} could not confirm it is gone: HTTP {exchange.status} {excerpt(exchange.text, 200)}"
    if any(isinstance(item, dict) and item.get("uuid") == uuid for item in items):
        return f"{query.name} still lists uuid {uuid}"
    return ""


def clean_up(
    target_client: ZStackClient,
    catalog: Iterable[ApiContract],
    ledger: Ledger,
    run_id: str,
    *,
    job_timeout: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> None:
    """Session end: remove every ledger entry not yet cleaned and every leftover named ``zstack-contract-<run id>-``,
    and mark each entry (cleaned True/False, with a note).

    Never raises on a server or transport failure (the entry says it); KeyboardInterrupt goes through. A client
    without writes sends nothing: a read-only run created nothing.
    """
    if not target_client.allow_writes:
        return
    prefix = run_prefix(run_id)
    kinds = {c.create.name: c for c in creatables(catalog)}
    listed: dict[str, list[Leftover]] = {}
    list_errors: dict[str, str] = {}
    for api, creatable in kinds.items():
        try:
            listed[api] = find_leftovers(target_client, creatable, prefix)
        except SERVER_FAILURES as exc:
            list_errors[api] = target_client.mask(f"{type(exc).__name__}: {exc}")
    for entry in ledger.entries():
        if entry.cleaned is not True:
            _clean_entry(target_client, kinds, listed, list_errors, ledger, entry, job_timeout, clock, sleep)
    handled = {entry.uuid for entry in ledger.entries()}
    for api, leftovers in listed.items():
        for leftover in leftovers:
            if leftover.uuid in handled:
                continue
            handled.add(leftover.uuid)
            entry = ledger.planned(api, leftover.name)
            ledger.created(entry, leftover.uuid)
            _remove_entry(target_client, kinds[api], ledger, entry, job_timeout, clock, sleep, "found by name; ")


def _clean_entry(
    client: ZStackClient,
    kinds: dict[str, Creatable],
    listed: dict[str, list[Leftover]],
    list_errors: dict[str, str],
    ledger: Ledger,
    entry: Created,
    job_timeout: float,
    clock: Clock,
    sleep: Sleep,
) -> None:
    creatable = kinds.get(entry.api)
    if creatable is None:
        ledger.mark(entry, False, f"not removed: the catalogue has no Query/Delete API for {entry.api}")
        return
    if entry.uuid is None:
        # The create was sent but its answer never named the resource (interrupted, failed): look it up by name.
        if entry.api in list_errors:
            ledger.mark(entry, False, f"not removed: could not look it up by name ({list_errors[entry.api]})")
            return
        found = [left for left in listed.get(entry.api, []) if left.name == entry.name]
        if not found:
            ledger.mark(
                entry,
                True,
                f"nothing to remove: {creatable.query.name} lists no resource of this name (a create interrupted "
                f"while its job ran may still finish: 'python -m zstack_contract cleanup --run-id <run id>' "
                "removes it then)",
            )
            return
        ledger.created(entry, found[0].uuid)
    _remove_entry(client, creatable, ledger, entry, job_timeout, clock, sleep, "")


def _remove_entry(
    client: ZStackClient,
    creatable: Creatable,
    ledger: Ledger,
    entry: Created,
    job_timeout: float,
    clock: Clock,
    sleep: Sleep,
    how: str,
) -> None:
    assert entry.uuid is not None
    try:
        ok, note = remove(client, creatable, entry.uuid, job_timeout=job_timeout, clock=clock, sleep=sleep)
    except SERVER_FAILURES as exc:
        ok, note = False, client.mask(f"not removed: {type(exc).__name__}: {exc}")
    ledger.mark(entry, ok, how + note)
