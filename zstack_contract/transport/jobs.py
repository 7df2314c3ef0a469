"""Async API jobs (protocol notes §3): submit a request, then poll its job until it ends, bounded and backing off.

ZStack answers an async API with 202 ``{"location": "http://<mn-ip>:<port>/zstack/v1/api-jobs/<id>",
"apiTimeout": <ms>}`` and the job with 202 ``{}`` while it runs, 200 (the result) or 503 (the error) when it
ends. The location names the node's own address, which behind NAT or a proxy is not the URL the suite was
given: only its path is used, on the configured base URL, and no other host is ever contacted. Nothing here
judges the answers; :mod:`zstack_contract.engine.async_checks` does.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from zstack_contract.transport.client import Auth, Exchange, ZStackClient
from zstack_contract.transport.secret import Secret

JOBS_PREFIX = "/zstack/v1/api-jobs/"
JOB_UUID_HEADER = "X-Job-UUID"
FIRST_WAIT = 0.02  # s before the first poll; doubles after each 202
MAX_WAIT = 1.0  # s, the longest wait between two polls
RUNNING, SUCCEEDED, FAILED = 202, 200, 503
_JOB_PATH = re.compile(re.escape(JOBS_PREFIX) + r"([0-9A-Za-z-]+)")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class _Fresh(Enum):
    UUID = "fresh"


FRESH: Literal[_Fresh.UUID] = _Fresh.UUID  # submit's default: send a new X-Job-UUID


class PollStats:
    """Totals over every job of this process (thread-safe), so the report can show the share spent polling."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs = 0
        self._polls = 0
        self._seconds = 0.0

    def add(self, *, polls: int, seconds: float) -> None:
        with self._lock:
            self._jobs += 1
            self._polls += polls
            self._seconds += seconds

    @property
    def jobs(self) -> int:
        with self._lock:
            return self._jobs

    @property
    def polls(self) -> int:
        with self._lock:
            return self._polls

    @property
    def polling_seconds(self) -> float:
        with self._lock:
            return self._seconds

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"jobs": self._jobs, "polls": self._polls, "pollingSeconds": round(self._seconds, 3)}

    def reset(self) -> None:
        with self._lock:
            self._jobs, self._polls, self._seconds = 0, 0, 0.0


POLL_STATS = PollStats()


@dataclass
class JobRun:
    """One async call and its job, as evidence: what was sent, every answer, how it ended and why."""

    first: Exchange  # the answer to the API call itself
    polls: list[Exchange] = field(default_factory=list)  # every poll answer, in order
    final: Exchange | None = None  # what ends it: ``first`` when not 202, else the 200/503 poll; None = no end
    job_uuid: str | None = None  # the X-Job-UUID sent (None when none was sent)
    location: str | None = None  # the 202 body's location, as sent by the node
    poll_path: str | None = None  # the path polled on the configured base URL
    host_note: str = ""  # "" or "location names http://10.0.0.5:8080, polled <base URL> instead"
    elapsed: float = 0.0  # s, submit → end (or → giving up)
    polling_seconds: float = 0.0  # s spent in poll requests and the waits between them
    bound: float = 0.0  # s, the polling bound used
    gave_up: str = ""  # "" or why polling stopped without a final answer, human readable

    @property
    def exchanges(self) -> list[Exchange]:
        """The call and every poll (evidence; callers trim)."""
        return [self.first, *self.polls]

    @property
    def accepted(self) -> bool:
        """Whether the call was answered 202 (a job to poll)."""
        return self.first.status == RUNNING


@dataclass
class Polled:
    """What :func:`poll` saw: every answer, the final one (or None) and why it stopped without one."""

    polls: list[Exchange]
    final: Exchange | None
    gave_up: str
    seconds: float


