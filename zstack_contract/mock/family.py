"""The resources the Query APIs list: zones, backup storages and database backups, written by hand from the pages.

Each kind names its fields in the inventory class's declaration order, which is the order Gson writes them in.
Records hold Python values (str, int, naive datetime, lists); None means the field is null, and Gson leaves it
out of the JSON. The store is mutable and keyed by uuid, so write APIs (issue 9) can add and remove resources.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FieldType = Literal["string", "long", "timestamp", "strings", "refs"]
Record = dict[str, object]


@dataclass(frozen=True)
class Kind:
    """One inventory class: its fields and their types, and the kind of its nested items (``refs`` fields)."""

    name: str
    inventory_class: str
    fields: Mapping[str, FieldType]
    nested: Mapping[str, Kind] = field(default_factory=dict)

    def is_primitive(self, name: str) -> bool:
        """A column of the entity: what ``fields=``, ``sort`` and ``groupBy`` accept."""
        return self.fields.get(name) in {"string", "long", "timestamp"}


ZONE = Kind(
    "zones",
    "org.zstack.header.zone.ZoneInventory",
    {
        "uuid": "string",
        "name": "string",
        "description": "string",
        "state": "string",
        "type": "string",
        "createDate": "timestamp",
        "lastOpDate": "timestamp",
    },
)

BACKUP_STORAGE = Kind(
    "backup-storage",
    "org.zstack.header.storage.backup.BackupStorageInventory",
    {
        "uuid": "string",
        "name": "string",
        "url": "string",
        "description": "string",
        "totalCapacity": "long",
        "availableCapacity": "long",
        "type": "string",
        "state": "string",
        "status": "string",
        "createDate": "timestamp",
        "lastOpDate": "timestamp",
        "attachedZoneUuids": "strings",
    },
)

# DatabaseBackup is premium code; the package names are inferred (protocol notes §5).
DATABASE_BACKUP_REF = Kind(
    "database-backup-refs",
    "org.zstack.header.storage.backup.DatabaseBackupBackupStorageRefInventory",
    {
        "databaseBackupUuid": "string",
        "backupStorageUuid": "string",
        "installPath": "string",
        "exportUrl": "string",
        "status": "string",
        "createDate": "timestamp",
        "lastOpDate": "timestamp",
    },
)

DATABASE_BACKUP = Kind(
    "database-backups",
    "org.zstack.header.storage.backup.DatabaseBackupInventory",
    {
        "uuid": "string",
        "name": "string",
        "description": "string",
        "state": "string",
        "status": "string",
        "size": "long",
        "metadata": "string",
        "createDate": "timestamp",
        "lastOpDate": "timestamp",
        "backupStorageRefs": "refs",
    },
    nested={"backupStorageRefs": DATABASE_BACKUP_REF},
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in (ZONE, BACKUP_STORAGE, DATABASE_BACKUP)}

GIB = 1024**3
TIB = 1024**4

# Zones. The first is the pages' example zone; one has no description (never set).
ZONE_TEST = "f3e0d9e2d15746feb96c82c5e203326c"
ZONE_EAST = "0b9a7d4e2f1c4a6b8d3e5f7a9c1b2d4e"
ZONE_LAB = "7c2e4a6b8d0f4e1a9b3c5d7e9f1a3b5c"

# Backup storages: two image stores and a Ceph one, one of them attached to no zone.
BS_IMAGE_STORE = "6374c0f8b1fd4ff6a396e29614ff81a7"
BS_IMAGE_STORE_DR = "a1b2c3d4e5f64718293a4b5c6d7e8f90"
BS_CEPH = "5e4d3c2b1a0948f7e6d5c4b3a2918070"
# Each storage's management address. BackupStorageInventory does not carry it (only the image store's own
# inventory does), but an export URL names it; the seeded exports below use the same hosts.
BS_HOSTS: dict[str, str] = {BS_IMAGE_STORE: "172.20.0.10", BS_IMAGE_STORE_DR: "172.20.1.20", BS_CEPH: "172.20.2.30"}


def _zone(uuid: str, name: str, description: str | None, state: str, created: datetime, changed: datetime) -> Record:
    return {
        "uuid": uuid,
        "name": name,
        "description": description,
        "state": state,
        "type": "zstack",
        "createDate": created,
        "lastOpDate": changed,
    }


def _backup_storage(
    uuid: str,
    name: str,
    url: str,
    description: str | None,
    capacity: tuple[int, int],
    kind: str,
    state_status: tuple[str, str],
    created: datetime,
    zones: list[str],
) -> Record:
    return {
        "uuid": uuid,
        "name": name,
        "url": url,
        "description": description,
        "totalCapacity": capacity[0],
        "availableCapacity": capacity[1],
        "type": kind,
        "state": state_status[0],
        "status": state_status[1],
        "createDate": created,
        "lastOpDate": created,
        "attachedZoneUuids": zones,
    }


def _ref(backup: str, storage: str, path: str, export_url: str | None, status: str, created: datetime) -> Record:
    return {
        "databaseBackupUuid": backup,
        "backupStorageUuid": storage,
        "installPath": path,
        "exportUrl": export_url,
        "status": status,
        "createDate": created,
        "lastOpDate": created,
    }


@dataclass(frozen=True)
class _Backup:
    uuid: str
    name: str
    description: str | None
    status: str
    size: int
    metadata: str | None
    created: datetime
    copies: tuple[tuple[str, str | None], ...]  # (backup storage uuid, export url)


_BACKUPS = (
    # The page's example backup.
    _Backup(
        "742a7c7d4a4f3a01b206632a40ac414f",
        "db-backup",
        "db-backup",
        "Ready",
        13107,
        '{"mysqlVersion": "5.5.68"}',
        datetime(2017, 11, 14, 22, 20, 57),
        ((BS_IMAGE_STORE, None),),
    ),
    _Backup(
        "1f2e3d4c5b6a47988796a5b4c3d2e1f0",
        "nightly-2024-03-01",
        "nightly backup before the 4.8 upgrade",
        "Ready",
        734003200,
        '{"mysqlVersion": "10.3.28"}',
        datetime(2024, 3, 1, 2, 0, 4),
        (
            (BS_IMAGE_STORE, "http://172.20.0.10:8001/export/nightly-2024-03-01.gz"),
            (BS_IMAGE_STORE_DR, None),
        ),
    ),
    _Backup(
        "2a3b4c5d6e7f48091a2b3c4d5e6f7081",
        "nightly-2024-03-02",
        None,
        "Ready",
        736100352,
        '{"mysqlVersion": "10.3.28"}',
        datetime(2024, 3, 2, 2, 0, 3),
        ((BS_IMAGE_STORE, None),),
    ),
    _Backup(
        "3b4c5d6e7f8049102b3c4d5e6f708192",
        "weekly-2024-w09",
        "weekly full backup",
        "Ready",
        3 * GIB + 52428800,
        '{"mysqlVersion": "10.3.28", "compressed": true}',
        datetime(2024, 3, 3, 23, 30, 0),
        ((BS_IMAGE_STORE_DR, "http://172.20.1.20:8001/export/weekly-2024-w09.gz"),),
    ),
    _Backup(
        "4c5d6e7f8091421a3c4d5e6f70819203",
        "before-upgrade",
        None,
        "Ready",
        52428800,
        '{"mysqlVersion": "10.3.28"}',
        datetime(2023, 12, 24, 9, 15, 42),
        ((BS_IMAGE_STORE, None),),
    ),
    _Backup(
        "5d6e7f809102432b4d5e6f7081920314",
        "manual_backup_%1",
        "taken by hand; the name has SQL wildcard characters",
        "Ready",
        104857600,
        '{"mysqlVersion": "10.3.28"}',
        datetime(2024, 1, 15, 13, 5, 9),
        ((BS_IMAGE_STORE_DR, None),),
    ),
    _Backup(
        "6e7f8091a2b3443c5e6f708192a3b4c5",
        "nightly-2024-03-03",
        None,
        "Creating",
        0,
        '{"mysqlVersion": "10.3.28"}',
        datetime(2024, 3, 3, 2, 0, 1),
        (),
    ),
)


def _database_backup(backup: _Backup) -> Record:
    refs = [
        _ref(backup.uuid, storage, f"/zstack_bs/databasebackups/{backup.name}.gz", export_url, "Ready", backup.created)
        for storage, export_url in backup.copies
    ]
    return {
        "uuid": backup.uuid,
        "name": backup.name,
        "description": backup.description,
        "state": "Enabled",
        "status": backup.status,
        "size": backup.size,
        "metadata": backup.metadata,
        "createDate": backup.created,
        "lastOpDate": backup.created,
        "backupStorageRefs": refs,
    }


def seed() -> dict[str, list[Record]]:
    """The seeded records of each kind, in insertion order (the order an unsorted listing gives)."""
    example = datetime(2017, 11, 14, 22, 20, 57)
    zones = [
        _zone(ZONE_TEST, "TestZone", "Test", "Enabled", example, example),
        _zone(ZONE_EAST, "zone-east", "production zone, rack row E", "Enabled", datetime(2019, 6, 3, 8, 41, 12),
              datetime(2023, 2, 9, 17, 5, 33)),
        _zone(ZONE_LAB, "lab", None, "Disabled", datetime(2021, 10, 27, 14, 2, 0), datetime(2021, 10, 27, 14, 2, 0)),
    ]
    storages = [
        _backup_storage(BS_IMAGE_STORE, "My Backup Storage", "/zstack_bs", "Public Backup Storage",
                        (4 * TIB, 3 * TIB + 512 * GIB), "ImageStoreBackupStorage", ("Enabled", "Connected"),
                        example, [ZONE_TEST, ZONE_EAST]),
        _backup_storage(BS_IMAGE_STORE_DR, "dr-image-store", "/zstack_dr", None,
                        (2 * TIB, 1536 * GIB), "ImageStoreBackupStorage", ("Enabled", "Connected"),
                        datetime(2022, 4, 18, 10, 30, 0), [ZONE_EAST]),
        _backup_storage(BS_CEPH, "ceph-bs", "ceph", "Ceph pool for images", (GIB, 968884224), "Ceph",
                        ("Disabled", "Disconnected"), datetime(2020, 1, 7, 19, 45, 10), []),
    ]
    return {
        ZONE.name: zones,
        BACKUP_STORAGE.name: storages,
        DATABASE_BACKUP.name: [_database_backup(backup) for backup in _BACKUPS],
    }


class Store:
    """The mock's resources by kind and uuid. Thread-safe; readers get copies, so a listing never changes under them.

    Every change notifies a condition, so a test can wait for a state (``wait_for``) instead of sleeping.
    """

    def __init__(self, records: Mapping[str, Iterable[Record]] | None = None) -> None:
        # Re-entrant: wait_for's predicate reads the store while the condition holds the lock.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        chosen = seed() if records is None else records
        self._records: dict[str, dict[str, Record]] = {
            kind: {str(record["uuid"]): record for record in items} for kind, items in chosen.items()
        }

    def list(self, kind: Kind) -> list[Record]:
        with self._lock:
            return copy.deepcopy(list(self._records.get(kind.name, {}).values()))

    def get(self, kind: Kind, uuid: str) -> Record | None:
        with self._lock:
            record = self._records.get(kind.name, {}).get(uuid)
            return copy.deepcopy(record) if record is not None else None

    def put(self, kind: Kind, record: Record) -> None:
        with self._changed:
            self._records.setdefault(kind.name, {})[str(record["uuid"])] = copy.deepcopy(record)
            self._changed.notify_all()

    def remove(self, kind: Kind, uuid: str) -> Record | None:
        with self._changed:
            removed = self._records.get(kind.name, {}).pop(uuid, None)
            self._changed.notify_all()
            return removed

    def modify(self, kind: Kind, uuid: str, change: Callable[[Record], None]) -> Record | None:
        """Apply ``change`` to the stored record in place, atomically; the changed copy, or None if absent.

        Two writes to one backup (say an Export and a Sync) must not lose each other's change, which a
        get-then-put from two request threads could.
        """
        with self._changed:
            record = self._records.get(kind.name, {}).get(uuid)
            if record is None:
                return None
            change(record)
            self._changed.notify_all()
            return copy.deepcopy(record)

    def wait_for(self, predicate: Callable[[Store], bool], timeout: float) -> bool:
        """Block until ``predicate(store)`` holds or ``timeout`` seconds pass; whether it holds.

        The predicate is checked now and after every change, never by polling.
        """
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)
