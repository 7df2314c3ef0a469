"""Speed benchmark: the default contract run, a bare requests loop and ``schemathesis run``, on the embedded mock.

Run from the repository root::

    python -m benchmarks.run [--repeat N] [--json PATH]
    python -m benchmarks.run --writes [--repeat N] [--json PATH]

It measures, side by side and interleaved repetition by repetition:

(a) the default contract run (``pytest tests/contract``) as a subprocess, interpreter start-up included;
(b) a bare ``requests.Session`` loop sending as many valid GETs as (a) sent: the practical limit of the mock;
(c) ``schemathesis run`` on ``schemas/openapi.json`` with the suite's example budget.

With ``--writes`` it measures instead the writes-mode run (``pytest tests/contract --zstack-allow-writes``,
the same way as (a)) and how much of it is spent polling async jobs: ``meta.polling.pollingSeconds`` of the
results file over the run's wall clock.

It prints medians (with min..max) and the verdicts on the project's speed targets. A missed target is a
result, not an error: the exit code is 0 whenever all measurements were taken, 2 when one could not be (with
``--writes``, also when this tree's suite has no ``--zstack-allow-writes``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from hashlib import sha512
from importlib import metadata
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import requests

from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.settings import DEFAULT_EXAMPLES

REPO_ROOT = Path(__file__).resolve().parent.parent
OPENAPI = REPO_ROOT / "schemas" / "openapi.json"
LOGIN_PATH = "/zstack/v1/accounts/login"
API_PATH = "/zstack/v1/database-backups/image-store"

REQUEST_TIMEOUT_SECONDS = 10.0
# A run takes seconds; the cap only turns a hang into an error instead of a stalled benchmark.
SUBPROCESS_TIMEOUT_SECONDS = 300.0

WALL_TARGET_SECONDS = 10.0
RATE_TARGET_RATIO = 0.5
# Issue 9: the writes-mode run against the embedded mock, on the 2-core machine.
WRITES_WALL_TARGET_SECONDS = 20.0
WRITES_FLAG = "--zstack-allow-writes"

# pytest's closing line, e.g. "18 passed, 6 xfailed in 1.98s" (or "... in 65.01s (0:01:05)").
_PYTEST_DURATION = re.compile(r"\bin (\d+(?:\.\d+)?)s\b")
# Environment that would turn "the default run" into another run (or point it at a real node).
_STRIPPED_ENV_PREFIXES = ("ZSTACK_", "PYTEST_ADDOPTS")
_VERSIONED_PACKAGES = ("pytest", "hypothesis", "schemathesis", "requests", "werkzeug")


class BenchmarkError(RuntimeError):
    """A measurement could not be taken. Slow results are reported, never raised."""


@dataclass(frozen=True)
class Polling:
    """What a run spent on async jobs, from its results file's ``meta.polling``."""

    jobs: int
    polls: int
    seconds: float

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Polling | None:
        """None when the results carry no polling figures; a malformed entry is an error, not a zero."""
        polling = meta.get("polling")
        if polling is None:
            return None
        try:
            return cls(int(polling["jobs"]), int(polling["polls"]), float(polling["pollingSeconds"]))
        except (TypeError, KeyError, ValueError):
            raise BenchmarkError(
                f"meta.polling of the results is not {{jobs, polls, pollingSeconds}}: {polling!r}"
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {"jobs": self.jobs, "polls": self.polls, "pollingSeconds": self.seconds}


@dataclass(frozen=True)
class Sample:
    """One repetition of one measurement."""

    wall_seconds: float
    requests: int
    exit_code: int = 0
    in_session_seconds: float | None = None
    # Test time (pytest's call+setup+teardown, from the JUnit file) per API the results file names.
    seconds_per_api: tuple[tuple[str, float], ...] = ()
    polling: Polling | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "wallSeconds": self.wall_seconds,
            "requests": self.requests,
            "exitCode": self.exit_code,
            "inSessionSeconds": self.in_session_seconds,
            "secondsPerApi": dict(self.seconds_per_api),
        }
        if self.polling is not None:
            data["polling"] = self.polling.to_json()
        return data


@dataclass(frozen=True)
class Spread:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def seconds(self) -> str:
        return f"{self.median:.2f} ({self.min:.2f}..{self.max:.2f})"


