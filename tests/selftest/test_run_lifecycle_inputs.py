"""Every bad input to a run is one message and exit 4, in-process and under xdist (``-n 2``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.selftest.conftest import SCHEMAS
from tests.selftest.suite_runner import run_suite

API = "GetDatabaseBackupFromImageStore"


def _schemas(tmp_path: Path, name: str, content: bytes | None) -> list[str]:
    """A copy of the committed schema folder with one file replaced (``None``: made a folder)."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    target = copy / name
    if content is None:
        target.unlink()
        target.mkdir()
    else:
        target.write_bytes(content)
    return ["--zstack-schemas", str(copy)]


def _baseline(tmp_path: Path, content: bytes | None) -> list[str]:
    path = tmp_path / "baseline.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    return ["--zstack-baseline", str(path)]


def _report_dir_is_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "reports-file").write_text("not a folder", encoding="utf-8")
    return ["--zstack-report-dir", str(tmp_path / "reports-file")]


BAD_INPUTS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "report-dir-is-a-file": (_report_dir_is_a_file, "is a file, not a folder"),
    "corrupt-spec": (lambda p: _schemas(p, f"{API}/spec.json", b'{"operationId": '), "spec.json: not valid JSON"),
    "spec-not-an-object": (lambda p: _schemas(p, f"{API}/spec.json", b"[1, 2]"), "spec.json:"),
    "corrupt-overlay": (lambda p: _schemas(p, f"{API}/overlay.json", b"{oops"), "overlay.json:"),
    "corrupt-response-schema": (
        lambda p: _schemas(p, f"{API}/response.schema.json", b"\xff\xfe\x00binary"),
        "response.schema.json: not UTF-8 text",
    ),
    "invalid-json-schema": (
        lambda p: _schemas(p, f"{API}/response.schema.json", json.dumps({"type": 5}).encode()),
        "response.schema.json: not a valid JSON Schema",
    ),
    "schema-is-a-folder": (lambda p: _schemas(p, f"{API}/error.schema.json", None), "error.schema.json: a folder"),
    "corrupt-openapi": (lambda p: _schemas(p, "openapi.json", b'{"openapi": "3.1.0", "paths": 5}'), "openapi.json"),
    "binary-baseline": (lambda p: _baseline(p, b"\x89PNG\r\n\x1a\n\x00\xff"), "is not UTF-8 text"),
    "baseline-is-a-folder": (lambda p: _baseline(p, None), "is not a file"),
    "baseline-entry-not-an-object": (
        lambda p: _baseline(p, json.dumps({"baselineFormat": 1, "findings": ["x"]}).encode()),
        "entry 1 is not an object",
    ),
    "baseline-entry-lacks-fields": (
        lambda p: _baseline(p, json.dumps({"baselineFormat": 1, "findings": [{"key": "k"}]}).encode()),
        "entry 1 lacks api, case",
    ),
    "baseline-findings-not-a-list": (
        lambda p: _baseline(p, json.dumps({"baselineFormat": 1, "findings": 3}).encode()),
        "'findings' must be a list",
    ),
}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["in-process", "xdist"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_message_and_exit_4(tmp_path: Path, case: str, workers: list[str]) -> None:
    make, message = BAD_INPUTS[case]
    reports = tmp_path / "reports"
    run = run_suite(reports, *make(tmp_path), *workers, timeout=120)
    assert run.returncode == 4, run.output
    assert message in run.output, run.output
    assert run.output.count("ERROR: ") == 1, run.output  # pytest's usage-error line, once
    for noise in ("INTERNALERROR", "Traceback", "FAILED", "passed"):
        assert noise not in run.output, run.output
    if case != "report-dir-is-a-file":
        assert run.results is not None
        assert run.results["meta"]["verdict"] == "NOT RUN"
        assert message in run.results["meta"]["reason"]
