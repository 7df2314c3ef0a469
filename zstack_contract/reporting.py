"""The run's reports beyond pytest's own: the JSON results, the baseline, the terminal conformance summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from zstack_contract.results import CheckRecord
from zstack_contract.stash import FIXED, HTML_NAME, JUNIT_NAME, LOADED_BASELINE, RESULTS, RESULTS_NAME, SETTINGS
from zstack_contract.summary import one_line, summarize


class ReportingPlugin:
    """Registered once per run by the plugin; ``contract_run`` says whether report files are written."""

    def __init__(self, config: pytest.Config, contract_run: bool) -> None:
        self.config = config
        self.contract_run = contract_run

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Reports arrive here in-process, or on the xdist controller: the record travels on the report.
        data = getattr(report, "zstack_record", None)
        if data is not None:
            self.config.stash[RESULTS].records.append(CheckRecord.from_json(data))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Runs before pytest-html and junitxml write theirs: settle the baseline, then write the JSON results."""
        config = self.config
        if hasattr(config, "workerinput"):
            return
        settle_baseline(config)
        settings = config.stash[SETTINGS]
        if settings.report_dir is None or not self.contract_run:
            return
        results = config.stash[RESULTS]
        results.meta["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results.meta["exitStatus"] = int(exitstatus)
        results.meta["fixed"] = [e.to_json() for e in config.stash[FIXED]]
        results.write(Path(settings.report_dir) / RESULTS_NAME)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.contract_run:
            return
        config = self.config
        settings = config.stash[SETTINGS]
        terminalreporter.write_sep("=", "zstack-contract conformance")
        terminalreporter.write_line(one_line(summarize(config.stash[RESULTS].records)))
        for entry in config.stash[FIXED]:
            terminalreporter.write_line(f"fixed since the baseline: {entry.key}")
        if settings.update_baseline and settings.baseline is not None:
            terminalreporter.write_line(f"baseline written: {settings.baseline} (give each new entry a reason)")
        if settings.report_dir is not None:
            terminalreporter.write_line(f"reports: {settings.report_dir}/{HTML_NAME}, {JUNIT_NAME}, {RESULTS_NAME}")


def settle_baseline(config: pytest.Config) -> None:
    """Work out fixed findings and rewrite the baseline if asked (before any report is written)."""
    settings = config.stash[SETTINGS]
    records = config.stash[RESULTS].records
    seen = {f.key for r in records for f in r.findings}
    ran = {(r.api, r.case) for r in records if r.outcome != "skipped"}
    baseline = config.stash[LOADED_BASELINE]
    config.stash[FIXED] = baseline.fixed(seen, ran)
    if settings.update_baseline and settings.baseline is not None:
        today = dt.datetime.now(dt.UTC).date()
        baseline.updated((f for r in records for f in r.findings), today).write(settings.baseline)
