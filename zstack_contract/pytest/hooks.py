"""The run's reports beyond pytest's own: the JSON results, the baseline, the terminal conformance summary.

A run that did not complete says so everywhere: NOT RUN (exit 4) or INTERRUPTED (exit 2), with the reason,
never a conformance verdict built from the few checks that ran.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from zstack_contract import __version__
from zstack_contract.engine.findings import CheckRecord
from zstack_contract.pytest.stash import (
    CATALOG,
    FIXED,
    HALT,
    HTML_NAME,
    JUNIT_NAME,
    LOADED_BASELINE,
    RESULTS,
    RESULTS_NAME,
    SETTINGS,
    TARGET,
    TRAFFIC,
    WRITES,
    WRITES_DONE,
)
from zstack_contract.pytest.writes import clean_up_target, writes_line
from zstack_contract.reporting.created import created_lines
from zstack_contract.reporting.results import RunResults
from zstack_contract.reporting.summary import (
    INTERRUPTED,
    NOT_EXERCISED,
    NOT_RUN,
    Halt,
    Summary,
    not_exercised_lines,
    not_served_lines,
    one_line,
    summarize,
)
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport import jobs
from zstack_contract.transport.target import Target

NO_AUTHENTICATED_ANSWER = (
    "no request was served under a valid session: {sent} requests were sent and none made with the run's "
    "session was answered HTTP 200, so no check saw the API work (a dead or refused session, or not a "
    "ZStack node); check the session or credentials and that the APIs are served"
)
INTERRUPTED_REASON = "the run was interrupted before it finished: the checks that ran are listed, no verdict is given"
INTERNAL_ERROR_REASON = "the suite itself failed (internal error, see the terminal output): no verdict is given"
USAGE_REASON = "the run was ended early by a usage or configuration error (see the terminal output)"


def traffic(config: pytest.Config) -> dict[str, Any]:
    """Counters of this run's traffic to the node, kept on the config (summed over xdist workers)."""
    if TRAFFIC not in config.stash:
        config.stash[TRAFFIC] = {"requestsSent": 0, "authenticatedSuccesses": 0, "version": None, "used": False}
    return config.stash[TRAFFIC]


def note_target(config: pytest.Config, target: Target, *, closing: bool = False) -> None:
    """Record the node's facts when it is opened; add its counters once, when it is closed."""
    counters = traffic(config)
    counters["version"] = counters["version"] or target.version
    results = config.stash.get(RESULTS, None)
    if results is not None:
        results.meta["version"] = counters["version"]
        results.meta["target"] = target.description
    if closing:
        _add_traffic(counters, target.client.requests_sent, target.client.authenticated_successes)


def writes_state(config: pytest.Config) -> dict[str, Any]:
    """What the run created (ledger entries after cleanup), its polling totals and cleanup problems, kept on the
    config: this process's plus, on the xdist controller, every worker's."""
    if WRITES not in config.stash:
        polling = {"jobs": 0, "polls": 0, "pollingSeconds": 0.0}
        config.stash[WRITES] = {"created": [], "polling": polling, "problems": []}
    return config.stash[WRITES]


def _add_writes(state: dict[str, Any], created: list[Any], polling: dict[str, Any], problem: str) -> None:
    state["created"].extend(created)
    for key in ("jobs", "polls", "pollingSeconds"):
        state["polling"][key] = round(state["polling"][key] + polling.get(key, 0), 3)
    if problem:
        state["problems"].append(problem)


def clean_up_writes(config: pytest.Config) -> None:
    """Session end, before any report: remove what this process created, then keep its ledger and polling totals.

    Runs once per process (the worker's ledger then travels to the controller in workeroutput).
    """
    if config.stash.get(WRITES_DONE, False):
        return
    config.stash[WRITES_DONE] = True
    settings = config.stash[SETTINGS]
    catalog: list[ApiContract] = config.stash[CATALOG]
    outcome = clean_up_target(config.stash.get(TARGET, None), catalog, settings)
    _add_writes(writes_state(config), outcome.created, jobs.POLL_STATS.to_json(), outcome.problem)


def _live_counters(config: pytest.Config) -> dict[str, Any]:
    """This process's counters including a node still open (closed only after the reports are written)."""
    counters = dict(traffic(config))
    target = config.stash.get(TARGET, None)
    if target is not None:
        _add_traffic(counters, target.client.requests_sent, target.client.authenticated_successes)
    return counters


def _add_traffic(counters: dict[str, Any], requests_sent: int, authenticated_successes: int) -> None:
    counters["requestsSent"] += requests_sent
    counters["authenticatedSuccesses"] += authenticated_successes


