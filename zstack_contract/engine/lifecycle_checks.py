"""What the write lifecycle's stored steps must show, as plain functions from answers to findings.

Each relation names the rule, the JSON path, what was expected and what came back; the exchanges go to the
judge as evidence. A relation that cannot be judged because an earlier step failed is not a finding here: the
test skips and names the test that judges that step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from zstack_contract.engine.checks import finding
from zstack_contract.engine.findings import Finding
from zstack_contract.transport.answers import listed_items
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.lifecycle import item_for, storage_ref
from zstack_contract.transport.safejson import excerpt

QUERY_AGREES_BASIS = (
    "Create's job result and QueryDatabaseBackup describe the same row: every field present in both must agree"
)
EXPORT_BASIS = (
    "protocol notes §5 family table: Export sets the backup-storage ref's exportUrl (and answers databaseBackupUrl); "
    "DeleteExported clears it"
)
SYNC_BASIS = "protocol notes §5 family table: Sync copies the backup to the destination image store (a new ref)"
DELETED_BASIS = "after DeleteDatabaseBackup's job succeeds, QueryDatabaseBackup no longer lists the backup"


def _shown(value: Any) -> str:
    return excerpt(json.dumps(value, ensure_ascii=False, sort_keys=True), 200)


def _listed(exchange: Exchange) -> str:
    items = listed_items(exchange)
    if items is not None:
        return f"{len(items)} item(s), none with that uuid"
    return f"HTTP {exchange.status}: {excerpt(exchange.text, 160)}"


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values; lists of objects compare as sets (a list's order is not part of a row)."""
    if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, dict) for x in a + b):
        return sorted(json.dumps(x, sort_keys=True) for x in a) == sorted(json.dumps(x, sort_keys=True) for x in b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b  # JSON true is not 1
    return bool(a == b)  # 7995392 and 7995392.0 are one number (Gson's integral floats)


def query_agrees_findings(
    api: str, case: str, created: Mapping[str, Any], query: Exchange, backup_uuid: str
) -> list[Finding]:
    """Query lists the created backup, and each top-level field present in both has the same value."""
    item = item_for(query, backup_uuid)
    if item is None:
        return [
            finding(
                api,
                case,
                "lifecycle.query-agrees",
                "$.inventories",
                f"the created backup (uuid {backup_uuid}) listed by q=uuid={backup_uuid}",
                _listed(query),
                QUERY_AGREES_BASIS,
            )
        ]
    out = []
    for key in sorted(set(created) & set(item)):
        if not _same(created[key], item[key]):
            out.append(
                finding(
                    api,
                    case,
                    "lifecycle.query-agrees",
                    f"$.inventories[0].{key}",
                    f"the value Create's result has: {_shown(created[key])}",
                    _shown(item[key]),
                    QUERY_AGREES_BASIS,
                )
            )
    return out


def export_url_findings(
    api: str,
    case: str,
    export_result: Exchange,
    after_export: Exchange,
    after_delete: Exchange | None,
    backup_uuid: str,
    storage_uuid: str,
) -> list[Finding]:
    """After Export the ref has a non-empty exportUrl (and Export answered databaseBackupUrl); after DeleteExported
    it has none (absent or null)."""
    out = []
    is_json, body = export_result.parsed
    url = body.get("databaseBackupUrl") if is_json and isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        out.append(
            finding(
                api,
                case,
                "lifecycle.export-url",
                "$.databaseBackupUrl",
                "Export's result: the exported backup's URL, a non-empty string",
                _shown(url) if is_json and isinstance(body, dict) and "databaseBackupUrl" in body else "absent",
                EXPORT_BASIS,
            )
        )
    out += _ref_findings(api, case, after_export, backup_uuid, storage_uuid, exported=True)
    if after_delete is not None:
        out += _ref_findings(api, case, after_delete, backup_uuid, storage_uuid, exported=False)
    return out


def _ref_findings(
    api: str, case: str, query: Exchange, backup_uuid: str, storage_uuid: str, *, exported: bool
) -> list[Finding]:
    when = "after Export" if exported else "after DeleteExported"
    path = f"$.inventories[0].backupStorageRefs[backupStorageUuid={storage_uuid}].exportUrl"
    item = item_for(query, backup_uuid)
    ref = storage_ref(item, storage_uuid)
    if ref is None:
        actual = _listed(query) if item is None else "the backup has no ref on that backup storage"
        return [
            finding(api, case, "lifecycle.export-url", path, f"{when}: the backup's ref on {storage_uuid}", actual,
                    EXPORT_BASIS)
        ]
    value = ref.get("exportUrl")
    if exported and not (isinstance(value, str) and value):
        shown = _shown(value) if "exportUrl" in ref else "absent"
        return [finding(api, case, "lifecycle.export-url", path, f"{when}: a non-empty exportUrl", shown, EXPORT_BASIS)]
    if not exported and value is not None:
        return [
            finding(api, case, "lifecycle.export-url", path, f"{when}: no exportUrl (absent or null)", _shown(value),
                    EXPORT_BASIS)
        ]
    return []


def sync_findings(api: str, case: str, after_sync: Exchange, backup_uuid: str, dst_uuid: str) -> list[Finding]:
    item = item_for(after_sync, backup_uuid)
    if storage_ref(item, dst_uuid) is not None:
        return []
    refs = item.get("backupStorageRefs") if item is not None else None
    actual = (
        _listed(after_sync)
        if item is None
        else "refs on " + (", ".join(str(r.get("backupStorageUuid")) for r in refs if isinstance(r, dict))
                           if isinstance(refs, list) and refs else "no backup storage")
    )
    return [
        finding(
            api,
            case,
            "lifecycle.sync",
            "$.inventories[0].backupStorageRefs",
            f"a ref on the destination image store {dst_uuid}",
            actual,
            SYNC_BASIS,
        )
    ]


def deleted_findings(api: str, case: str, after_delete: Exchange, backup_uuid: str) -> list[Finding]:
    if item_for(after_delete, backup_uuid) is None:
        return []
    return [
        finding(
            api,
            case,
            "lifecycle.deleted",
            "$.inventories",
            f"no item with uuid {backup_uuid} (q=uuid={backup_uuid})",
            "the deleted backup is still listed",
            DELETED_BASIS,
        )
    ]
