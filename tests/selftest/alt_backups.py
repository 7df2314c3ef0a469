"""The alt server's database backups as state the write APIs change, from the published API pages.

Create adds a backup with one reference to its backup storage; Export sets that reference's
``exportUrl`` and DeleteExported clears it; Sync adds a reference on the destination; Delete
removes references (all of them when none are named), and the backup with its last one.
Recover changes nothing: it only names the port that would stream the restore log.

Failures carry ZStack's error codes: ``SYS.1003`` for a uuid that names no resource (as
ApiMessageProcessorImpl raises RESOURCE_NOT_FOUND for an @APIParam resourceType field), ``SYS.1007``
(argerr) for other invalid arguments, ``SYS.1006`` (operr) for a state the operation cannot start
from. Rows are plain dicts of the alt_inventory shape, dates as datetimes in the node's zone.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from tests.selftest.alt_query import Record

__all__ = ["LOG_LISTEN_PORT", "BackupFailedError", "BackupStore"]

# The port the management node would stream a restore log on; the docs' example shows 10086.
LOG_LISTEN_PORT: Final = 10987
_EXPORT_HOST: Final = "172.20.0.11:8001"
_CREATED_SIZE: Final = 50331648
_UUID: Final = re.compile(r"[0-9a-f]{32}")
_IMAGE_STORE: Final = "ImageStoreBackupStorage"


class BackupFailedError(Exception):
    """The operation failed behind the REST layer: the job ends 503 with this error code."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _argerr(details: str) -> BackupFailedError:
    return BackupFailedError("SYS.1007", details)


def _not_found(field: str, uuid: str, vo: str) -> BackupFailedError:
    return BackupFailedError("SYS.1003", f"invalid field[{field}], resource[uuid:{uuid}, type:{vo}] not found")


def _operr(details: str) -> BackupFailedError:
    return BackupFailedError("SYS.1006", details)


