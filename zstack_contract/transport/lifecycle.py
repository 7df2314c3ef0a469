"""The write lifecycle (``--zstack-allow-writes``): one database backup taken through the family's state changes, in
order, once per process, every answer kept for the tests to judge.

Order: discover a backup storage → Create → Query → Export → Query → DeleteExported → Query → Sync (when two image
stores exist) → Query → Recover (embedded mock only) → Delete → Query. Each async step is a
:class:`~zstack_contract.transport.jobs.JobRun` (the 202, every poll, the final answer); each Query an exchange.
The tests (``tests/contract/test_async.py``, ``test_lifecycle.py``) judge the stored steps in any order, so a
shuffled run judges the same thing.

Which API plays which step is a fact of this family (the table below, by name); how each request is filled is not:
path parameters and body fields are filled **by field name** from one context (``uuid`` and
``databaseBackupUuid`` = the backup, ``backupStorageUuid`` and ``srcBackupStorageUuid`` = the storage,
``dstBackupStorageUuid`` = the second image store, ...), so a page imported tomorrow with the same field names is
filled the same way, and a required field the context lacks is said, never guessed.

Everything created is named ``zstack-contract-<run id>-<label>`` and entered in the target's ledger BEFORE its
Create is sent, so the session-end cleanup can remove it whatever happens after.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zstack_contract.generation.calls import Call, build_call
from zstack_contract.generation.safety import never_live_refusal
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport import answers, jobs
from zstack_contract.transport.answers import listed_items, succeeded_listing
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.jobs import JobRun
from zstack_contract.transport.ledger import Created, resource_name
from zstack_contract.transport.target import Target

# The family's APIs by the step they play (everything else about them comes from their specs).
STEP_APIS: dict[str, str] = {
    "create": "CreateDatabaseBackup",
    "export": "ExportDatabaseBackupFromBackupStorage",
    "delete-exported": "DeleteExportedDatabaseBackupFromBackupStorage",
    "sync": "SyncDatabaseBackupFromImageStoreBackupStorage",
    "recover": "RecoverDatabaseFromBackup",
    "delete": "DeleteDatabaseBackup",
}
LIFECYCLE_APIS = frozenset(STEP_APIS.values())
QUERY_API = "QueryDatabaseBackup"
STORAGE_QUERY_API = "QueryBackupStorage"
IMAGE_STORE = "ImageStoreBackupStorage"
# The order the steps run in; "query-after-<step>" lists the backup after that step.
ORDER = (
    "create",
    "query-after-create",
    "export",
    "query-after-export",
    "delete-exported",
    "query-after-delete-exported",
    "sync",
    "query-after-sync",
    "recover",
    "delete",
    "query-after-delete",
)
# Fields the user may choose with --zstack-param (the rest of the context is the lifecycle's own).
USER_FIELDS = ("backupStorageUuid", "dstBackupStorageUuid")
# Only ever sent to the embedded mock (the client refuses Recover for any other node, whatever this says).
MOCK_ROOT_PASSWORD = "zstack-contract-embedded-mock-only"
STORAGE_HINT = "pass --zstack-param backupStorageUuid=UUID"
MOCK_ONLY_REASON = "restores the management node's database: runs only against the embedded mock"


@dataclass(frozen=True)
class Storage:
    """A backup storage as QueryBackupStorage lists it (only what the lifecycle needs)."""

    uuid: str
    type: str | None = None
    url: str | None = None
    usable: bool = True  # Enabled and Connected (unknown for one given by the user: assumed)


@dataclass
class WriteContext:
    """Where the run's writes go: the backup storage (and a second image store, for Sync), or why there is none."""

    storage: Storage | None
    second: Storage | None = None
    problem: str = ""  # why there is no storage (the lifecycle and the write-body tests skip saying it)
    sync_problem: str = ""  # why Sync cannot run
    listing: Exchange | None = None


def storages_from(exchange: Exchange) -> list[Storage]:
    """The inventories of a QueryBackupStorage answer; an answer without them lists none."""
    out = []
    for item in succeeded_listing(exchange) or []:
        if isinstance(item, dict) and isinstance(item.get("uuid"), str):
            out.append(
                Storage(
                    uuid=item["uuid"],
                    type=item.get("type") if isinstance(item.get("type"), str) else None,
                    url=item.get("url") if isinstance(item.get("url"), str) else None,
                    usable=item.get("state") == "Enabled" and item.get("status") == "Connected",
                )
            )
    return out


