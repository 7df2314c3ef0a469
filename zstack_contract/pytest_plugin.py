"""pytest glue: options, the target fixture, parametrization from the schema folder, verdicts and reports.

The logic lives in plain modules; this module only wires it into pytest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from zstack_contract import __version__
from zstack_contract.baseline import Baseline, BaselineEntry, BaselineError
from zstack_contract.cases import RequestCase, auth_cases, parameter_cases, positive_values
from zstack_contract.client import Exchange
from zstack_contract.contract import ApiContract, load_catalog
from zstack_contract.findings import Finding
from zstack_contract.mock import UnknownDeviationError
from zstack_contract.mock import resolve as resolve_deviations
from zstack_contract.results import CheckRecord, RunResults
from zstack_contract.settings import OPTIONS, Settings, SettingsError, resolve
from zstack_contract.summary import one_line, summarize
from zstack_contract.target import Target, TargetError, open_target, positive_defaults
from zstack_contract.verdict import Status, Verdict, decide, render

SETTINGS = pytest.StashKey[Settings]()
CATALOG = pytest.StashKey[list[ApiContract]]()
RESULTS = pytest.StashKey[RunResults]()
BASELINE = pytest.StashKey[frozenset[str]]()
LOADED_BASELINE = pytest.StashKey[Baseline]()
FIXED = pytest.StashKey[list[BaselineEntry]]()
RECORD = pytest.StashKey[CheckRecord]()
FAILURE = pytest.StashKey[CheckRecord]()
PENDING = pytest.StashKey[dict[str, tuple[Finding, Exchange]]]()
EXAMPLES = pytest.StashKey[int]()
HYPOTHESIS_PROFILE = "zstack-contract"

HTML_NAME = "contract-report.html"
JUNIT_NAME = "contract-junit.xml"
RESULTS_NAME = "contract-results.json"
# Test module → check family, for records of tests that ended without reaching the judge (errors, crashes).
FAMILY_OF_MODULE = {
    "test_parameters": "parameters",
    "test_auth": "auth",
    "test_response_shape": "shape",
    "test_examples": "examples",
    "test_generated": "generated",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zstack-contract", "ZStack contract suite")
    for spec in OPTIONS:
        help_text = f"{spec.help} [env {spec.env}]"
        if spec.is_flag:
            group.addoption(spec.flag, action="store_true", default=False, dest=spec.name, help=help_text)
        elif spec.multiple:
            group.addoption(
                spec.flag, action="append", default=[], dest=spec.name, metavar=spec.metavar, help=help_text
            )
        else:
            group.addoption(spec.flag, default=None, dest=spec.name, metavar=spec.metavar, help=help_text)


def _has_plugin(config: pytest.Config, *names: str) -> bool:
    """Autoloaded plugins go by their entry-point name, ``-p module`` ones by module name."""
    return any(config.pluginmanager.hasplugin(name) for name in names)


def _is_contract_run(config: pytest.Config) -> bool:
    """True when the run collects the contract suite (reports are written only then)."""
    contract_dir = (config.rootpath / "tests" / "contract").resolve()
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == contract_dir or contract_dir in path.parents or path in contract_dir.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = resolve(config.getoption, rootdir=config.rootpath)
        resolve_deviations(settings.deviations)
        catalog = load_catalog(settings.schemas_dir)
        baseline = (
            Baseline.load(settings.baseline, may_be_missing=settings.update_baseline)
            if settings.baseline is not None
            else Baseline({})
        )
    except (SettingsError, UnknownDeviationError, FileNotFoundError, BaselineError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS] = settings
    config.stash[CATALOG] = catalog
    _load_hypothesis_profile(config, settings)
    config.stash[LOADED_BASELINE] = baseline
    config.stash[BASELINE] = baseline.keys
    config.stash[FIXED] = []
    config.stash[RESULTS] = RunResults(
        meta={
            "suite": f"zstack-contract {__version__}",
            "target": settings.url or "embedded mock",
            "deviations": list(settings.deviations),
            "level": "strict" if settings.strict else "default",
            "seed": settings.seed if settings.seed is not None else "derandomized",
            "examples": settings.examples,
            "schemas": {api.name: api.digest for api in catalog},
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )
    if settings.report_dir is not None and _is_contract_run(config) and not hasattr(config, "workerinput"):
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        # Set before pytest-html and junitxml read them in their own pytest_configure (hence tryfirst).
        if getattr(config.option, "htmlpath", None) is None:
            config.option.htmlpath = str(settings.report_dir / HTML_NAME)
            config.option.self_contained_html = True
        if getattr(config.option, "xmlpath", None) is None:
            config.option.xmlpath = str(settings.report_dir / JUNIT_NAME)
    config.pluginmanager.register(RecordCollector(config), "zstack-contract-records")
    if _has_plugin(config, "html", "pytest_html.plugin"):
        from zstack_contract.html_report import HtmlReportHooks

        config.pluginmanager.register(HtmlReportHooks(config), "zstack-contract-html")


def pytest_sessionstart(session: pytest.Session) -> None:
    # pytest-metadata fills its table in its own pytest_configure, after ours: add to it here.
    config = session.config
    _set_metadata(config, config.stash[SETTINGS], config.stash[CATALOG])


def _set_metadata(config: pytest.Config, settings: Settings, catalog: list[ApiContract]) -> None:
    """The report header's environment table (pytest-metadata): facts of the run, never a secret."""
    if not _has_plugin(config, "metadata", "pytest_metadata.plugin"):
        return
    from pytest_metadata.plugin import metadata_key

    metadata = config.stash[metadata_key]
    metadata["ZStack target"] = settings.url or "embedded mock"
    metadata["Mock deviations"] = ", ".join(settings.deviations) or "none"
    metadata["Suite"] = f"zstack-contract {__version__}"
    metadata["Contract level"] = settings.level
    metadata["Seed"] = str(settings.seed) if settings.seed is not None else "derandomized (fixed inputs)"
    metadata["Examples per property test"] = str(settings.examples)
    metadata["Schema digests"] = ", ".join(f"{api.name}: {api.digest}" for api in catalog)
    metadata["Baseline"] = str(settings.baseline) if settings.baseline else "none"
    metadata["Date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _load_hypothesis_profile(config: pytest.Config, settings: Settings) -> None:
    """Deterministic by default (CI gating must be reproducible); a seed varies exploration on purpose."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile(
        HYPOTHESIS_PROFILE,
        max_examples=settings.examples,
        derandomize=settings.seed is None,
        database=None,  # no example database written into the checkout
        deadline=None,  # a live node's latency is not the property under test
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=False,
    )
    hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)
    if settings.seed is not None:
        # Read by hypothesis' own pytest_configure, which runs after this one (tryfirst).
        config.option.hypothesis_seed = settings.seed


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    apis = ", ".join(f"{api.name} ({api.digest})" for api in config.stash[CATALOG])
    target = settings.url or f"embedded mock (deviations: {', '.join(settings.deviations) or 'none'})"
    seed = settings.seed if settings.seed is not None else "derandomized (fixed inputs every run)"
    return [
        f"zstack-contract {__version__}: target {target}",
        f"contract level: {settings.level}; timeout {settings.timeout:g}s; "
        f"rate limit {settings.rate_limit:g}/s" + (" (none)" if not settings.rate_limit else ""),
        f"generation: seed {seed}; {settings.examples} examples per property test",
        f"schemas: {settings.schemas_dir} — {apis}",
    ]


@pytest.fixture(scope="session")
def zstack_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved suite options."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def zstack(pytestconfig: pytest.Config) -> Generator[Target, None, None]:
    """The management node under test, reachable and logged in; ends the run with one message if not."""
    settings = pytestconfig.stash[SETTINGS]
    try:
        target = open_target(settings)
    except TargetError as exc:
        pytest.exit(f"zstack-contract: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    pytestconfig.stash[RESULTS].meta["version"] = target.version
    pytestconfig.stash[RESULTS].meta["target"] = target.description
    if _has_plugin(pytestconfig, "metadata", "pytest_metadata.plugin"):
        from pytest_metadata.plugin import metadata_key

        pytestconfig.stash[metadata_key]["ZStack version"] = target.version or "unknown (GetVersion not answered)"
    try:
        yield target
    finally:
        pytestconfig.stash[RESULTS].meta["requestsSent"] = target.client.requests_sent
        if target.mock is not None:
            target.mock.check()
        target.close()


def _cases_for(config: pytest.Config, build: Callable[..., list[RequestCase]]) -> list[Any]:
    settings = config.stash[SETTINGS]
    params = []
    for api in config.stash[CATALOG]:
        positive = positive_values(api, positive_defaults(settings))
        for case in build(api, positive):
            params.append(pytest.param(api, case, id=f"{api.name}-{case.id}"))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests name what they check (``api``, ``param_case``, ``auth_case``); the schema folder says what to check."""
    config = metafunc.config
    if "param_case" in metafunc.fixturenames:
        metafunc.parametrize(("api", "param_case"), _cases_for(config, parameter_cases))
    elif "auth_case" in metafunc.fixturenames:
        metafunc.parametrize(("api", "auth_case"), _cases_for(config, auth_cases))
    elif "api" in metafunc.fixturenames:
        catalog = config.stash[CATALOG]
        metafunc.parametrize("api", catalog, ids=[api.name for api in catalog])


def positive_or_skip(api: ApiContract, settings: Settings) -> dict[str, str]:
    """Values for a call that should succeed, or a skip that says which option supplies them."""
    positive = positive_values(api, positive_defaults(settings))
    if positive.missing:
        flags = " ".join(
            "--zstack-image-store-url URL" if name == "url" else f"--zstack-param {name}=VALUE"
            for name in positive.missing
        )
        pytest.skip(f"{api.name}: no value for required parameter(s) {', '.join(positive.missing)}; pass {flags}")
    if not api.is_read_only:
        pytest.skip(f"{api.name} is {api.spec.method}: the suite never calls APIs that may change state")
    return dict(positive.values)


class Judge:
    """Turns findings into the test's outcome and records them for the reports."""

    def __init__(self, item: pytest.Item, settings: Settings, known: frozenset[str]) -> None:
        self.item = item
        self.settings = settings
        self.known = known
        # Rewriting the baseline: every finding of this run is accepted, so the run completes and records all.
        self.accept_all = settings.update_baseline

    def __call__(
        self,
        api: ApiContract,
        family: str,
        case: str,
        findings: Iterable[Finding],
        exchanges: Iterable[Exchange] = (),
        rule: str = "",
    ) -> Verdict:
        findings = list(findings)
        exchanges = list(exchanges)
        verdict = decide(findings, strict=self.settings.strict, known=self.known, accept_all=self.accept_all)
        evidence = "\n".join(ex.describe() for ex in exchanges)
        message = render(verdict, evidence) if findings else ""
        self.item.stash[RECORD] = CheckRecord(
            test=self.item.nodeid,
            api=api.name,
            family=family,
            case=case,
            rule=rule or (findings[0].rule if findings else ""),
            level=max((f.level.value for f in findings), default="must"),
            outcome=verdict.status.value,
            message=message,
            findings=list(verdict.findings),
            evidence=exchanges[-1].to_json() if exchanges else None,
        )
        if verdict.status is Status.FAILED:
            pytest.fail(message, pytrace=False)
        if verdict.status is not Status.PASSED:
            first = verdict.findings[0]
            label = {Status.REPORTED: "SHOULD (not gating)", Status.DOC: "DOC FINDING", Status.BASELINED: "BASELINED"}
            pytest.xfail(
                f"{label[verdict.status]}: {first.rule} at {first.path}: expected {first.expected}; got {first.actual}"
                + (f" (+{len(verdict.findings) - 1} more)" if len(verdict.findings) > 1 else "")
            )
        return verdict

    def collect(
        self, api: ApiContract, family: str, case: str, findings: Iterable[Finding], exchange: Exchange
    ) -> None:
        """For generated examples: raise on gating findings (so hypothesis shrinks), keep the rest for the end."""
        findings = list(findings)
        self.item.stash[EXAMPLES] = self.item.stash.get(EXAMPLES, 0) + 1
        verdict = decide(findings, strict=self.settings.strict, known=self.known, accept_all=self.accept_all)
        pending = self.item.stash.setdefault(PENDING, {})
        for f in verdict.reported + verdict.baselined:
            pending.setdefault(f.key, (f, exchange))
        record = CheckRecord(
            self.item.nodeid,
            api.name,
            family,
            case,
            findings[0].rule if findings else "generated",
            "must",
            verdict.status.value,
        )
        self.item.stash[RECORD] = record
        if verdict.status is Status.FAILED:
            record.message = render(verdict, exchange.describe())
            record.findings = list(verdict.findings)
            record.evidence = exchange.to_json()
            # Hypothesis replays the minimal failing example last but may run passing ones after it.
            self.item.stash[FAILURE] = record
            pytest.fail(record.message, pytrace=False)


@pytest.fixture
def judge(request: pytest.FixtureRequest, zstack_settings: Settings) -> Judge:
    """Call with the findings of a check: fails on gating ones, marks reported ones, records all."""
    return Judge(request.node, zstack_settings, request.config.stash[BASELINE])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call" and report.passed and item.stash.get(PENDING, None):
        _report_pending(item, report)
    record = item.stash.get(RECORD, None)
    if report.when == "call" and report.failed and FAILURE in item.stash:
        record = item.stash[RECORD] = item.stash[FAILURE]
    if record is not None and report.when == "call" and report.failed and record.outcome != Status.FAILED.value:
        # Failed outside the judge (an assertion in the test, or hypothesis' final replay of a generated case).
        record.outcome = Status.FAILED.value
        record.message = record.message or str(report.longrepr)[-4000:]
    if record is not None and report.when == "call":
        report.user_properties.append(("zstack_outcome", record.outcome))
        if record.rule:
            report.user_properties.append(("zstack_rule", record.rule))
        if record.findings:
            from pytest_html import extras

            from zstack_contract.html_report import findings_html

            report.extras = [*getattr(report, "extras", []), extras.html(findings_html(record))]
    ended = report.when == "call" or (report.when == "setup" and (report.skipped or report.failed))
    if ended:
        if record is None:
            record = _record_without_judge(item, report)
        # Carried on the report so that it reaches the controller under pytest-xdist (reports are serialised).
        report.zstack_record = record.to_json()
    return report


class RecordCollector:
    """Gathers the records where reports arrive: in-process, or on the xdist controller."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "zstack_record", None)
        if data is not None:
            self.config.stash[RESULTS].records.append(CheckRecord.from_json(data))


def _record_without_judge(item: pytest.Item, report: pytest.TestReport) -> CheckRecord:
    """A test that ended before its judge (skip, setup error, crash) still counts, under its API and family."""
    callspec = getattr(item, "callspec", None)
    api = callspec.params.get("api") if callspec is not None else None
    module = getattr(getattr(item, "module", None), "__name__", "").rsplit(".", 1)[-1]
    outcome = "skipped" if report.skipped else ("failed" if report.failed else "passed")
    return CheckRecord(
        test=item.nodeid,
        api=api.name if isinstance(api, ApiContract) else "(suite)",
        family=FAMILY_OF_MODULE.get(module, module),
        case="",
        rule="",
        level="must",
        outcome=outcome,
        message=str(report.longrepr)[-2000:] if report.longrepr else "",
    )


def _report_pending(item: pytest.Item, report: pytest.TestReport) -> None:
    """A generated test whose examples broke only non-gating rules ends as xfailed, with every finding listed."""
    pending = item.stash[PENDING]
    findings = [f for f, _ in pending.values()]
    settings = item.config.stash[SETTINGS]
    verdict = decide(
        findings, strict=settings.strict, known=item.config.stash[BASELINE], accept_all=settings.update_baseline
    )
    evidence = "\n".join(ex.describe() for _, ex in pending.values())
    record = item.stash[RECORD]
    record.outcome = verdict.status.value
    record.findings = list(verdict.findings)
    record.message = render(verdict, evidence)
    record.evidence = next(iter(pending.values()))[1].to_json()
    first = findings[0]
    report.outcome = "skipped"
    report.wasxfail = (
        f"{'BASELINED' if verdict.status is Status.BASELINED else 'SHOULD (not gating)'}: {first.rule} at "
        f"{first.path} ({first.case}): expected {first.expected}; got {first.actual}"
        + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else "")
    )
    report.sections.append(("zstack-contract findings", record.message))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Runs before pytest-html and junitxml write theirs: settle the baseline, then write the JSON results."""
    config = session.config
    settings = config.stash.get(SETTINGS, None)
    if settings is None or hasattr(config, "workerinput"):
        return
    _settle_baseline(config)
    if settings.report_dir is None or not _is_contract_run(config):
        return
    results = config.stash[RESULTS]
    results.meta["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results.meta["exitStatus"] = int(exitstatus)
    results.meta["fixed"] = [e.to_json() for e in config.stash[FIXED]]
    results.write(Path(settings.report_dir) / RESULTS_NAME)


def _settle_baseline(config: pytest.Config) -> None:
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


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None or not _is_contract_run(config):
        return
    records = config.stash[RESULTS].records
    terminalreporter.write_sep("=", "zstack-contract conformance")
    terminalreporter.write_line(one_line(summarize(records)))
    for entry in config.stash[FIXED]:
        terminalreporter.write_line(f"fixed since the baseline: {entry.key}")
    if settings.update_baseline and settings.baseline is not None:
        terminalreporter.write_line(f"baseline written: {settings.baseline} (give each new entry a reason)")
    if settings.report_dir is not None:
        terminalreporter.write_line(f"reports: {settings.report_dir}/{HTML_NAME}, {JUNIT_NAME}, {RESULTS_NAME}")
