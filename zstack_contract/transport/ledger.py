"""What a writes-mode run created: every resource is entered before its create is sent, so nothing it may have
made is forgotten, and the session-end cleanup and the report read the same list."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

RESOURCE_PREFIX = "zstack-contract-"


def resource_name(run_id: str, label: str) -> str:
    """The name of something this run creates: ``zstack-contract-<run id>-<label>``."""
    return f"{RESOURCE_PREFIX}{run_id}-{label}"


def run_prefix(run_id: str) -> str:
    """What every name of this run starts with (what the cleanup matches)."""
    return resource_name(run_id, "")


@dataclass
class Created:
    """One resource the suite created or tried to: ``uuid`` None until the job's answer names it.

    ``cleaned`` is None until the cleanup ran: True removed (or found gone), False could not be removed;
    ``note`` says why.
    """

    api: str
    name: str
    uuid: str | None
    cleaned: bool | None = None
    note: str = ""


class Ledger:
    """Thread-safe list of :class:`Created` entries, in the order they were planned."""

    def __init__(self) -> None:
        self._entries: list[Created] = []
        self._lock = threading.Lock()

    def planned(self, api: str, name: str) -> Created:
        """Enter a resource BEFORE its create is sent: an interrupted create is still cleaned up by name."""
        entry = Created(api, name, None)
        with self._lock:
            self._entries.append(entry)
        return entry

    def created(self, entry: Created, uuid: str) -> None:
        with self._lock:
            entry.uuid = uuid

    def mark(self, entry: Created, cleaned: bool, note: str = "") -> None:
        with self._lock:
            entry.cleaned = cleaned
            entry.note = note

    def entries(self) -> list[Created]:
        with self._lock:
            return list(self._entries)

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for entry in self._entries:
                data = asdict(entry)
                out.append(
                    {
                        "api": data["api"],
                        "name": data["name"],
                        "uuid": data["uuid"],
                        "cleanedUp": data["cleaned"],
                        "note": data["note"],
                    }
                )
            return out
