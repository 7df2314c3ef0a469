"""The database-backup family's six asynchronous APIs: parameter validation and their effect on the store.

Written by hand from the API pages and the protocol notes. Nothing here knows HTTP: async_api.py parses the
request into one of the dataclasses below, calls the API's function when the job is submitted, and keeps the
Outcome as the job's answer. The order of the checks follows ZStack: every field is Java-trimmed and validated in
declaration order (ApiMessageParamValidator, then PortApiValidator's resource lookup), then the session is checked
(``_run``: the caller passes the session's error, if any), then the backup service does the work.

Error codes. A missing or malformed field is SYS.1007 (argerr). A uuid field naming nothing is SYS.1003: that is
what ApiMessageProcessorImpl.apiParamValidation and PortApiValidator raise for ``@APIParam(resourceType=...)``
(zstackio/zstack portal/.../apimediator/), ``invalid field[f], resource[uuid:x, type:XVO] not found``.
A request the resources' state forbids (a disabled storage, a copy already exported) is SYS.1006 (operr), as the
service's interceptors answer. DeleteDatabaseBackup of an unknown backup succeeds, as ZStack's delete APIs do
(``successIfResourceNotExisting = true``), so deleting twice, or cleaning up after a crash, is not an error.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid as uuidlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from zstack_contract.mock import jvm
from zstack_contract.mock.data import MANAGEMENT_NODE_VERSION
from zstack_contract.mock.family import BACKUP_STORAGE, BS_HOSTS, DATABASE_BACKUP, Record, Store
from zstack_contract.mock.wire import VALIDATOR_CLASS, JsonObject, error_code, mandatory

NAME_MAX = 255
DESCRIPTION_MAX = 1024
# RecoverDatabaseFromBackup's answer: the port on the management node that streams the restore log (the page's
# example value).
LOG_LISTEN_PORT = 10086
IMAGE_STORE = "ImageStoreBackupStorage"
EXPORT_PORT = 8001

# StringDSL.isZStackUuid: what ZStack accepts as a resourceUuid, and what successIfResourceNotExisting demands of
# a uuid that names nothing.
_ZSTACK_UUID = re.compile(r"[0-9a-f]{8}[0-9a-f]{4}[1-5][0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}")
# SysErrors.RESOURCE_NOT_FOUND: what ApiMessageProcessorImpl.apiParamValidation and PortApiValidator raise for a
# uuid field naming nothing (not argerr's SYS.1007).
RESOURCE_NOT_FOUND = "SYS.1003"
_BACKUP_VO = "DatabaseBackupVO"
_STORAGE_VO = "BackupStorageVO"


@dataclass(frozen=True)
class Outcome:
    """A job's answer: an ErrorCode, or a success whose result is ``fields`` plus the rendered ``inventory``."""

    error: JsonObject | None = None
    inventory: Record | None = None
    fields: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class Quirks:
    """Defects of a deviating backup service; all off is the documented behaviour."""

    delete_leaves_backup: bool = False
    export_sets_no_url: bool = False
    four_byte_names_refused: bool = False


@dataclass(frozen=True)
class CreateRequest:
    name: str | None
    description: str | None
    backup_storage_uuid: str | None
    resource_uuid: str | None


@dataclass(frozen=True)
class DeleteRequest:
    uuid: str
    backup_storage_uuids: Sequence[str] | None


@dataclass(frozen=True)
class CopyRequest:
    """Export and DeleteExported: one backup's copy on one storage, both named in the path."""

    backup_uuid: str
    storage_uuid: str


@dataclass(frozen=True)
class SyncRequest:
    uuid: str
    src: str | None
    dst: str | None


@dataclass(frozen=True)
class RecoverRequest:
    uuid: str | None
    backup_storage_url: str | None
    backup_install_path: str | None
    mysql_root_password: str | None


class _InvalidError(Exception):
    """A validation failure: the job ends 503 with this ErrorCode."""

    def __init__(self, error: JsonObject) -> None:
        super().__init__(error["details"])
        self.error = error


def _trim(value: str | None) -> str | None:
    # APIMessage.validate trims every String field that is not @APIParam(noTrim = true) before validating it,
    # and the trimmed value is what the API then uses.
    return None if value is None else jvm.java_trim(value)