class BackupStore:
    """Thread-safe: every operation holds the lock from its checks to its change."""

    def __init__(
        self,
        storage: Sequence[Record],
        seed: Sequence[Record],
        *,
        clock: Callable[[], datetime],
        version: str,
        describe_missing: bool,
    ) -> None:
        self._storage = {str(row["uuid"]): row for row in storage}
        self._backups: dict[str, dict[str, object]] = {str(row["uuid"]): copy.deepcopy(dict(row)) for row in seed}
        self._clock = clock
        self._version = version
        # A dense server fills a description never given with "", so the field the pages show is present.
        self._describe_missing = describe_missing
        self._lock = threading.Lock()

    def rows(self) -> list[Record]:
        with self._lock:
            return copy.deepcopy(list(self._backups.values()))

    def get(self, backup_uuid: str) -> Record | None:
        with self._lock:
            row = self._backups.get(backup_uuid)
            return None if row is None else copy.deepcopy(row)

    def names(self) -> list[str]:
        with self._lock:
            return [str(row["name"]) for row in self._backups.values()]

    # -- the write APIs ------------------------------------------------------------------------

    def create(self, name: str, description: str | None, storage_uuid: str, resource_uuid: str | None) -> Record:
        with self._lock:
            storage = self._usable_storage(storage_uuid, "backupStorageUuid")
            if resource_uuid is not None:
                if not _UUID.fullmatch(resource_uuid):
                    raise _argerr(f"invalid field[resourceUuid], [{resource_uuid}] is not a valid uuid")
                if resource_uuid in self._backups:
                    raise _argerr(f"resource[uuid:{resource_uuid}] already exists")
            backup_uuid = resource_uuid or uuid.uuid4().hex
            now = self._now()
            if description is None and self._describe_missing:
                description = ""
            row: dict[str, object] = {
                "uuid": backup_uuid,
                "name": name,
                "description": description,
                "state": "Enabled",
                "status": "Ready",
                "size": _CREATED_SIZE,
                "metadata": f'{{"zstackVersion":"{self._version}"}}',
                "createDate": now,
                "lastOpDate": now,
                "backupStorageRefs": [self._new_ref(backup_uuid, storage, now)],
            }
            self._backups[backup_uuid] = row
            return copy.deepcopy(row)

    def export(self, backup_uuid: str, storage_uuid: str) -> str:
        with self._lock:
            backup = self._existing(backup_uuid, "databaseBackupUuid")
            self._usable_storage(storage_uuid, "backupStorageUuid")
            ref = self._ref(backup, storage_uuid)
            if ref.get("exportUrl") is not None:
                raise _operr(f"database backup[uuid:{backup_uuid}] is already exported from [{storage_uuid}]")
            url = f"http://{_EXPORT_HOST}/export/{backup_uuid}.gz"
            ref["exportUrl"] = url
            ref["lastOpDate"] = backup["lastOpDate"] = self._now()
            return url

    def delete_export(self, backup_uuid: str, storage_uuid: str) -> None:
        with self._lock:
            backup = self._existing(backup_uuid, "databaseBackupUuid")
            self._usable_storage(storage_uuid, "backupStorageUuid")
            ref = self._ref(backup, storage_uuid)
            if ref.pop("exportUrl", None) is None:
                raise _operr(f"database backup[uuid:{backup_uuid}] has not been exported from [{storage_uuid}]")
            ref["lastOpDate"] = backup["lastOpDate"] = self._now()

    def sync(self, backup_uuid: str, source_uuid: str, destination_uuid: str) -> Record:
        with self._lock:
            backup = self._existing(backup_uuid, "uuid")
            source = self._usable_storage(source_uuid, "srcBackupStorageUuid")
            destination = self._usable_storage(destination_uuid, "dstBackupStorageUuid")
            if source["type"] != _IMAGE_STORE:
                raise _operr(f"backup storage[uuid:{source_uuid}] is not an image store")
            self._ref(backup, source_uuid)
            refs = self._refs(backup)
            if any(ref["backupStorageUuid"] == destination_uuid for ref in refs):
                raise _operr(f"database backup[uuid:{backup_uuid}] is already on backup storage[{destination_uuid}]")
            now = self._now()
            refs.append(self._new_ref(backup_uuid, destination, now))
            backup["lastOpDate"] = now
            return copy.deepcopy(backup)

    def delete(self, backup_uuid: str, storage_uuids: Sequence[str]) -> None:
        with self._lock:
            backup = self._backups.get(backup_uuid)
            if backup is None:
                return  # a Delete API succeeds when its resource is already gone
            refs = self._refs(backup)
            if storage_uuids:
                refs[:] = [ref for ref in refs if ref["backupStorageUuid"] not in set(storage_uuids)]
            if not storage_uuids or not refs:
                del self._backups[backup_uuid]

    def check_recoverable(self, backup_uuid: str | None, storage_url: str | None, install_path: str | None) -> int:
        """The port of the restore log; the alt server restores nothing, so nothing changes."""
        with self._lock:
            if backup_uuid is not None:
                backup = self._existing(backup_uuid, "uuid")
                if (backup["state"], backup["status"]) != ("Enabled", "Ready"):
                    raise _operr(f"database backup[uuid:{backup_uuid}] is not Enabled and Ready")
            elif not storage_url or not install_path:
                raise _argerr("backupStorageUrl and backupInstallPath are both needed when uuid is not given")
            return LOG_LISTEN_PORT

    # -- helpers (lock held) --------------------------------------------------------------------

    def _now(self) -> datetime:
        # Gson renders whole seconds, so a stored fraction could only make two renderings disagree.
        return self._clock().replace(microsecond=0)

    def _existing(self, backup_uuid: str, field: str) -> dict[str, object]:
        backup = self._backups.get(backup_uuid)
        if backup is None:
            raise _not_found(field, backup_uuid, "DatabaseBackupVO")
        return backup

    def _usable_storage(self, storage_uuid: str, field: str) -> Record:
        storage = self._storage.get(storage_uuid)
        if storage is None:
            raise _not_found(field, storage_uuid, "BackupStorageVO")
        if (storage["state"], storage["status"]) != ("Enabled", "Connected"):
            raise _operr(f"backup storage[uuid:{storage_uuid}] is not Enabled and Connected")
        return storage

    @staticmethod
    def _refs(backup: dict[str, object]) -> list[dict[str, object]]:
        refs = backup["backupStorageRefs"]
        assert isinstance(refs, list)
        return refs

    def _ref(self, backup: dict[str, object], storage_uuid: str) -> dict[str, object]:
        for ref in self._refs(backup):
            if ref["backupStorageUuid"] == storage_uuid:
                return ref
        raise _operr(f"database backup[uuid:{backup['uuid']}] has no copy on backup storage[{storage_uuid}]")

    @staticmethod
    def _new_ref(backup_uuid: str, storage: Record, now: datetime) -> dict[str, object]:
        path = (
            f"zstore://zstack/databasebackup/{backup_uuid}"
            if storage["type"] == _IMAGE_STORE
            else f"{storage['url']}/databasebackup/{backup_uuid}"
        )
        return {
            "databaseBackupUuid": backup_uuid,
            "backupStorageUuid": str(storage["uuid"]),
            "installPath": path,
            "status": "Ready",
            "createDate": now,
            "lastOpDate": now,
        }