def submit(
    client: ZStackClient,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    query: Sequence[tuple[str, str]] = (),
    auth: Auth | Secret = Auth.SESSION,
    job_uuid: str | Literal[_Fresh.UUID] | None = FRESH,
    headers: Mapping[str, str] | None = None,
    path_secrets: Mapping[str, Secret] | None = None,
    job_timeout: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> JobRun:
    """Send an async API call with an X-Job-UUID (a fresh one unless given; None sends none) and poll its job.

    Transport errors (no answer, the node down) and KeyboardInterrupt propagate; every answer is in the JobRun.
    """
    sent_uuid = uuidlib.uuid4().hex if job_uuid is FRESH else job_uuid
    extra = dict(headers or {})
    if sent_uuid is not None:
        extra[JOB_UUID_HEADER] = sent_uuid
    started = clock()
    first = client.send(
        method, path, query=query, auth=auth, headers=extra, json_body=json_body, path_secrets=path_secrets
    )
    run = JobRun(first=first, job_uuid=sent_uuid, bound=job_timeout)
    if first.status != RUNNING:
        run.final = first
        run.elapsed = clock() - started
        return run
    body = first.parsed[1] if first.parsed[0] and isinstance(first.parsed[1], dict) else {}
    location = body.get("location")
    run.location = location if isinstance(location, str) else None
    run.bound = polling_bound(job_timeout, body.get("apiTimeout"), client.timeout)
    run.poll_path, why_not = job_path(run.location)
    if run.poll_path is None:
        run.gave_up = why_not
        run.elapsed = clock() - started
        return run
    run.host_note = host_note(run.location or "", client.base_url)
    polled = poll(client, run.poll_path, job_timeout=run.bound, clock=clock, sleep=sleep)
    run.polls, run.final, run.gave_up, run.polling_seconds = polled.polls, polled.final, polled.gave_up, polled.seconds
    run.elapsed = clock() - started
    return run


def polling_bound(job_timeout: float, api_timeout: Any, request_timeout: float) -> float:
    """The most the suite polls one job: min(job_timeout, apiTimeout/1000 + request_timeout); without a usable
    apiTimeout (absent, not a number, not positive), job_timeout alone."""
    if isinstance(api_timeout, bool) or not isinstance(api_timeout, (int, float)):
        return job_timeout
    if not math.isfinite(api_timeout) or api_timeout <= 0:
        return job_timeout
    return min(job_timeout, api_timeout / 1000 + request_timeout)


def job_path(location: str | None) -> tuple[str | None, str]:
    """The path to poll for a 202's location, or None and why it is not polled."""
    if location is None:
        return None, "not polled: the 202 body has no string 'location'"
    try:
        parts = urlsplit(location)
    except ValueError:
        return None, f"not polled: the location {location[:200]!r} is not a URL"
    if _JOB_PATH.fullmatch(parts.path) is None:
        return None, f"not polled: the location's path {parts.path[:200]!r} is not {JOBS_PREFIX}<job id>"
    return parts.path, ""


def host_note(location: str, base_url: str) -> str:
    """"" when the location names the configured node (or no node: a relative location), else what was polled."""
    named, base = urlsplit(location), urlsplit(base_url)
    if not named.netloc:
        return ""
    try:
        same = (named.scheme.lower(), named.hostname, _port(named)) == (base.scheme.lower(), base.hostname, _port(base))
    except ValueError:  # a port that is not a number: not the configured node
        same = False
    return "" if same else f"location names {named.scheme}://{named.netloc}, polled {base_url} instead"


def _port(parts: SplitResult) -> int | None:
    port = parts.port
    return port if port is not None else {"http": 80, "https": 443}.get(parts.scheme.lower())


def poll(
    client: ZStackClient, path: str, *, job_timeout: float, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
) -> Polled:
    """GET ``path`` (no Authorization: the job endpoint checks none) until 200/503, another status, or the bound.

    Waits 0.02 s before the first poll and doubles the wait after each 202, capped at 1 s and at what is left of
    the bound; the last poll goes out at the bound. Totals go to :data:`POLL_STATS` however it ends.
    """
    start = clock()
    deadline = start + job_timeout
    wait = FIRST_WAIT
    polls: list[Exchange] = []
    final: Exchange | None = None
    gave_up = ""
    try:
        while True:
            remaining = deadline - clock()
            if remaining <= 0 and polls:
                gave_up = (
                    f"no final answer within the bound of {job_timeout:g} s: still 202 after {len(polls)} polls "
                    f"({clock() - start:.2f} s)"
                )
                break
            sleep(max(0.0, min(wait, remaining)))
            wait = min(wait * 2, MAX_WAIT)
            answer = client.send("GET", path, auth=Auth.NONE)
            polls.append(answer)
            if answer.status in (SUCCEEDED, FAILED):
                final = answer
                break
            if answer.status != RUNNING:
                gave_up = f"poll {len(polls)} answered HTTP {answer.status} before the job ended"
                break
    finally:
        seconds = clock() - start
        POLL_STATS.add(polls=len(polls), seconds=seconds)
    return Polled(polls, final, gave_up, seconds)