def choose_storages(
    listed: Sequence[Storage] | None, params: Mapping[str, str], *, unlisted: str = "none listed"
) -> WriteContext:
    """The storage the lifecycle writes to and, for Sync, a second image store.

    ``listed``: QueryBackupStorage's inventories (None: no listing, ``unlisted`` says why). The user's
    ``backupStorageUuid`` wins; else an Enabled and Connected one, image stores first (Sync and Export need one),
    then by uuid (the same choice every run).
    """
    known = {s.uuid: s for s in listed or ()}
    given = params.get("backupStorageUuid")
    if given:
        storage: Storage | None = known.get(given, Storage(given))
        problem = ""
    else:
        usable = sorted((s for s in listed or () if s.usable), key=lambda s: (s.type != IMAGE_STORE, s.uuid))
        storage = usable[0] if usable else None
        if listed is None:
            problem = f"no backup storage to write to ({unlisted}): {STORAGE_HINT}"
        else:
            problem = (
                ""
                if storage is not None
                else f"QueryBackupStorage lists no Enabled and Connected backup storage ({len(listed)} listed): "
                f"{STORAGE_HINT}"
            )
    context = WriteContext(storage, problem=problem)
    if storage is None:
        context.sync_problem = problem
        return context
    dst = params.get("dstBackupStorageUuid")
    others = sorted(
        (s for s in listed or () if s.usable and s.type == IMAGE_STORE and s.uuid != storage.uuid), key=lambda s: s.uuid
    )
    if dst:
        context.second = known.get(dst, Storage(dst, IMAGE_STORE))
    elif others:
        context.second = others[0]
    if storage.type not in (IMAGE_STORE, None) or (storage.type is None and not dst):
        context.sync_problem = (
            f"Sync needs the backup on an image store ({IMAGE_STORE}); backup storage {storage.uuid} is "
            f"{storage.type or 'of unknown type'}"
        )
    elif context.second is None:
        image_stores = sum(1 for s in listed or () if s.usable and s.type == IMAGE_STORE)
        context.sync_problem = (
            f"Sync needs two image stores (Enabled, Connected {IMAGE_STORE}); {image_stores} found: pass "
            "--zstack-param dstBackupStorageUuid=UUID to name a second one"
        )
    return context


def discover(target: Target, catalog: Sequence[ApiContract]) -> WriteContext:
    """Find the storages from ``--zstack-param`` and QueryBackupStorage (whose answer is kept)."""
    params = {k: v for k, v in target.settings.positive_params.items() if k in USER_FIELDS}
    query = _api(catalog, STORAGE_QUERY_API)
    if query is None:
        return choose_storages(None, params, unlisted=f"the catalogue has no {STORAGE_QUERY_API} to find one")
    exchange = target.client.send("GET", query.spec.path)
    if exchange.status == 200:
        context = choose_storages(storages_from(exchange), params)
    else:
        context = choose_storages(None, params, unlisted=f"{STORAGE_QUERY_API} answered HTTP {exchange.status}")
    context.listing = exchange
    return context


@dataclass
class Step:
    """One step's evidence: a JobRun (async API) or an exchange (Query), or why it did not run."""

    name: str
    api: ApiContract | None
    run: JobRun | None = None
    exchange: Exchange | None = None
    skipped: str = ""

    @property
    def final(self) -> Exchange | None:
        return self.run.final if self.run is not None else self.exchange

    @property
    def succeeded(self) -> bool:
        final = self.final
        return final is not None and final.status == 200


@dataclass
class Lifecycle:
    """Every step of one lifecycle run, by name (see :data:`ORDER`)."""

    context: WriteContext
    name: str
    backup_uuid: str | None = None
    steps: dict[str, Step] = field(default_factory=dict)
    entry: Created | None = None

    def step(self, name: str) -> Step:
        return self.steps.get(name) or Step(name, None, skipped=f"the lifecycle did not reach step {name}")

    def step_for(self, api_name: str) -> Step | None:
        """The step that sends ``api_name`` (None: the lifecycle has none)."""
        for role, name in STEP_APIS.items():
            if name == api_name:
                return self.step(role)
        return None


def _api(catalog: Sequence[ApiContract], name: str) -> ApiContract | None:
    return next((api for api in catalog if api.name == name), None)


def item_for(exchange: Exchange | None, backup_uuid: str) -> dict[str, Any] | None:
    """The Query answer's item for the backup, or None."""
    if exchange is None:
        return None
    for item in listed_items(exchange) or []:
        if isinstance(item, dict) and item.get("uuid") == backup_uuid:
            return item
    return None


def result_inventory(step: Step) -> dict[str, Any] | None:
    """A successful job's ``inventory`` object."""
    return answers.result_inventory(step.final)


def created_uuid(run: JobRun) -> str | None:
    """The uuid of what a Create job made: its 200's ``inventory.uuid`` (None: nothing known to be created)."""
    inventory = answers.result_inventory(run.final)
    value = inventory.get("uuid") if inventory is not None else None
    return value if isinstance(value, str) and value else None


def storage_ref(item: Mapping[str, Any] | None, storage_uuid: str) -> dict[str, Any] | None:
    """The backup's ref on one backup storage (``backupStorageRefs[]``), or None."""
    refs = item.get("backupStorageRefs") if item is not None else None
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and ref.get("backupStorageUuid") == storage_uuid:
            return ref
    return None


