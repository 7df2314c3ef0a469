"""The ignore rules: they cover what runs write, and never a file the repository keeps."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.selftest.conftest import REPO


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout (or git is not installed): nothing to compare the ignore rules with")
    return subprocess.run([git, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_no_committed_file_is_ignored() -> None:
    # A committed file that a rule matches: edits to it still show, but a fresh copy of it is silently skipped.
    proc = _git("ls-files", "--cached", "--ignored", "--exclude-standard")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == []


@pytest.mark.parametrize(
    "path",
    [
        "reports/contract-report.html",
        "reports/contract-junit.xml",
        "reports/contract-results.json",
        "reports/regression-report.html",
        "zstack_contract/__pycache__/cli.cpython-311.pyc",
        ".hypothesis/examples/x",
        ".mypy_cache/3.11/x.json",
        "zstack_contract.egg-info/PKG-INFO",
    ],
)
def test_what_a_run_writes_is_ignored(path: str) -> None:
    proc = _git("check-ignore", "--no-index", "--quiet", path)
    assert proc.returncode == 0, f"{path} is not ignored"


def test_the_reports_placeholder_is_kept() -> None:
    proc = _git("check-ignore", "--no-index", "--quiet", "reports/.gitkeep")
    assert proc.returncode == 1, "reports/.gitkeep is ignored"