@dataclass(frozen=True)
class Measurement:
    name: str
    samples: tuple[Sample, ...]

    @property
    def wall(self) -> Spread:
        return Spread.of([s.wall_seconds for s in self.samples])

    @property
    def requests(self) -> int:
        # median_low keeps a request count an actual count; every repetition should agree anyway.
        return int(statistics.median_low([s.requests for s in self.samples]))

    @property
    def rate(self) -> float:
        return self.requests / self.wall.median

    @property
    def in_session(self) -> Spread | None:
        values = [s.in_session_seconds for s in self.samples if s.in_session_seconds is not None]
        return Spread.of(values) if len(values) == len(self.samples) else None

    @property
    def exit_codes(self) -> list[int]:
        return sorted({s.exit_code for s in self.samples})

    @property
    def seconds_per_api(self) -> dict[str, Spread]:
        apis = sorted({api for s in self.samples for api, _ in s.seconds_per_api})
        return {api: Spread.of([dict(s.seconds_per_api).get(api, 0.0) for s in self.samples]) for api in apis}

    @property
    def polling_seconds(self) -> Spread | None:
        """Seconds spent polling, when every repetition's results carried them."""
        values = [s.polling.seconds for s in self.samples if s.polling is not None]
        return Spread.of(values) if values and len(values) == len(self.samples) else None

    @property
    def polling_share(self) -> Spread | None:
        """pollingSeconds / wall clock, per repetition."""
        values = [s.polling.seconds / s.wall_seconds for s in self.samples if s.polling is not None]
        return Spread.of(values) if values and len(values) == len(self.samples) else None

    def to_json(self) -> dict[str, Any]:
        in_session = self.in_session
        data: dict[str, Any] = {
            "samples": [s.to_json() for s in self.samples],
            "wallSeconds": asdict(self.wall),
            "requests": self.requests,
            "requestsPerSecond": self.rate,
            "inSessionSeconds": None if in_session is None else asdict(in_session),
            "exitCodes": self.exit_codes,
            "secondsPerApi": {api: asdict(spread) for api, spread in self.seconds_per_api.items()},
        }
        polling, share = self.polling_seconds, self.polling_share
        if polling is not None and share is not None:
            data["pollingSeconds"] = asdict(polling)
            data["pollingShareOfWall"] = asdict(share)
        return data


@dataclass(frozen=True)
class Results:
    contract: Measurement
    bare: Measurement
    cli: Measurement


@dataclass(frozen=True)
class Target:
    name: str
    passed: bool
    detail: str


# --- subprocesses ---------------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_ENV_PREFIXES)}
    # All traffic goes to the mock on 127.0.0.1: a configured proxy must never see it.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=_child_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=SUBPROCESS_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{command[0]} ... did not finish in {SUBPROCESS_TIMEOUT_SECONDS:g} s") from None


def _tail(done: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-lines:])


def _in_session_seconds(stdout: str) -> float | None:
    lines = [line for line in stdout.splitlines() if line.strip()]
    match = _PYTEST_DURATION.search(lines[-1]) if lines else None
    return float(match.group(1)) if match else None


def seconds_per_api(junit_xml: Path, results: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    """Each API's share of the test time: a test's JUnit time goes to the API its result records name."""
    api_of: dict[str, str] = {}
    for record in results.get("records", []):
        if record.get("api") and record.get("family") != "docs":
            api_of.setdefault(record["test"], record["api"])
    totals: dict[str, float] = {}
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        nodeid = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        api = api_of.get(nodeid, "(no API: skipped or set-up only)")
        totals[api] = totals.get(api, 0.0) + float(case.get("time") or 0.0)
    return tuple(sorted(totals.items(), key=lambda item: -item[1]))


def _schemathesis_command() -> list[str]:
    # The console script of this interpreter's environment, so the CLI measured is the installed one.
    script = Path(sys.executable).parent / "schemathesis"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "schemathesis.cli"]


# --- the mock -------------------------------------------------------------------------------------------


def _http_session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # no proxy or netrc between us and 127.0.0.1
    return http


def login(http: requests.Session, base_url: str) -> str:
    """A real session uuid from the mock, the way the suite logs in."""
    password = sha512(ADMIN_PASSWORD.encode("utf-8")).hexdigest()
    body = {"logInByAccount": {"accountName": ADMIN_ACCOUNT, "password": password}}
    response = http.put(base_url + LOGIN_PATH, json=body, timeout=REQUEST_TIMEOUT_SECONDS)
    if response.status_code != 200:
        raise BenchmarkError(f"login to the mock answered HTTP {response.status_code}: {response.text[:200]}")
    return str(response.json()["inventory"]["uuid"])


# --- the three measurements -----------------------------------------------------------------------------