def _text_field(name: str, value: str | None, *, required: bool, max_length: int | None) -> str | None:
    if value is None:
        if required:
            raise _InvalidError(mandatory(name))
        return None
    if max_length is not None and jvm.java_length(value) > max_length:
        raise _InvalidError(
            error_code(
                "SYS.1007",
                f"field[{name}] of message[{VALIDATOR_CLASS}] exceeds max length of "
                f"string. expected was <= {max_length}, actual was {jvm.java_length(value)}",
            )
        )
    if not value:
        raise _InvalidError(error_code("SYS.1007", f"field[{name}] cannot be an empty string"))
    return value


def _not_found(field_name: str, uuid: str, vo: str) -> _InvalidError:
    details = f"invalid field[{field_name}], resource[uuid:{uuid}, type:{vo}] not found"
    return _InvalidError(error_code(RESOURCE_NOT_FOUND, details))


def _operr(details: str) -> _InvalidError:
    return _InvalidError(error_code("SYS.1006", details))


def _storage(store: Store, field_name: str, uuid: str | None) -> Record:
    if uuid is None:
        raise _InvalidError(mandatory(field_name))
    record = store.get(BACKUP_STORAGE, uuid)
    if record is None:
        raise _not_found(field_name, uuid, _STORAGE_VO)
    return record


def _enabled(storage: Record) -> None:
    if storage.get("state") != "Enabled":
        raise _operr(f"backup storage[uuid:{storage['uuid']}] is not Enabled, its state is {storage.get('state')}")


def _backup(store: Store, field_name: str, uuid: str) -> Record:
    record = store.get(DATABASE_BACKUP, uuid)
    if record is None:
        raise _not_found(field_name, uuid, _BACKUP_VO)
    return record


def _refs(backup: Record) -> list[Record]:
    refs = backup.get("backupStorageRefs")
    return [ref for ref in refs if isinstance(ref, dict)] if isinstance(refs, list) else []


def _ref_on(backup: Record, storage_uuid: str) -> Record | None:
    return next((ref for ref in _refs(backup) if ref.get("backupStorageUuid") == storage_uuid), None)


def _run(validate: Callable[[], Callable[[], Outcome]], session_error: JsonObject | None) -> Outcome:
    """Validation, then the session check, then the work: the order the API mediator runs them in.

    ``validate`` raises _InvalidError or returns the work to do.
    """
    try:
        work = validate()
    except _InvalidError as invalid:
        return Outcome(invalid.error)
    if session_error is not None:
        return Outcome(session_error)
    return work()


# CreateDatabaseBackup.


def create(
    store: Store,
    request: CreateRequest,
    *,
    session_error: JsonObject | None,
    now: datetime,
    quirks: Quirks = Quirks(),  # frozen: one shared default is safe
) -> Outcome:
    def validate() -> Callable[[], Outcome]:
        name = _text_field("name", _trim(request.name), required=True, max_length=NAME_MAX)
        description = _text_field(
            "description", _trim(request.description), required=False, max_length=DESCRIPTION_MAX
        )
        storage = _storage(store, "backupStorageUuid", _trim(request.backup_storage_uuid))
        resource_uuid = _trim(request.resource_uuid)
        if resource_uuid is not None:
            _check_resource_uuid(store, resource_uuid)
        _enabled(storage)
        backup_uuid = resource_uuid or uuidlib.uuid4().hex
        if quirks.four_byte_names_refused and any(ord(c) > 0xFFFF for c in str(name)):
            # MySQL's three-byte utf8 cannot store the character: the INSERT fails after validation passed.
            raise _InvalidError(
                error_code("SYS.1000", "Incorrect string value: '\\xF0\\x9D\\x84\\x9E' for column 'name' at row 1")
            )
        return lambda: _create(store, backup_uuid, str(name), description, str(storage["uuid"]), now)

    return _run(validate, session_error)


def _check_resource_uuid(store: Store, resource_uuid: str) -> None:
    if not _ZSTACK_UUID.fullmatch(resource_uuid):
        raise _InvalidError(
            error_code(
                "SYS.1007",
                f"resourceUuid[{resource_uuid}] is not a valid uuid. A valid uuid is a UUID(v4 recommended) with '-' "
                f"stripped. The regular expression ZStack uses to validate a UUID is {_ZSTACK_UUID.pattern}",
            )
        )
    if store.get(DATABASE_BACKUP, resource_uuid) is not None:
        raise _InvalidError(error_code("SYS.1007", f"resourceUuid[{resource_uuid}] has been occupied"))