def run_summary(config: pytest.Config) -> Summary:
    """The one summary of this run, halt included: what every report (terminal, HTML, JSON) shows."""
    return summarize(config.stash[RESULTS].records, halt=config.stash.get(HALT, None), of_run=True)


def write_not_run(report_dir: Path, halt: Halt) -> None:
    """Results for a run that ended before it could start: says NOT RUN and why (best effort)."""
    meta = {
        "suite": f"zstack-contract {__version__}",
        "verdict": halt.verdict,
        "reason": halt.reason,
        "exitStatus": int(pytest.ExitCode.USAGE_ERROR),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    # The usage error itself is reported; a report dir that cannot be written is not a second error.
    with contextlib.suppress(OSError):
        RunResults(meta=meta).write(report_dir / RESULTS_NAME)


class ReportingPlugin:
    """Registered once per run by the plugin; ``contract_run`` says whether report files are written."""

    def __init__(self, config: pytest.Config, contract_run: bool) -> None:
        self.config = config
        self.contract_run = contract_run
        self.interruption = ""

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Reports arrive here in-process, or on the xdist controller: the record travels on the report.
        data = getattr(report, "zstack_record", None)
        if data is not None:
            self.config.stash[RESULTS].records.append(CheckRecord.from_json(data))
        halt = getattr(report, "zstack_halt", None)
        if halt is not None and HALT not in self.config.stash:
            self.config.stash[HALT] = Halt.from_json(halt)
        if getattr(report, "zstack_used_target", False):
            traffic(self.config)["used"] = True

    @pytest.hookimpl
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest ends a run whose collection failed the way it ends a Ctrl-C: keep which one it was.
        self.interruption = str(excinfo.value)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """xdist controller: add a finished worker's traffic counters to the run's."""
        data = getattr(node, "workeroutput", {}).get("zstack")
        if not data:
            return
        counters = traffic(self.config)
        _add_traffic(counters, data["requestsSent"], data["authenticatedSuccesses"])
        counters["version"] = counters["version"] or data["version"]
        counters["used"] = counters["used"] or data["used"]
        _add_writes(
            writes_state(self.config), data.get("created", []), data.get("polling", {}), data.get("cleanup", "")
        )
        if data.get("halt") and HALT not in self.config.stash:
            self.config.stash[HALT] = Halt.from_json(data["halt"])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Runs before pytest-html and junitxml write theirs: settle the verdict and the baseline, then write
        the JSON results.

        First of all (also after a failed test or Ctrl-C), the writes of this process are cleaned up: the reports
        list what was created and whether it was removed, and the target logs out only after this.
        """
        config = self.config
        clean_up_writes(config)
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            halt = config.stash.get(HALT, None)
            own = writes_state(config)
            workeroutput["zstack"] = {
                **_live_counters(config),
                "halt": halt.to_json() if halt else None,
                "created": own["created"],
                "polling": own["polling"],
                "cleanup": "; ".join(own["problems"]),
            }
            return
        if not self.contract_run:
            settle_baseline(config)
            return
        counters = _live_counters(config)
        halt = _halt_of_run(config, session, int(exitstatus), counters, self.interruption)
        if halt is not None:
            config.stash[HALT] = halt
            session.exitstatus = (
                pytest.ExitCode.INTERRUPTED
                if halt.verdict == INTERRUPTED
                else pytest.ExitCode.INTERNAL_ERROR
                if exitstatus == pytest.ExitCode.INTERNAL_ERROR
                else pytest.ExitCode.USAGE_ERROR
            )
            _junit_halt(config, halt)
        else:
            # A run that stopped early has not seen every finding: rewriting the baseline would drop entries.
            settle_baseline(config)
        settings = config.stash[SETTINGS]
        if settings.report_dir is None:
            return
        results = config.stash[RESULTS]
        summary = run_summary(config)
        results.meta["verdict"] = summary.verdict
        results.meta["reason"] = summary.reason
        results.meta["notExercised"] = summary.not_exercised
        results.meta["notServed"] = summary.not_served
        results.meta["version"] = counters["version"]
        results.meta["requestsSent"] = counters["requestsSent"]
        results.meta["authenticatedSuccesses"] = counters["authenticatedSuccesses"]
        results.meta["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results.meta["exitStatus"] = int(session.exitstatus)
        results.meta["fixed"] = [e.to_json() for e in config.stash[FIXED]]
        state = writes_state(config)
        results.meta["writes"] = settings.allow_writes
        results.meta["runId"] = settings.run_id
        results.meta["created"] = state["created"]
        results.meta["polling"] = state["polling"]
        results.write(Path(settings.report_dir) / RESULTS_NAME)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.contract_run:
            return
        config = self.config
        settings = config.stash[SETTINGS]
        terminalreporter.write_sep("=", "zstack-contract conformance")
        summary = run_summary(config)
        terminalreporter.write_line(one_line(summary))
        version = _live_counters(config)["version"]
        if version:
            terminalreporter.write_line(f"ZStack version (GetVersion): {version}")
        for line in not_served_lines(summary):
            terminalreporter.write_line(line)
        lines = not_exercised_lines(summary)
        if lines:
            terminalreporter.write_line(
                f"{len(lines)} APIs not exercised (never sent, not counted in the score):"
            )
            for line in lines:
                terminalreporter.write_line(f"  {line}")
        terminalreporter.write_line(writes_line(settings), bold=settings.allow_writes)
        if settings.allow_writes:
            state = writes_state(config)
            for line in created_lines(
                state["created"], run_id=settings.run_id, url=settings.url, problems=state["problems"]
            ):
                loud = line.startswith(("NOT CLEANED UP", "CLEANUP PROBLEM"))
                terminalreporter.write_line(line, red=loud, bold=loud)
            polling = state["polling"]
            terminalreporter.write_line(
                f"async jobs: {polling['jobs']} job(s), {polling['polls']} poll(s), "
                f"{polling['pollingSeconds']:.2f} s polling"
            )
        for entry in config.stash[FIXED]:
            terminalreporter.write_line(f"fixed since the baseline: {entry.key}")
        if settings.update_baseline and settings.baseline is not None and HALT not in config.stash:
            terminalreporter.write_line(f"baseline written: {settings.baseline} (give each new entry a reason)")
        if settings.report_dir is not None:
            terminalreporter.write_line(f"reports: {settings.report_dir}/{HTML_NAME}, {JUNIT_NAME}, {RESULTS_NAME}")


def _halt_of_run(
    config: pytest.Config, session: pytest.Session, exitstatus: int, counters: dict[str, Any], interruption: str
) -> Halt | None:
    """Why this run has no verdict, if it has none."""
    halt = config.stash.get(HALT, None)
    if halt is not None:
        return halt
    if exitstatus == pytest.ExitCode.INTERRUPTED and "during collection" in interruption:
        return Halt(NOT_RUN, f"the tests could not be collected ({interruption}; see the errors above)")
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return Halt(INTERRUPTED, INTERRUPTED_REASON)
    if exitstatus == pytest.ExitCode.USAGE_ERROR:
        return Halt(NOT_RUN, USAGE_REASON)
    if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        return Halt(NOT_RUN, INTERNAL_ERROR_REASON)
    if config.option.collectonly or not session.testscollected or exitstatus != pytest.ExitCode.OK:
        # A run that already fails has its verdict (e.g. api.not-served findings); the rule below stops false passes.
        return None
    if counters["used"] and not counters["authenticatedSuccesses"]:
        # A pass needs evidence: at least one valid request served under the run's session.
        return Halt(NOT_RUN, NO_AUTHENTICATED_ANSWER.format(sent=counters["requestsSent"]))
    return None


def _junit_halt(config: pytest.Config, halt: Halt) -> None:
    """JUnit readers count tests: a halted run shows as one failed case that says why, never as 0 of 0 passed."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for when, outcome in (("call", "failed"), ("teardown", "passed")):
        report = pytest.TestReport(
            nodeid="zstack-contract::run",
            location=("zstack-contract", None, "run"),
            keywords={},
            outcome=outcome,  # type: ignore[arg-type]
            longrepr=f"{halt.verdict}: {halt.reason}" if outcome == "failed" else None,
            when=when,  # type: ignore[arg-type]
        )
        xml.pytest_runtest_logreport(report)


def settle_baseline(config: pytest.Config) -> None:
    """Work out fixed findings and rewrite the baseline if asked (before any report is written)."""
    settings = config.stash[SETTINGS]
    records = config.stash[RESULTS].records
    seen = {f.key for r in records for f in r.findings}
    ran = {(r.api, r.case) for r in records if r.outcome not in ("skipped", NOT_EXERCISED)}
    baseline = config.stash[LOADED_BASELINE]
    config.stash[FIXED] = baseline.fixed(seen, ran)
    if settings.update_baseline and settings.baseline is not None:
        today = dt.datetime.now(dt.UTC).date()
        baseline.updated((f for r in records for f in r.findings), today).write(settings.baseline)
