"""The documented example item of GetDatabaseBackupFromImageStore (the published page), as Gson writes it on the
wire: sizes as integers, not the doc generator's ``7995392.0`` / ``1.268224E7``. Written out literally, so the
tests that use it are not fed by the code they check."""

from __future__ import annotations

from typing import Any

DOC_EXAMPLE_ITEM: dict[str, Any] = {
    "id": "270c67e3699f72ba",
    "created": "Nov 14, 2017 10:20:57 PM",
    "author": "cloud",
    "arch": "amd64",
    "size": 7995392,
    "virtualsize": 12682240,
    "name": "78b6afbc9da73932a000fb9a75947962",
}
