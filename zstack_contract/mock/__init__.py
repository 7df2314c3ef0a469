"""An embedded mock ZStack management node, with switchable contract deviations.

It serves the login, session, version, GetDatabaseBackupFromImageStore and GetBackupStorageCapacity APIs and
the three Query APIs (zones, backup storage, database backups, over one query engine), and the database-backup
family's six asynchronous APIs over a job table (202, then polling GET /zstack/v1/api-jobs/<uuid>), the way the
protocol notes and ZStack's RestServer describe the real server. Each catalogued deviation breaks the contract in
exactly one realistic way.
"""

from __future__ import annotations

from zstack_contract.mock.data import ADMIN_ACCOUNT, ADMIN_PASSWORD, SEEDED_IMAGE_STORE_URL
from zstack_contract.mock.deviations import DEVIATIONS, Deviation, UnknownDeviationError, resolve
from zstack_contract.mock.server import MockZStack

__all__ = [
    "ADMIN_ACCOUNT",
    "ADMIN_PASSWORD",
    "DEVIATIONS",
    "SEEDED_IMAGE_STORE_URL",
    "Deviation",
    "MockZStack",
    "UnknownDeviationError",
    "resolve",
]
