"""Writes mode in the pytest run: the skip when writes are off, the names of this process's resources, the
session-end cleanup and what the reports say about it.

The cleanup runs first thing at session end (also after a failed test or Ctrl-C: pytest runs sessionfinish on
KeyboardInterrupt), on the process's own target, before the reports are written (they list what was created and
whether it was removed) and before the target logs out (the cleanup needs the session). Under pytest-xdist each
worker cleans up its own and sends its ledger to the controller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport import cleanup
from zstack_contract.transport.client import TargetUnreachableError, UnsafeRequestError
from zstack_contract.transport.ledger import RESOURCE_PREFIX
from zstack_contract.transport.target import Target

WRITES_OFF = "writes are off: pass --zstack-allow-writes (ZSTACK_ALLOW_WRITES=1) to run the write lifecycle"
WORKER_RUN_ID = "zstack_run_id"  # the controller's run id, handed to xdist workers in workerinput


def writes_line(settings: Settings) -> str:
    """The report header's line and the metadata's "Writes" value."""
    if settings.allow_writes:
        return (
            "WRITES ENABLED (--zstack-allow-writes): creates and deletes resources named "
            f"{RESOURCE_PREFIX}{settings.run_id}-*"
        )
    return "read-only: no state-changing request is sent"


def skip_unless_writes(settings: Settings) -> None:
    if not settings.allow_writes:
        pytest.skip(WRITES_OFF)


def worker_label(config: pytest.Config, label: str) -> str:
    """``label``, prefixed with the xdist worker's id so that two workers' resources never share a name."""
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    return f"{worker}-{label}" if worker else label


@dataclass
class CleanupOutcome:
    """What the session-end cleanup of one process did: its ledger afterwards, and a problem that stopped it."""

    created: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""


def clean_up_target(target: Target | None, catalog: Sequence[ApiContract], settings: Settings) -> CleanupOutcome:
    """Remove what this process created (and any leftover named with its run id); never raises for the node.

    A node that stopped answering leaves the entries not cleaned up, with the reason: the report names them and
    the ``cleanup`` command that removes them later.
    """
    if target is None or not settings.allow_writes:
        return CleanupOutcome()
    problem = ""
    try:
        cleanup.clean_up(target.client, catalog, target.ledger, target.run_id, job_timeout=settings.job_timeout)
    except (TargetUnreachableError, UnsafeRequestError) as exc:
        problem = f"the cleanup stopped: {exc}"
    except KeyboardInterrupt:
        problem = "the cleanup was interrupted (Ctrl-C)"
    return CleanupOutcome(target.ledger.to_json(), problem)

