"""Run the contract suite as a child process, as a user would: wall time, peak memory, an optional Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.selftest.conftest import REPO, seed_only_schemas

INTERNAL_ERRORS = ("INTERNALERROR", "Traceback (most recent call last)", "RecursionError")


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    report_dir: Path
    wall: float  # seconds
    peak_rss_kib: int  # the child's (and its waited-for descendants') peak resident set
    killed: bool  # the run outlived its timeout and was killed

    @property
    def results(self) -> dict[str, Any] | None:
        path = self.report_dir / "contract-results.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    @property
    def verdict(self) -> str | None:
        return None if self.results is None else self.results["meta"].get("verdict")

    @property
    def rules(self) -> set[str]:
        """Rules of every finding the run recorded."""
        records = (self.results or {}).get("records", [])
        return {f["rule"] for r in records for f in r.get("findings", [])}

    def artifacts(self) -> dict[str, str]:
        """Every file the run wrote under its report dir, as text, keyed by name."""
        if not self.report_dir.is_dir():
            return {}
        return {
            str(p.relative_to(self.report_dir)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(self.report_dir.rglob("*"))
            if p.is_file()
        }

    def internal_errors(self) -> list[str]:
        return [marker for marker in INTERNAL_ERRORS if marker in self.output]


def run_contract(
    report_dir: Path,
    *args: str,
    quiet: bool = True,
    timeout: float = 90,
    interrupt_when: threading.Event | None = None,
) -> Run:
    """``pytest tests/contract`` in a child process with HTML, JUnit and JSON reports in ``report_dir``.

    ``interrupt_when``: send SIGINT (Ctrl-C) to the child once this event is set (e.g. by the server
    at the first API request). A run still going after ``timeout`` s is killed (``killed``): a bound on a
    suite that does not bound itself, kept short so a regression costs CI a minute, not the whole budget.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZSTACK_", "PYTEST_"))}
    if not any(arg.startswith("--zstack-schemas") for arg in args):
        # The hostile servers speak the seed API only; the family's other APIs would all be "not served".
        args = ("--zstack-schemas", str(seed_only_schemas(report_dir.parent / f"{report_dir.name}-schemas")), *args)
    command = [sys.executable, "-m", "pytest", "tests/contract", *(["-q"] if quiet else [])]
    command += ["-p", "no:cacheprovider", "--zstack-report-dir", str(report_dir), *args]
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        done = threading.Event()
        killed = threading.Event()

        def watchdog() -> None:
            if interrupt_when is not None:
                # Returns as soon as the server sees the first API request: the run is testing, not collecting.
                if not _first(interrupt_when, done, timeout):
                    return
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    os.kill(proc.pid, signal.SIGINT)
            if not done.wait(max(0.0, timeout - (time.monotonic() - started))):
                killed.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

        guard = threading.Thread(target=watchdog, daemon=True)
        guard.start()
        # wait4, not Popen.wait: it also returns the child's resource usage (peak RSS) for this child alone.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        done.set()
        guard.join()
        out.seek(0)
        output = out.read().decode("utf-8", errors="replace")
    return Run(proc.returncode, output, report_dir, wall, usage.ru_maxrss, killed.is_set())


def _first(event: threading.Event, done: threading.Event, timeout: float) -> bool:
    """Wait for ``event`` without outliving the child; True when the event came first."""
    deadline = time.monotonic() + timeout
    while not done.is_set() and time.monotonic() < deadline:
        if event.wait(0.05):
            return True
    return False


def not_a_pass(text: str) -> bool:
    """True when a report text nowhere claims conformance ("NOT CONFORMING" is not a claim of it)."""
    return re.search(r"(?<!NOT )CONFORMING", text) is None