class Runner:
    """Runs the steps in order on one target; a step that cannot run records why, and the run goes on where it
    can (everything after Create needs the backup's uuid)."""

    def __init__(
        self, target: Target, catalog: Sequence[ApiContract], context: WriteContext, *, label: str
    ) -> None:
        self.target = target
        self.catalog = catalog
        self.settings = target.settings
        self.life = Lifecycle(context, resource_name(target.run_id, label))
        self.values: dict[str, str] = {}

    def run(self) -> Lifecycle:
        context = self.life.context
        if context.storage is None:
            for name in ORDER:
                self.life.steps[name] = Step(name, None, skipped=context.problem)
            return self.life
        self.values = {
            "name": self.life.name,
            "description": f"created by the zstack-contract run {self.target.run_id}; removed at the end of the run",
            "backupStorageUuid": context.storage.uuid,
            "srcBackupStorageUuid": context.storage.uuid,
        }
        if context.second is not None:
            self.values["dstBackupStorageUuid"] = context.second.uuid
        if context.storage.url:
            self.values["backupStorageUrl"] = context.storage.url
        if self.target.mock is not None:
            self.values["mysqlRootPassword"] = MOCK_ROOT_PASSWORD
        self._create()
        self._query("query-after-create")
        ref = storage_ref(item_for(self.life.step("query-after-create").exchange, self.life.backup_uuid or ""),
                          context.storage.uuid)
        if ref is not None and isinstance(ref.get("installPath"), str):
            self.values["backupInstallPath"] = ref["installPath"]
        self._job("export")
        self._query("query-after-export")
        self._job("delete-exported")
        self._query("query-after-delete-exported")
        self._job("sync", unless=context.sync_problem)
        self._query("query-after-sync", unless=self.life.step("sync").skipped)
        self._job("recover")
        self._job("delete")
        self._query("query-after-delete")
        self._settle_ledger()
        return self.life

    def _create(self) -> None:
        api = _api(self.catalog, STEP_APIS["create"])
        if api is None:
            self._skip("create", None, f"the catalogue has no {STEP_APIS['create']}")
            return
        call = build_call(api, self.values)
        if isinstance(call, str):
            self._skip("create", api, call)
            return
        # In the ledger before the request: whatever happens next, the cleanup knows the name.
        self.life.entry = self.target.ledger.planned(api.name, self.life.name)
        run = self._submit(call)
        self.life.steps["create"] = Step("create", api, run=run)
        backup = created_uuid(run)
        if backup is not None:
            self.life.backup_uuid = backup
            self.target.ledger.created(self.life.entry, backup)
            self.values["uuid"] = self.values["databaseBackupUuid"] = backup

    def _job(self, name: str, *, unless: str = "") -> None:
        api = _api(self.catalog, STEP_APIS[name])
        if api is None:
            self._skip(name, None, f"the catalogue has no {STEP_APIS[name]}")
            return
        if unless:
            self._skip(name, api, unless)
            return
        if self.life.backup_uuid is None:
            self._skip(name, api, self._no_backup())
            return
        call = build_call(api, self.values)
        if isinstance(call, str):
            self._skip(name, api, call)
            return
        body = json.dumps(call.body) if call.body is not None else None
        if self.target.mock is None and never_live_refusal(call.method, call.path, body) is not None:
            # The client would refuse it anyway; the step says why it was not sent.
            self._skip(name, api, MOCK_ONLY_REASON)
            return
        self.life.steps[name] = Step(name, api, run=self._submit(call))

    def _query(self, name: str, *, unless: str = "") -> None:
        api = _api(self.catalog, QUERY_API)
        if api is None:
            self._skip(name, None, f"the catalogue has no {QUERY_API} to list the backup with")
            return
        if unless:
            self._skip(name, api, unless)
            return
        if self.life.backup_uuid is None:
            self._skip(name, api, self._no_backup())
            return
        exchange = self.target.client.send("GET", api.spec.path, query=[("q", f"uuid={self.life.backup_uuid}")])
        self.life.steps[name] = Step(name, api, exchange=exchange)

    def _submit(self, call: Call) -> JobRun:
        return jobs.submit(
            self.target.client,
            call.method,
            call.path,
            json_body=call.body,
            query=call.query,
            job_timeout=self.settings.job_timeout,
        )

    def _skip(self, name: str, api: ApiContract | None, reason: str) -> None:
        self.life.steps[name] = Step(name, api, skipped=reason)

    def _no_backup(self) -> str:
        create = self.life.step("create")
        if create.skipped:
            return f"no backup to work on: Create did not run ({create.skipped})"
        final = create.final
        answer = f"HTTP {final.status}" if final is not None else (create.run.gave_up if create.run else "no answer")
        return (
            f"no backup to work on: CreateDatabaseBackup's job gave no inventory uuid ({answer}; see "
            "test_async_contract[CreateDatabaseBackup])"
        )

    def _settle_ledger(self) -> None:
        """The backup is gone when Delete's job succeeded and Query no longer lists it: the cleanup leaves it."""
        entry, backup = self.life.entry, self.life.backup_uuid
        if entry is None or backup is None:
            return
        listed = self.life.step("query-after-delete")
        if self.life.step("delete").succeeded and listed.succeeded and item_for(listed.exchange, backup) is None:
            self.target.ledger.mark(entry, True, "deleted by the lifecycle (DeleteDatabaseBackup)")


def run_lifecycle(target: Target, catalog: Sequence[ApiContract], context: WriteContext, *, label: str) -> Lifecycle:
    return Runner(target, catalog, context, label=label).run()
