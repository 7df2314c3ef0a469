"""The alt server's resources: zones, backup storage and database backups, with their wire form.

The data is the alt server's own, deliberately unlike the embedded mock's: other names and counts,
mixed-case names (the database collates them case-insensitively), capacities beyond 32 bits, and
optional fields left out as Gson leaves out nulls (a database backup without metadata, a reference
without exportUrl, a backup storage attached to no zone).

Some rows were never given a description. The pages say such a description is "left out", but the
suite's must level requires every field a page's example shows, description included. So by
default those rows carry one, and ``sparse`` serves them as a real server would, without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Final

from tests.selftest.alt_query import FieldKind, Record, Resource

__all__ = ["BACKUP_STORAGE", "DATABASE_BACKUPS", "ZONES", "capacity", "resources"]

# The management node's JVM zone: rendered dates and q date literals are both read in it.
_NODE_ZONE: Final = timezone(timedelta(hours=8))


def _uuid(label: str) -> str:
    return hashlib.md5(f"alt-zstack/{label}".encode()).hexdigest()


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=_NODE_ZONE)


ZONE_FIELDS: Final[Mapping[str, FieldKind]] = {
    "uuid": "string",
    "name": "string",
    "description": "string",
    "state": "string",
    "type": "string",
    "createDate": "date",
    "lastOpDate": "date",
}
BACKUP_STORAGE_FIELDS: Final[Mapping[str, FieldKind]] = {
    "uuid": "string",
    "name": "string",
    "url": "string",
    "description": "string",
    "totalCapacity": "long",
    "availableCapacity": "long",
    "type": "string",
    "state": "string",
    "status": "string",
    "createDate": "date",
    "lastOpDate": "date",
    "attachedZoneUuids": "strings",
}
DATABASE_BACKUP_FIELDS: Final[Mapping[str, FieldKind]] = {
    "uuid": "string",
    "name": "string",
    "description": "string",
    "state": "string",
    "status": "string",
    "size": "long",
    "metadata": "string",
    "createDate": "date",
    "lastOpDate": "date",
    "backupStorageRefs": "refs",
}
BACKUP_REF_FIELDS: Final[Mapping[str, FieldKind]] = {
    "databaseBackupUuid": "string",
    "backupStorageUuid": "string",
    "installPath": "string",
    "exportUrl": "string",
    "status": "string",
    "createDate": "date",
    "lastOpDate": "date",
}

_ZONE_A, _ZONE_B, _ZONE_C, _ZONE_D = (_uuid(f"zone/{n}") for n in ("hz-a", "hz-b", "bj-edge", "lab"))

ZONES: Final[Sequence[Record]] = (
    {
        "uuid": _ZONE_A,
        "name": "zone-hz-a",
        "description": "Hangzhou, hall A",
        "state": "Enabled",
        "type": "zstack",
        "createDate": _at("2023-03-07 09:12:44"),
        "lastOpDate": _at("2024-01-15 18:03:09"),
    },
    {
        "uuid": _ZONE_B,
        "name": "Zone-HZ-B",
        "description": "Hangzhou, hall B",
        "state": "Enabled",
        "type": "zstack",
        "createDate": _at("2023-03-07 09:14:02"),
        "lastOpDate": _at("2023-03-07 09:14:02"),
    },
    {
        "uuid": _ZONE_C,
        "name": "bj-edge",
        "description": "Beijing edge site",
        "state": "Disabled",
        "type": "zstack",
        "createDate": _at("2023-11-21 14:40:30"),
        "lastOpDate": _at("2024-06-02 07:55:41"),
    },
    {
        "uuid": _ZONE_D,
        "name": "lab",
        "description": "",
        "state": "Enabled",
        "type": "zstack",
        "createDate": _at("2024-02-29 23:59:59"),
        "lastOpDate": _at("2024-02-29 23:59:59"),
    },
)

_BS_IMAGE_STORE, _BS_CEPH, _BS_SFTP, _BS_IMAGE_STORE_DR = (
    _uuid(f"bs/{n}") for n in ("imagestore", "ceph", "sftp", "imagestore-dr")
)

BACKUP_STORAGE: Final[Sequence[Record]] = (
    {
        "uuid": _BS_IMAGE_STORE,
        "name": "imagestore-main",
        "url": "/zstack_bs",
        "description": "image store on bs-01",
        "totalCapacity": 10995116277760,
        "availableCapacity": 7421703487488,
        "type": "ImageStoreBackupStorage",
        "state": "Enabled",
        "status": "Connected",
        "createDate": _at("2023-03-07 10:01:17"),
        "lastOpDate": _at("2024-09-30 02:00:00"),
        "attachedZoneUuids": [_ZONE_A, _ZONE_B],
    },
    {
        "uuid": _BS_CEPH,
        "name": "Ceph-Backup",
        "url": "ceph://backup-pool",
        "description": "ceph pool for backups",
        "totalCapacity": 53687091200,
        "availableCapacity": 0,
        "type": "Ceph",
        "state": "Enabled",
        "status": "Connected",
        "createDate": _at("2023-11-21 15:02:48"),
        "lastOpDate": _at("2023-11-21 15:02:48"),
        "attachedZoneUuids": [_ZONE_C],
    },
    {
        "uuid": _BS_SFTP,
        "name": "sftp-old",
        "url": "/home/sftpBackupStorage",
        "description": "kept for old templates",
        "totalCapacity": 2147483648,
        "availableCapacity": 1073741824,
        "type": "SftpBackupStorage",
        "state": "Disabled",
        "status": "Disconnected",
        "createDate": _at("2022-05-18 08:30:00"),
        "lastOpDate": _at("2024-03-01 12:00:00"),
        "attachedZoneUuids": [],
    },
    {
        # The second image store, so SyncDatabaseBackupFromImageStoreBackupStorage has a destination.
        "uuid": _BS_IMAGE_STORE_DR,
        "name": "ImageStore-DR",
        "url": "/zstack_bs_dr",
        "description": "disaster-recovery image store on bs-02",
        "totalCapacity": 21474836480,
        "availableCapacity": 20401094656,
        "type": "ImageStoreBackupStorage",
        "state": "Enabled",
        "status": "Connected",
        "createDate": _at("2024-04-11 16:20:00"),
        "lastOpDate": _at("2024-04-11 16:20:00"),
        "attachedZoneUuids": [_ZONE_D],
    },
)

_DB_NIGHTLY, _DB_UPGRADE, _DB_ARCHIVE = (_uuid(f"dbb/{n}") for n in ("nightly", "upgrade", "archive"))

DATABASE_BACKUPS: Final[Sequence[Record]] = (
    {
        "uuid": _DB_NIGHTLY,
        "name": "nightly-20241001",
        "description": "scheduled",
        "state": "Enabled",
        "status": "Ready",
        "size": 52428800,
        "metadata": '{"zstackVersion":"5.1.8"}',
        "createDate": _at("2024-10-01 02:00:05"),
        "lastOpDate": _at("2024-10-01 02:03:41"),
        "backupStorageRefs": [
            {
                "databaseBackupUuid": _DB_NIGHTLY,
                "backupStorageUuid": _BS_IMAGE_STORE,
                "installPath": f"zstore://zstack/databasebackup/{_DB_NIGHTLY}",
                "status": "Ready",
                "createDate": _at("2024-10-01 02:00:05"),
                "lastOpDate": _at("2024-10-01 02:03:41"),
            }
        ],
    },
    {
        "uuid": _DB_UPGRADE,
        "name": "Before-Upgrade",
        "description": "taken before the 5.1 upgrade",
        "state": "Enabled",
        "status": "Ready",
        "size": 3221225472,
        "metadata": '{"zstackVersion":"4.8.0"}',
        "createDate": _at("2024-06-30 21:47:12"),
        "lastOpDate": _at("2024-07-02 09:10:00"),
        "backupStorageRefs": [
            {
                "databaseBackupUuid": _DB_UPGRADE,
                "backupStorageUuid": _BS_IMAGE_STORE,
                "installPath": f"zstore://zstack/databasebackup/{_DB_UPGRADE}",
                "exportUrl": f"http://172.20.0.11:8001/export/{_DB_UPGRADE}.gz",
                "status": "Ready",
                "createDate": _at("2024-06-30 21:47:12"),
                "lastOpDate": _at("2024-07-02 09:10:00"),
            },
            {
                "databaseBackupUuid": _DB_UPGRADE,
                "backupStorageUuid": _BS_CEPH,
                "installPath": f"ceph://backup-pool/{_DB_UPGRADE}",
                "status": "Ready",
                "createDate": _at("2024-07-01 00:00:00"),
                "lastOpDate": _at("2024-07-01 00:00:00"),
            },
        ],
    },
    {
        "uuid": _DB_ARCHIVE,
        "name": "archive-2023",
        "description": "year-end archive",
        "state": "Disabled",
        "status": "Ready",
        "size": 13107,
        "createDate": _at("2023-12-31 23:00:00"),
        "lastOpDate": _at("2023-12-31 23:00:00"),
        "backupStorageRefs": [],
    },
)


# Rows whose description was never set: left out when the server runs sparse.
NEVER_DESCRIBED: Final = frozenset({_ZONE_B, _BS_CEPH, _DB_ARCHIVE})


def _sparse(rows: Sequence[Record]) -> list[Record]:
    return [
        {name: value for name, value in row.items() if not (name == "description" and row["uuid"] in NEVER_DESCRIBED)}
        for row in rows
    ]


def _fixed(rows: Sequence[Record]) -> Callable[[], Sequence[Record]]:
    def serve() -> Sequence[Record]:
        return rows

    return serve


def _live(source: Callable[[], Sequence[Record]], sparse: bool) -> Callable[[], Sequence[Record]]:
    def serve() -> Sequence[Record]:
        return _sparse(source()) if sparse else source()

    return serve


def _renderer(
    fields: Mapping[str, FieldKind], render_date: Callable[[datetime], str]
) -> Callable[[Record], dict[str, object]]:
    def render(row: Record) -> dict[str, object]:
        out: dict[str, object] = {}
        for name in fields:
            value = row.get(name)
            if value is None:
                continue  # Gson omits nulls
            if isinstance(value, datetime):
                out[name] = render_date(value)
            elif isinstance(value, list):
                out[name] = [render_ref(item) if isinstance(item, dict) else item for item in value]
            else:
                out[name] = value
        return out

    def render_ref(ref: Record) -> dict[str, object]:
        return {
            name: render_date(value) if isinstance(value, datetime) else value
            for name in BACKUP_REF_FIELDS
            if (value := ref.get(name)) is not None
        }

    return render


def resources(
    render_date: Callable[[datetime], str],
    *,
    sparse: bool = False,
    database_backups: Callable[[], Sequence[Record]] | None = None,
) -> dict[str, Resource]:
    """The three queryable resources, keyed by their REST path segment.

    ``database_backups`` is the live source of the backups (the write APIs change them); without
    it the seed rows are served as they are.
    """

    def resource(
        inventory_class: str,
        fields: Mapping[str, FieldKind],
        rows: Sequence[Record] | Callable[[], Sequence[Record]],
        refs: Mapping[str, tuple[Mapping[str, FieldKind], str]] | None = None,
    ) -> Resource:
        refs = refs or {}
        served = _live(rows, sparse) if callable(rows) else _fixed(_sparse(rows) if sparse else list(rows))
        return Resource(
            inventory_class=inventory_class,
            fields=fields,
            rows=served,
            render=_renderer(fields, render_date),
            ref_fields={name: kinds for name, (kinds, _) in refs.items()},
            ref_class={name: cls for name, (_, cls) in refs.items()},
        )

    return {
        "zones": resource("org.zstack.header.zone.ZoneInventory", ZONE_FIELDS, ZONES),
        "backup-storage": resource(
            "org.zstack.header.storage.backup.BackupStorageInventory", BACKUP_STORAGE_FIELDS, BACKUP_STORAGE
        ),
        "database-backups": resource(
            "org.zstack.header.storage.database.backup.DatabaseBackupInventory",
            DATABASE_BACKUP_FIELDS,
            DATABASE_BACKUPS if database_backups is None else database_backups,
            {
                "backupStorageRefs": (
                    BACKUP_REF_FIELDS,
                    "org.zstack.header.storage.database.backup.DatabaseBackupBackupStorageRefInventory",
                )
            },
        ),
    }


def capacity(backup_storage_uuids: Sequence[str], zone_uuids: Sequence[str], every: bool) -> tuple[int, int]:
    """Sum capacities the way the backup storage manager's SQL does.

    The listed backup storage win over zones; ``all`` stands in for every backup storage when no
    uuid list is given. The zone form is a join, so storage attached to two listed zones counts twice.
    """
    if every and not backup_storage_uuids:
        backup_storage_uuids = [str(row["uuid"]) for row in BACKUP_STORAGE]
    if backup_storage_uuids:
        chosen = [row for row in BACKUP_STORAGE if row["uuid"] in set(backup_storage_uuids)]
    else:
        wanted = set(zone_uuids)
        chosen = [
            row
            for row in BACKUP_STORAGE
            for zone in row["attachedZoneUuids"]  # type: ignore[attr-defined]
            if zone in wanted
        ]
    total = sum(int(str(row["totalCapacity"])) for row in chosen)
    available = sum(int(str(row["availableCapacity"])) for row in chosen)
    return total, available