def contract_run_once(examples: int, *, writes: bool = False) -> Sample:
    """(a) The default contract run, timed from outside: interpreter start-up and report writing included.

    ``writes``: the same run with ``--zstack-allow-writes``; its results must say so (``meta.writes``).
    """
    with tempfile.TemporaryDirectory(prefix="zstack-bench-reports-") as reports:
        command = [sys.executable, "-m", "pytest", "tests/contract", "-q", "-p", "no:cacheprovider"]
        command += ["--zstack-report-dir", reports, *([WRITES_FLAG] if writes else [])]
        started = time.perf_counter()
        done = _run(command, cwd=REPO_ROOT)
        wall = time.perf_counter() - started
        results = Path(reports) / "contract-results.json"
        if not results.is_file():
            if writes and writes_flag_unknown(done.stdout + done.stderr):
                raise BenchmarkError(WRITES_UNAVAILABLE)
            raise BenchmarkError(f"the contract run (exit {done.returncode}) wrote no {results.name}:\n{_tail(done)}")
        data = json.loads(results.read_text(encoding="utf-8"))
        meta = data["meta"]
        junit = Path(reports) / "contract-junit.xml"
        per_api = seconds_per_api(junit, data) if junit.is_file() else ()
    if meta.get("examples") != examples:
        # The comparison with schemathesis assumes both spend the same example budget.
        raise BenchmarkError(f"the contract run used {meta.get('examples')} examples, expected {examples}")
    polling = None
    if writes:
        check_writes_meta(meta)
        polling = Polling.from_meta(meta)
    in_session = _in_session_seconds(done.stdout)
    return Sample(wall, int(meta["requestsSent"]), done.returncode, in_session, per_api, polling)


WRITES_UNAVAILABLE = (
    f"this tree's suite has no {WRITES_FLAG} option (issue 9's writes mode has not landed here): "
    "the writes-mode run cannot be measured"
)


def writes_flag_unknown(output: str) -> bool:
    """pytest's usage error for an option no plugin defines."""
    return "unrecognized arguments" in output and WRITES_FLAG in output


def check_writes_meta(meta: dict[str, Any]) -> None:
    """A run measured as the writes-mode run must have been one (a flag accepted but ignored is not)."""
    if meta.get("writes") is not True:
        raise BenchmarkError(
            f"the run with {WRITES_FLAG} reports meta.writes = {meta.get('writes')!r}, not true: it did not run "
            "in writes mode"
        )


def bare_loop_once(count: int) -> Sample:
    """(b) The same number of valid GETs from one requests.Session, with no checks: what the mock can serve."""
    with MockZStack() as mock, _http_session() as http:
        http.headers["Authorization"] = f"OAuth {login(http, mock.url)}"
        url, params = mock.url + API_PATH, {"url": SEEDED_IMAGE_STORE_URL}
        before = mock.requests_served
        started = time.perf_counter()
        for _ in range(count):
            response = http.get(url, params=params, timeout=REQUEST_TIMEOUT_SECONDS)
            # A loop of error answers would measure the wrong thing; one comparison costs nothing here.
            if response.status_code != 200:
                raise BenchmarkError(f"bare loop: GET {API_PATH} answered HTTP {response.status_code}")
        wall = time.perf_counter() - started
        served = mock.requests_served - before
        mock.check()
    return Sample(wall, served)


def schemathesis_once(examples: int) -> Sample:
    """(c) ``schemathesis run`` with the suite's budget; requests counted by the mock."""
    # A fresh working directory per repetition: the CLI keeps a crash cache (.schemathesis/) and hypothesis
    # data there, which must not land in the repo nor be replayed by the next repetition.
    with MockZStack() as mock, tempfile.TemporaryDirectory(prefix="zstack-bench-st-") as workdir:
        with _http_session() as http:
            session = login(http, mock.url)
        command = [
            *_schemathesis_command(),
            "run",
            str(OPENAPI),
            "--url",
            mock.url,
            "--max-examples",
            str(examples),
            "--header",
            f"Authorization: OAuth {session}",
            "--generation-deterministic",
            # Without it the CLI stops at its first (expected) failure after a handful of requests, which
            # would not be the same budget as the suite's.
            "--continue-on-failure",
            "--workers",
            "1",
            "--request-timeout",
            f"{REQUEST_TIMEOUT_SECONDS:g}",
            "--no-color",
        ]
        before = mock.requests_served
        started = time.perf_counter()
        done = _run(command, cwd=Path(workdir))
        wall = time.perf_counter() - started
        served = mock.requests_served - before
    if served == 0:
        raise BenchmarkError(f"schemathesis run (exit {done.returncode}) sent no request:\n{_tail(done)}")
    return Sample(wall, served, done.returncode)


