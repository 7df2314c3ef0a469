"""``python -m benchmarks.run --writes``: the writes-mode run's wall clock and the share of it spent polling.

The suite's writes mode (``--zstack-allow-writes``, results ``meta.polling``) may not exist in this tree, so the
subprocess is replaced by a fake that answers the way the suite will (or the way pytest refuses an unknown flag).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run as bench
from zstack_contract.settings import DEFAULT_EXAMPLES

POLLING = {"jobs": 7, "polls": 21, "pollingSeconds": 1.5}


def _fake_run(monkeypatch: pytest.MonkeyPatch, meta: dict[str, Any] | None, *, stderr: str = "") -> list[list[str]]:
    """Replace the subprocess: write a results file with ``meta`` into the run's report folder (None: none)."""
    commands: list[list[str]] = []

    def fake(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        reports = Path(command[command.index("--zstack-report-dir") + 1])
        if meta is not None:
            full = {"examples": DEFAULT_EXAMPLES, "requestsSent": 300, **meta}
            (reports / "contract-results.json").write_text(json.dumps({"meta": full, "records": []}))
            return subprocess.CompletedProcess(command, 0, "170 passed in 6.00s\n", stderr)
        return subprocess.CompletedProcess(command, 4, "", stderr)

    monkeypatch.setattr(bench, "_run", fake)
    return commands


def test_writes_run_sends_the_flag_and_reads_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _fake_run(monkeypatch, {"writes": True, "polling": POLLING})
    sample = bench.contract_run_once(DEFAULT_EXAMPLES, writes=True)
    assert bench.WRITES_FLAG in commands[0]
    assert sample.polling == bench.Polling(jobs=7, polls=21, seconds=1.5)
    assert sample.requests == 300
    assert sample.in_session_seconds == 6.0


def test_default_run_sends_no_writes_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _fake_run(monkeypatch, {"writes": False})
    sample = bench.contract_run_once(DEFAULT_EXAMPLES)
    assert bench.WRITES_FLAG not in commands[0]
    assert sample.polling is None


def test_missing_flag_is_reported_not_crashed(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = "ERROR: usage: __main__.py [options] [file_or_dir] ...\n__main__.py: error: unrecognized arguments: "
    _fake_run(monkeypatch, None, stderr=usage + bench.WRITES_FLAG + "\n")
    with pytest.raises(bench.BenchmarkError, match="has no --zstack-allow-writes option"):
        bench.contract_run_once(DEFAULT_EXAMPLES, writes=True)
    assert bench.main(["--writes", "--repeat", "1"]) == 2


def test_a_run_that_ignored_the_flag_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_run(monkeypatch, {"writes": False, "polling": POLLING})
    with pytest.raises(bench.BenchmarkError, match="did not run in writes mode"):
        bench.contract_run_once(DEFAULT_EXAMPLES, writes=True)


@pytest.mark.parametrize(
    "polling", [{"jobs": 1}, {"jobs": "x", "polls": 1, "pollingSeconds": 1}, "1.5"], ids=["partial", "bad", "str"]
)
def test_malformed_polling_is_an_error(monkeypatch: pytest.MonkeyPatch, polling: object) -> None:
    _fake_run(monkeypatch, {"writes": True, "polling": polling})
    with pytest.raises(bench.BenchmarkError, match=r"meta\.polling"):
        bench.contract_run_once(DEFAULT_EXAMPLES, writes=True)


def test_report_shows_wall_and_polling_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_run(monkeypatch, {"writes": True, "polling": POLLING})
    clock = iter([0.0, 10.0, 100.0, 112.0, 200.0, 230.0])  # walls 10 s, 12 s, 30 s
    monkeypatch.setattr("benchmarks.run.time.perf_counter", lambda: next(clock))
    run = bench.measure_writes(3, DEFAULT_EXAMPLES)
    assert run.wall.median == 12.0
    share = run.polling_share
    assert share is not None
    assert (share.median, share.min, share.max) == (1.5 / 12, 1.5 / 30, 1.5 / 10)
    facts = bench.machine_facts(3, DEFAULT_EXAMPLES)
    targets = bench.evaluate_writes(run)
    text = bench.format_writes_report(facts, run, targets)
    assert "12.00 (10.00..30.00)" in text
    assert "7 jobs, 21 polls, 1.50 (1.50..1.50) s polling = 12.5% (5.0%..15.0%) of wall, 25.0% of in-session" in text
    assert "writes-mode run <= 20 s wall: PASS (12.00 s)" in text
    data = run.to_json()
    assert data["pollingShareOfWall"]["median"] == 0.125
    assert data["samples"][0]["polling"] == POLLING


def test_report_without_polling_figures_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_run(monkeypatch, {"writes": True})
    clock = iter([0.0, 25.0])
    monkeypatch.setattr("benchmarks.run.time.perf_counter", lambda: next(clock))
    run = bench.measure_writes(1, DEFAULT_EXAMPLES)
    text = bench.format_writes_report(bench.machine_facts(1, DEFAULT_EXAMPLES), run, bench.evaluate_writes(run))
    assert "polling: n/a" in text
    assert "FAIL (25.00 s)" in text
    assert "pollingShareOfWall" not in run.to_json()
