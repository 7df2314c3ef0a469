"""Run the contract suite in a subprocess, as a user would, and read back its JSON results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.selftest.conftest import REPO


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    results: dict[str, Any] | None

    @property
    def failed(self) -> set[str]:
        return {r["test"] for r in (self.results or {}).get("records", []) if r["outcome"] == "failed"}

    @property
    def records(self) -> list[dict[str, Any]]:
        return list((self.results or {}).get("records", []))


def run_suite(report_dir: Path, *args: str, html: bool = False, timeout: float = 240) -> SuiteRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZSTACK_", "PYTEST_"))}
    command = [
        sys.executable,
        "-m",
        "pytest",
        *([] if any(arg.startswith("tests/contract/") for arg in args) else ["tests/contract"]),
        "-q",
        "-p",
        "no:cacheprovider",
        "--zstack-report-dir",
        str(report_dir),
        *args,
    ]
    if not html:
        command[4:4] = ["-p", "no:pytest_html.plugin"]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    results_file = report_dir / "contract-results.json"
    results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else None
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, results)
