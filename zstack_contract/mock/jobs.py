"""The async job table: what RestServer's async store keeps for each accepted API message (protocol notes §3).

A job's answer is decided when it is submitted (the mock does the work then, see async_api.py); the table only
holds the answer back. A job stays running until BOTH one poll has been answered "running" AND ``delay`` seconds
have passed since submit, so every client sees at least one 202 poll however slow it is, and no client sees the
answer earlier than ``delay``. Jobs are forgotten ``retention`` seconds after submit, like
``rest.completedApi.expiredPeriod``; an unknown or forgotten job is "expired".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

JOB_DELAY = 0.05
# rest.completedApi.expiredPeriod's default, in seconds.
JOB_RETENTION = 10800.0
# The apiTimeout the 202 body carries, in milliseconds: ZStack's default API timeout of 30 minutes.
API_TIMEOUT_MS = 1_800_000


class JobState(Enum):
    UNKNOWN = "unknown"  # never submitted, or forgotten after the retention window
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class PollAnswer:
    state: JobState
    status: int = 0  # the final HTTP status (200 or 503) when DONE
    body: Any = None  # the final JSON body when DONE


@dataclass
class _Job:
    submitted: float
    status: int | None = None  # None until the work has given the answer
    body: Any = None
    polled_running: bool = False


class JobTable:
    """Jobs by uuid. Thread-safe: request threads submit and poll concurrently."""

    def __init__(
        self, *, delay: float = JOB_DELAY, retention: float = JOB_RETENTION, clock: Callable[[], float]
    ) -> None:
        self._delay = delay
        self._retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    def claim(self, job_uuid: str, *, replace: bool = False) -> bool:
        """Start a running job under ``job_uuid``; False (and nothing changes) when the table still holds one.

        Claiming comes before the work, so two requests racing with one X-Job-UUID cannot both run it.
        ``replace`` starts the job even so, replacing the held one.
        """
        with self._lock:
            self._expire()
            if job_uuid in self._jobs and not replace:
                return False
            self._jobs[job_uuid] = _Job(self._clock())
            return True

    def finish(self, job_uuid: str, status: int, body: Any) -> None:
        """Give a claimed job its final answer; it is shown once the job may end (see the module docstring)."""
        with self._lock:
            job = self._jobs.get(job_uuid)
            if job is not None:
                job.status, job.body = status, body

    def poll(self, job_uuid: str) -> PollAnswer:
        """One poll: RUNNING (and from now on the job may end), DONE with its answer, or UNKNOWN."""
        with self._lock:
            self._expire()
            job = self._jobs.get(job_uuid)
            if job is None:
                return PollAnswer(JobState.UNKNOWN)
            if not job.polled_running or self._clock() - job.submitted < self._delay or job.status is None:
                job.polled_running = True
                return PollAnswer(JobState.RUNNING)
            return PollAnswer(JobState.DONE, job.status, job.body)

    def _expire(self) -> None:
        # Called with the lock held. A scan per call is fine: the mock keeps at most a few thousand jobs.
        now = self._clock()
        for stale in [uuid for uuid, job in self._jobs.items() if now - job.submitted >= self._retention]:
            del self._jobs[stale]