def _create(
    store: Store, backup_uuid: str, name: str, description: str | None, storage_uuid: str, now: datetime
) -> Outcome:
    # A stable, plausible dump size per backup: 5 MiB to about 37 MiB.
    size = 5 * 1024 * 1024 + int.from_bytes(hashlib.sha256(backup_uuid.encode()).digest()[:4], "big") % (32 << 20)
    ref: Record = {
        "databaseBackupUuid": backup_uuid,
        "backupStorageUuid": storage_uuid,
        "installPath": f"zstore://zsbak/{uuidlib.uuid4().hex}",
        "exportUrl": None,
        "status": "Ready",
        "createDate": now,
        "lastOpDate": now,
    }
    record: Record = {
        "uuid": backup_uuid,
        "name": name,
        "description": description,
        "state": "Enabled",
        "status": "Ready",
        "size": size,
        "metadata": json.dumps({"version": MANAGEMENT_NODE_VERSION, "mysqlVersion": "10.3.28"}),
        "createDate": now,
        "lastOpDate": now,
        "backupStorageRefs": [ref],
    }
    store.put(DATABASE_BACKUP, record)
    return Outcome(inventory=record)


# DeleteDatabaseBackup.


def delete(
    store: Store, request: DeleteRequest, *, session_error: JsonObject | None, quirks: Quirks = Quirks()
) -> Outcome:
    if store.get(DATABASE_BACKUP, request.uuid) is None:
        # uuid is the first field validated. successIfResourceNotExisting publishes the success event at once,
        # before the session check, for anything shaped like a ZStack uuid.
        if not _ZSTACK_UUID.fullmatch(request.uuid):
            return Outcome(error_code(RESOURCE_NOT_FOUND, f"invalid value[{request.uuid}] of field [uuid]"))
        return Outcome()

    def validate() -> Callable[[], Outcome]:
        chosen = request.backup_storage_uuids
        if chosen is not None:
            if not chosen:
                raise _InvalidError(error_code("SYS.1007", "field[backupStorageUuids] must be a nonempty list"))
            unknown = [uuid for uuid in chosen if store.get(BACKUP_STORAGE, uuid) is None]
            if unknown:
                raise _InvalidError(
                    error_code(
                        "SYS.1003",
                        f"invalid field[backupStorageUuids], resource[uuids:[{', '.join(unknown)}], "
                        f"type:{_STORAGE_VO}] not found",
                    )
                )
        return lambda: _delete(store, request.uuid, chosen, quirks)

    return _run(validate, session_error)


def _delete(store: Store, backup_uuid: str, chosen: Sequence[str] | None, quirks: Quirks) -> Outcome:
    if quirks.delete_leaves_backup:
        return Outcome()
    if chosen is None:
        store.remove(DATABASE_BACKUP, backup_uuid)
        return Outcome()

    def drop_refs(record: Record) -> None:
        record["backupStorageRefs"] = [ref for ref in _refs(record) if ref.get("backupStorageUuid") not in chosen]

    left = store.modify(DATABASE_BACKUP, backup_uuid, drop_refs)
    # A backup with no copy left is gone, as deleting an image from its last backup storage deletes the image.
    if left is not None and not _refs(left):
        store.remove(DATABASE_BACKUP, backup_uuid)
    return Outcome()


# ExportDatabaseBackupFromBackupStorage and DeleteExportedDatabaseBackupFromBackupStorage.


def _copy(store: Store, request: CopyRequest) -> tuple[Record, Record]:
    backup = _backup(store, "databaseBackupUuid", request.backup_uuid)
    storage = _storage(store, "backupStorageUuid", request.storage_uuid)
    _enabled(storage)
    ref = _ref_on(backup, request.storage_uuid)
    if ref is None:
        raise _operr(
            f"database backup[uuid:{request.backup_uuid}] is not on backup storage[uuid:{request.storage_uuid}]"
        )
    return backup, ref


def export(
    store: Store, request: CopyRequest, *, session_error: JsonObject | None, now: datetime, quirks: Quirks = Quirks()
) -> Outcome:
    def validate() -> Callable[[], Outcome]:
        backup, ref = _copy(store, request)
        if ref.get("exportUrl") is not None:
            raise _operr(
                f"database backup[uuid:{request.backup_uuid}] has been exported from backup storage"
                f"[uuid:{request.storage_uuid}]"
            )
        host = BS_HOSTS.get(request.storage_uuid, "127.0.0.1")
        # The page's example names the file after the backup; the name may hold any character, so it is quoted.
        url = f"http://{host}:{EXPORT_PORT}/export/{quote(str(backup['name']), safe='')}.gz"
        return lambda: _set_export_url(store, request, url, now, quirks)

    return _run(validate, session_error)