def measure(repeat: int, examples: int) -> Results:
    contract: list[Sample] = []
    bare: list[Sample] = []
    cli: list[Sample] = []
    # Interleaved, so that whatever else the machine does in the meantime weighs on all three alike.
    for index in range(repeat):
        contract.append(contract_run_once(examples))
        bare.append(bare_loop_once(contract[-1].requests))
        cli.append(schemathesis_once(examples))
        print(
            f"repetition {index + 1}/{repeat}: contract run {contract[-1].wall_seconds:.2f} s, "
            f"bare loop {bare[-1].wall_seconds:.2f} s, schemathesis CLI {cli[-1].wall_seconds:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    return Results(
        Measurement("default contract run", tuple(contract)),
        Measurement("bare requests loop", tuple(bare)),
        Measurement("schemathesis CLI", tuple(cli)),
    )


def measure_writes(repeat: int, examples: int) -> Measurement:
    samples: list[Sample] = []
    for index in range(repeat):
        samples.append(contract_run_once(examples, writes=True))
        sample = samples[-1]
        share = "n/a" if sample.polling is None else f"{sample.polling.seconds / sample.wall_seconds:.0%}"
        print(
            f"repetition {index + 1}/{repeat}: writes-mode run {sample.wall_seconds:.2f} s, polling share {share}",
            file=sys.stderr,
            flush=True,
        )
    return Measurement("writes-mode contract run", tuple(samples))


def evaluate_writes(run: Measurement) -> list[Target]:
    return [
        Target(
            f"writes-mode run <= {WRITES_WALL_TARGET_SECONDS:g} s wall",
            run.wall.median <= WRITES_WALL_TARGET_SECONDS,
            f"{run.wall.median:.2f} s",
        )
    ]


def format_writes_report(facts: dict[str, Any], run: Measurement, targets: list[Target]) -> str:
    bytecode = "PYTHONDONTWRITEBYTECODE=1" if facts["dontWriteBytecode"] else "bytecode cache on"
    versions = ", ".join(f"{name} {version}" for name, version in facts["versions"].items())
    in_session = run.in_session
    session_note = "in-session n/a" if in_session is None else f"in-session {in_session.seconds()} s"
    lines = [
        f"machine: nproc {facts['nproc']}, {facts['python']}, {facts['platform']}, {bytecode}",
        f"versions: {versions}",
        f"budget: --max-examples {facts['maxExamples']} (DEFAULT_EXAMPLES), {WRITES_FLAG}; "
        f"median of {facts['repeat']} (min..max)",
        "",
        f"{'measurement':<26}{'wall s':<22}{'requests':>9}{'req/s':>9}  notes",
        f"{run.name:<26}{run.wall.seconds():<22}{run.requests:>9}{run.rate:>9.1f}  {session_note}; {_exit_note(run)}",
        "",
    ]
    polling, share = run.polling_seconds, run.polling_share
    if polling is None or share is None:
        lines.append("polling: n/a (the results carry no meta.polling {jobs, polls, pollingSeconds})")
    else:
        jobs = int(statistics.median_low([s.polling.jobs for s in run.samples if s.polling is not None]))
        polls = int(statistics.median_low([s.polling.polls for s in run.samples if s.polling is not None]))
        of_session = "" if in_session is None else f", {polling.median / in_session.median:.1%} of in-session"
        lines.append(
            f"polling: {jobs} jobs, {polls} polls, {polling.seconds()} s polling = "
            f"{share.median:.1%} ({share.min:.1%}..{share.max:.1%}) of wall{of_session}"
        )
    per_api = run.seconds_per_api
    if per_api:
        lines += ["", "cost of each API in the writes-mode run (test seconds, median (min..max)):"]
        ranked = sorted(per_api.items(), key=lambda item: -item[1].median)
        lines += [f"  {api:<48}{spread.seconds()}" for api, spread in ranked]
    lines += ["", "target (the writes-mode run's wall clock, interpreter start-up included):"]
    lines += [f"  {t.name}: {'PASS' if t.passed else 'FAIL'} ({t.detail})" for t in targets]
    return "\n".join(lines)


# --- verdicts and output --------------------------------------------------------------------------------


