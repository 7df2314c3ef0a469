"""The alt server's table of asynchronous API jobs, written from protocol notes §3.

It uses a freedom the contract leaves open and the embedded mock does not take: a job is not on a
timer, it advances by being polled. It answers 202 ``{}`` to its first ``polls_while_running``
polls, does its work on the next one and answers that poll with the result. So a client that
waits for a fixed delay instead of polling, or that stops at the first 202, never sees the end.
A finished job is kept ``retention`` seconds after it finished (``rest.completedApi.expiredPeriod``),
then it is forgotten: its poll is a 404 and its uuid may be used again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_POLLS_WHILE_RUNNING", "DEFAULT_RETENTION", "JobOutcome", "JobTable"]

DEFAULT_POLLS_WHILE_RUNNING: Final = 2
DEFAULT_RETENTION: Final = 10800.0


@dataclass(frozen=True)
class JobOutcome:
    """What a finished job answers to every later poll: 200 with the result, or 503 with the error."""

    status: int
    body: bytes


@dataclass
class _Job:
    work: Callable[[], JobOutcome]
    polls_left: int
    outcome: JobOutcome | None = None
    finished_at: float | None = None


class JobTable:
    """Jobs by uuid; thread-safe. ``clock`` is injectable so a test can expire a job without waiting."""

    def __init__(
        self,
        *,
        polls_while_running: int = DEFAULT_POLLS_WHILE_RUNNING,
        retention: float = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if polls_while_running < 0:
            raise ValueError("polls_while_running must be >= 0")
        self._polls_while_running = polls_while_running
        self._retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    def submit(self, job_uuid: str, work: Callable[[], JobOutcome]) -> bool:
        """Store a new job; False when a job under ``job_uuid`` is still kept (a duplicate)."""
        with self._lock:
            self._forget_expired()
            if job_uuid in self._jobs:
                return False
            self._jobs[job_uuid] = _Job(work, self._polls_while_running)
            return True

    def poll(self, job_uuid: str) -> JobOutcome | None:
        """None for an unknown or expired job; status 202 while it runs; then its outcome."""
        with self._lock:
            self._forget_expired()
            job = self._jobs.get(job_uuid)
            if job is None:
                return None
            if job.outcome is None:
                if job.polls_left > 0:
                    job.polls_left -= 1
                    return JobOutcome(202, b"{}")
                # The work runs under the lock, so two racing polls can never run it twice.
                job.outcome = job.work()
                job.finished_at = self._clock()
            return job.outcome

    def __len__(self) -> int:
        with self._lock:
            self._forget_expired()
            return len(self._jobs)

    def _forget_expired(self) -> None:
        now = self._clock()
        expired = [
            key
            for key, job in self._jobs.items()
            if job.finished_at is not None and now - job.finished_at >= self._retention
        ]
        for key in expired:
            del self._jobs[key]