def _set_export_url(store: Store, request: CopyRequest, url: str | None, now: datetime, quirks: Quirks) -> Outcome:
    def change(record: Record) -> None:
        for ref in _refs(record):
            if ref.get("backupStorageUuid") == request.storage_uuid:
                ref["exportUrl"] = url
                ref["lastOpDate"] = now

    if not (url is not None and quirks.export_sets_no_url):
        store.modify(DATABASE_BACKUP, request.backup_uuid, change)
    return Outcome(fields={"databaseBackupUrl": url} if url is not None else {})


def delete_exported(store: Store, request: CopyRequest, *, session_error: JsonObject | None, now: datetime) -> Outcome:
    def validate() -> Callable[[], Outcome]:
        _, ref = _copy(store, request)
        if ref.get("exportUrl") is None:
            raise _operr(
                f"database backup[uuid:{request.backup_uuid}] has not been exported from backup storage"
                f"[uuid:{request.storage_uuid}]"
            )
        return lambda: _set_export_url(store, request, None, now, Quirks())

    return _run(validate, session_error)


# SyncDatabaseBackupFromImageStoreBackupStorage.


def sync(store: Store, request: SyncRequest, *, session_error: JsonObject | None, now: datetime) -> Outcome:
    def validate() -> Callable[[], Outcome]:
        src_uuid, dst_uuid = _trim(request.src), _trim(request.dst)
        src = _storage(store, "srcBackupStorageUuid", src_uuid)
        dst = _storage(store, "dstBackupStorageUuid", dst_uuid)
        backup = _backup(store, "uuid", request.uuid)
        for storage in (src, dst):
            if storage.get("type") != IMAGE_STORE:
                raise _operr(
                    f"backup storage[uuid:{storage['uuid']}] is a {storage.get('type')}, database backups are synced "
                    f"only between {IMAGE_STORE}s"
                )
            _enabled(storage)
        source = _ref_on(backup, str(src["uuid"]))
        if source is None:
            raise _operr(f"database backup[uuid:{request.uuid}] is not on backup storage[uuid:{src['uuid']}]")
        if _ref_on(backup, str(dst["uuid"])) is not None:
            raise _operr(f"database backup[uuid:{request.uuid}] is already on backup storage[uuid:{dst['uuid']}]")
        return lambda: _add_copy(store, request.uuid, str(dst["uuid"]), str(source.get("installPath")), now)

    return _run(validate, session_error)


def _add_copy(store: Store, backup_uuid: str, storage_uuid: str, install_path: str, now: datetime) -> Outcome:
    def change(record: Record) -> None:
        # The copy keeps the source's install path, as the page's example shows.
        ref: Record = {
            "databaseBackupUuid": backup_uuid,
            "backupStorageUuid": storage_uuid,
            "installPath": install_path,
            "exportUrl": None,
            "status": "Ready",
            "createDate": now,
            "lastOpDate": now,
        }
        record["backupStorageRefs"] = [*_refs(record), ref]
        record["lastOpDate"] = now

    updated = store.modify(DATABASE_BACKUP, backup_uuid, change)
    if updated is None:
        # Deleted between validation and the work: the service fails the job as it would on a vanished row.
        return Outcome(error_code(RESOURCE_NOT_FOUND, f"database backup[uuid:{backup_uuid}] has been deleted"))
    return Outcome(inventory=updated)


# RecoverDatabaseFromBackup: validated and answered, never acted on (the mock has no database to restore).


def recover(store: Store, request: RecoverRequest, *, session_error: JsonObject | None) -> Outcome:
    def validate() -> Callable[[], Outcome]:
        backup_uuid = _trim(request.uuid)
        url = _text_field("backupStorageUrl", _trim(request.backup_storage_url), required=False, max_length=None)
        path = _text_field("backupInstallPath", _trim(request.backup_install_path), required=False, max_length=None)
        _text_field("mysqlRootPassword", request.mysql_root_password, required=True, max_length=None)
        if backup_uuid is not None:
            backup = _backup(store, "uuid", backup_uuid)
            if backup.get("state") != "Enabled" or backup.get("status") != "Ready":
                raise _operr(
                    f"database backup[uuid:{backup_uuid}] is not Enabled and Ready, it is {backup.get('state')} "
                    f"and {backup.get('status')}"
                )
        elif url is None or path is None:
            raise _InvalidError(
                error_code("SYS.1007", "backupStorageUrl and backupInstallPath must be set when uuid is not set")
            )
        return lambda: Outcome(fields={"logListenPort": LOG_LISTEN_PORT})

    return _run(validate, session_error)