def evaluate(results: Results) -> list[Target]:
    """The project's three speed targets. All use the wall clock of the default run, start-up included."""
    run, bare, cli = results.contract, results.bare, results.cli
    ratio = run.rate / bare.rate
    in_session = run.in_session
    session_note = (
        "" if in_session is None else f"; in-session rate would give {run.requests / in_session.median / bare.rate:.2f}"
    )
    return [
        Target(
            f"run < {WALL_TARGET_SECONDS:g} s wall",
            run.wall.median < WALL_TARGET_SECONDS,
            f"{run.wall.median:.2f} s",
        ),
        Target(
            "run rate >= 1/2 bare loop",
            ratio >= RATE_TARGET_RATIO,
            f"{ratio:.2f}: {run.rate:.1f} vs {bare.rate:.1f} req/s{session_note}",
        ),
        Target(
            "not slower than schemathesis CLI for the same budget",
            run.wall.median <= cli.wall.median,
            f"{run.wall.median:.2f} s vs {cli.wall.median:.2f} s",
        ),
    ]


def machine_facts(repeat: int, examples: int) -> dict[str, Any]:
    try:
        cores = len(os.sched_getaffinity(0))  # what nproc prints
    except AttributeError:
        cores = os.cpu_count() or 0
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": cores,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        # Inherited by the subprocesses; with it pytest cannot cache its assertion-rewritten plugin modules.
        "dontWriteBytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        "versions": {name: metadata.version(name) for name in _VERSIONED_PACKAGES},
        "repeat": repeat,
        "maxExamples": examples,
    }


def _exit_note(measurement: Measurement) -> str:
    codes = ", ".join(str(code) for code in measurement.exit_codes)
    return f"exit {codes}"


def format_report(facts: dict[str, Any], results: Results, targets: list[Target]) -> str:
    run, bare, cli = results.contract, results.bare, results.cli
    bytecode = "PYTHONDONTWRITEBYTECODE=1" if facts["dontWriteBytecode"] else "bytecode cache on"
    versions = ", ".join(f"{name} {version}" for name, version in facts["versions"].items())
    in_session = run.in_session
    session_note = (
        "in-session n/a"
        if in_session is None
        else f"in-session {in_session.seconds()} s, {run.requests / in_session.median:.1f} req/s"
    )
    rows = [
        (run, f"{session_note}; {_exit_note(run)}"),
        (bare, "same GET, one requests.Session, status check only"),
        (cli, f"{_exit_note(cli)} (its default checks expect 401/405 etc. that ZStack does not answer)"),
    ]
    lines = [
        f"machine: nproc {facts['nproc']}, {facts['python']}, {facts['platform']}, {bytecode}",
        f"versions: {versions}",
        f"budget: --max-examples {facts['maxExamples']} (DEFAULT_EXAMPLES); median of {facts['repeat']} (min..max)",
        "",
        f"{'measurement':<22}{'wall s':<22}{'requests':>9}{'req/s':>9}  notes",
    ]
    lines += [f"{m.name:<22}{m.wall.seconds():<22}{m.requests:>9}{m.rate:>9.1f}  {note}" for m, note in rows]
    per_api = run.seconds_per_api
    if per_api:
        lines += ["", "cost of each API in the default run (test seconds, median (min..max)):"]
        ranked = sorted(per_api.items(), key=lambda item: -item[1].median)
        lines += [f"  {api:<48}{spread.seconds()}" for api, spread in ranked]
    lines += ["", "targets (verdicts use the default run's wall clock, interpreter start-up included):"]
    width = max(len(t.name) for t in targets) + 1
    lines += [f"  {t.name + ':':<{width}} {'PASS' if t.passed else 'FAIL'} ({t.detail})" for t in targets]
    return "\n".join(lines)


def to_json(facts: dict[str, Any], results: Results, targets: list[Target]) -> dict[str, Any]:
    return {
        "machine": facts,
        "contractRun": results.contract.to_json(),
        "bareLoop": results.bare.to_json(),
        "schemathesisCli": results.cli.to_json(),
        "targets": [asdict(t) for t in targets],
        "rateVerdictUses": "wall clock",
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="repetitions per measurement (3)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument(
        "--writes",
        action="store_true",
        help=f"measure the writes-mode run ({WRITES_FLAG}) and its polling share instead",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts(args.repeat, DEFAULT_EXAMPLES)
    if args.writes:
        return main_writes(facts, args)
    try:
        results = measure(args.repeat, DEFAULT_EXAMPLES)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    targets = evaluate(results)
    print(format_report(facts, results, targets))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(facts, results, targets), indent=2) + "\n", encoding="utf-8")
    return 0


def main_writes(facts: dict[str, Any], args: argparse.Namespace) -> int:
    try:
        run = measure_writes(args.repeat, DEFAULT_EXAMPLES)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    targets = evaluate_writes(run)
    print(format_writes_report(facts, run, targets))
    if args.json is not None:
        data = {"machine": facts, "writesRun": run.to_json(), "targets": [asdict(t) for t in targets]}
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
