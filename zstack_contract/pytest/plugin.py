"""pytest glue: options, the target fixture, parametrization from the schema folder, verdicts and reports.

The logic lives in plain modules; this module only wires it into pytest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from zstack_contract import __version__
from zstack_contract.engine.doccheck import doc_records
from zstack_contract.generation.cases import (
    PositiveValues,
    RequestCase,
    auth_cases,
    list_parameter,
    parameter_cases,
    positive_values,
)
from zstack_contract.mock import UnknownDeviationError
from zstack_contract.mock import resolve as resolve_deviations
from zstack_contract.pytest.exercise import (
    READ_METHODS,
    Writes,
    auth_required,
    catalogue_write_only_paths,
    no_auth_apis,
    not_exercised_records,
    read_apis,
)
from zstack_contract.pytest.generated import GENERATED_MARK, OpenApiLoadError, load_openapi
from zstack_contract.pytest.hooks import ReportingPlugin, note_target, write_not_run
from zstack_contract.pytest.judge import (
    Judge,
    finish_report,
    halt_on_target_error,
    known_secrets,
    scrub_report,
    settle_target_error,
)
from zstack_contract.pytest.stash import (
    BASELINE,
    CATALOG,
    CONTRACT_RUN,
    FIXED,
    HALT,
    HTML_NAME,
    JUNIT_NAME,
    LOADED_BASELINE,
    OPENAPI,
    RESULTS,
    RESULTS_NAME,
    SETTINGS,
    TARGET,
)
from zstack_contract.pytest.writes import WORKER_RUN_ID, skip_unless_writes, worker_label, writes_line
from zstack_contract.reporting.baseline import Baseline, BaselineError
from zstack_contract.reporting.results import RunResults
from zstack_contract.reporting.summary import NOT_RUN, Halt
from zstack_contract.settings import OPTIONS, Settings, SettingsError, resolve
from zstack_contract.specs.contract import ApiContract, ContractLoadError, load_catalog
from zstack_contract.transport.lifecycle import Lifecycle, WriteContext, discover, run_lifecycle
from zstack_contract.transport.target import Target, TargetError, open_target, positive_defaults

HYPOTHESIS_PROFILE = "zstack-contract"
REPORT_NAMES = (HTML_NAME, JUNIT_NAME, RESULTS_NAME)


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


def writes_of(settings: Settings) -> Writes:
    """What this run may change: --zstack-allow-writes, and whether the target is the embedded mock."""
    return Writes(allowed=settings.allow_writes, embedded_mock=settings.uses_mock)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: each worker gets the run's id, so everything the run creates shares one prefix."""
    node.workerinput[WORKER_RUN_ID] = node.config.stash[SETTINGS].run_id


def _has_plugin(config: pytest.Config, *names: str) -> bool:
    """Autoloaded plugins go by their entry-point name, ``-p module`` ones by module name."""
    return any(config.pluginmanager.hasplugin(name) for name in names)


def _is_controller(config: pytest.Config) -> bool:
    """The process that writes the reports: the only one without xdist, the controller with it."""
    return not hasattr(config, "workerinput")


def _is_xdist_controller(config: pytest.Config) -> bool:
    return _is_controller(config) and config.pluginmanager.hasplugin("dsession")


def worker_count(config: pytest.Config) -> int:
    """How many processes share the node (and its rate cap): xdist workers, or this one process."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return max(1, int(workerinput.get("workercount", 1)))
    if _is_xdist_controller(config):
        n = getattr(config.option, "numprocesses", None)
        return n if isinstance(n, int) and n > 0 else 1
    return 1


def _is_contract_run(config: pytest.Config) -> bool:
    """True when the run collects the project's contract suite, so it writes the contract reports.

    The contract suite is what the project runs by default: its ini ``testpaths``. A run whose arguments
    overlap them (no arguments, the folder, a module or test in it, or a parent folder) is a contract run; a
    project with no ``testpaths`` runs the plugin for its contract tests only, so every run is one.
    """
    testpaths = [str(p) for p in config.getini("testpaths")]
    if not testpaths:
        return True
    roots = [(config.rootpath / p).resolve() for p in testpaths]
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if any(path == root or root in path.parents or path in root.parents for root in roots):
            return True
    return False


def _prepare_report_dir(report_dir: Path) -> None:
    """Usable, and without an earlier run's reports: an aborted run must not leave old ones looking current."""
    if report_dir.exists() and not report_dir.is_dir():
        raise pytest.UsageError(
            f"--zstack-report-dir {report_dir} is a file, not a folder: give a folder for the reports "
            "(or 'none' to write no reports)"
        )
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        for name in REPORT_NAMES:
            (report_dir / name).unlink(missing_ok=True)
    except OSError as exc:
        raise pytest.UsageError(
            f"--zstack-report-dir {report_dir} cannot be used: {exc.strerror or exc}; give a writable folder"
        ) from None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = resolve(config.getoption, rootdir=config.rootpath)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    controller_run_id = getattr(config, "workerinput", {}).get(WORKER_RUN_ID)
    if controller_run_id:
        # One run id for the whole run: every worker names what it creates with the controller's.
        settings = dataclasses.replace(settings, run_id=controller_run_id)
    contract_run = _is_contract_run(config)
    config.stash[CONTRACT_RUN] = contract_run
    writes_reports = settings.report_dir is not None and contract_run and _is_controller(config)
    if writes_reports:
        assert settings.report_dir is not None
        # First, before anything can fail or be interrupted: the previous run's reports go.
        _prepare_report_dir(settings.report_dir)
    try:
        resolve_deviations(settings.deviations)
        catalog = load_catalog(settings.schemas_dir)
        baseline = (
            Baseline.load(settings.baseline, may_be_missing=settings.update_baseline)
            if settings.baseline is not None
            else Baseline({})
        )
        if contract_run:
            config.stash[OPENAPI] = load_openapi(settings.schemas_dir)
    except (UnknownDeviationError, ContractLoadError, BaselineError, OpenApiLoadError) as exc:
        if writes_reports:
            assert settings.report_dir is not None
            write_not_run(settings.report_dir, Halt(NOT_RUN, str(exc)))
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS] = settings
    config.stash[CATALOG] = catalog
    _hypothesis_home()
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
            "writes": settings.allow_writes,
            "runId": settings.run_id,
        },
        # The page's own inconsistencies are facts of the catalogue, not outcomes of a test against the server.
        # So are the APIs the run leaves alone (all state-changing ones when read-only): listed once each, with the
        # reason, never a test outcome.
        records=doc_records(catalog) + not_exercised_records(catalog, writes_of(settings)),
    )
    if writes_reports:
        assert settings.report_dir is not None
        # Set before pytest-html and junitxml read them in their own pytest_configure (hence tryfirst).
        if getattr(config.option, "htmlpath", None) is None:
            config.option.htmlpath = str(settings.report_dir / HTML_NAME)
            config.option.self_contained_html = True
        if getattr(config.option, "xmlpath", None) is None:
            config.option.xmlpath = str(settings.report_dir / JUNIT_NAME)
    config.pluginmanager.register(ReportingPlugin(config, contract_run), "zstack-contract-reporting")
    if _has_plugin(config, "html", "pytest_html.plugin"):
        from zstack_contract.pytest.html_report import HtmlReportHooks

        config.pluginmanager.register(HtmlReportHooks(config), "zstack-contract-html")


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Reach the node once, before any test (and before xdist workers start theirs): a node that cannot be
    reached or logged into ends the run here with one message, exit 4 and NOT RUN reports."""
    config = session.config
    if not config.stash.get(CONTRACT_RUN, False) or not _is_controller(config) or config.option.collectonly:
        return
    try:
        target = open_target(
            config.stash[SETTINGS],
            workers=worker_count(config),
            write_only=_write_only(config),
        )
    except TargetError as exc:
        config.stash[HALT] = Halt(NOT_RUN, str(exc))
        # The reason is printed once, in the conformance summary; the exit line only points there.
        pytest.exit("zstack-contract: NOT RUN (the reason is in the conformance summary above)", returncode=4)
    note_target(config, target)
    config.stash[TARGET] = target
    if _is_xdist_controller(config):
        # The workers open their own; this one only proved the node is there.
        _close_target(config)


def _write_only(config: pytest.Config) -> tuple[re.Pattern[str], ...]:
    catalog: list[ApiContract] = config.stash[CATALOG]
    return catalogue_write_only_paths(catalog)


def _close_target(config: pytest.Config) -> None:
    target = config.stash.get(TARGET, None)
    if target is None:
        return
    del config.stash[TARGET]
    note_target(config, target, closing=True)
    target.close()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # After the reports: the counters of the node's traffic are read from the open target first.
    _close_target(session.config)


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
    metadata["Positive values"] = _positive_summary(settings)
    metadata["Auth"] = _auth_summary(settings)
    metadata["Writes"] = writes_line(settings)
    metadata["Schema digests"] = ", ".join(f"{api.name}: {api.digest}" for api in catalog)
    metadata["Baseline"] = str(settings.baseline) if settings.baseline else "none"
    metadata["Date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hypothesis_home() -> None:
    from hypothesis.configuration import set_hypothesis_home_dir

    # Hypothesis keeps caches (constants, unicode data) in its home dir, by default ./.hypothesis: a run against
    # a cloud must leave the checkout as it found it.
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "zstack-contract-hypothesis")


def suite_hypothesis_settings(settings: Settings) -> Any:
    """The contract tests' hypothesis settings, applied to those tests only (never loaded for the process).

    Deterministic by default (CI gating must be reproducible); a seed varies exploration on purpose.
    """
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    return hypothesis_settings(
        max_examples=settings.examples,
        derandomize=settings.seed is None,
        database=None,  # no example database written into the checkout
        deadline=None,  # a live node's latency is not the property under test
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=False,
    )


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Generated tests are built from the schema folder of this run (``--zstack-schemas``), not from a path
    fixed at import: a module's function marked with ``generated_contract_test`` is parametrized here, before
    pytest (and schemathesis' plugin) collect it."""
    if not isinstance(collector, pytest.Module):
        return
    try:
        module = collector.obj
    except Exception:
        return
    for name, func in list(vars(module).items()):
        if getattr(func, GENERATED_MARK, None) is not True:
            continue
        config = collector.config
        schema = config.stash.get(OPENAPI, None)
        if schema is None:
            try:
                schema = config.stash[OPENAPI] = load_openapi(config.stash[SETTINGS].schemas_dir)
            except OpenApiLoadError as exc:
                raise pytest.UsageError(str(exc)) from None
        # Explicit settings under schemathesis' decorator: schemathesis then takes them over the project config.
        # Only what a read-only run may send: the operations of read APIs (state-changing ones are reported as
        # not exercised, never generated for).
        readable = schema.include(method=list(READ_METHODS))
        test = readable.parametrize()(suite_hypothesis_settings(config.stash[SETTINGS])(func))
        setattr(test, GENERATED_MARK, "built")
        setattr(module, name, test)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """The suite's hypothesis settings and its node-error guard go on the contract's property tests only."""
    from hypothesis import seed as hypothesis_seed
    from hypothesis import settings as hypothesis_settings
    from hypothesis.internal.detection import is_hypothesis_test

    settings = session.config.stash[SETTINGS]
    suite = suite_hypothesis_settings(settings)
    for item in items:
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and node_id is not None and getattr(node_id, "params", "") is None:
            # schemathesis names each operation's item "test[GET /path]", but pytest 9 builds the node id from
            # the function's name and call-spec only, so every generated test of the family would share one id in
            # the results, JUnit and baselines: the operation becomes the id's parameter.
            setattr(item, "_id", node_id.with_params(label))  # noqa: B010 (pytest keeps no public setter)
        obj: Any = getattr(item, "obj", None)
        if "zstack" not in getattr(item, "fixturenames", ()) or not is_hypothesis_test(obj):
            continue
        if getattr(obj, "_zstack_prepared", False):
            continue
        inner = obj.hypothesis.inner_test
        if not getattr(inner, "_hypothesis_internal_settings_applied", False):
            hypothesis_settings(suite)(obj)
        if settings.seed is not None:
            hypothesis_seed(settings.seed)(obj)
        obj.hypothesis.inner_test = halt_on_target_error(inner, session)
        obj._zstack_prepared = True


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    apis = ", ".join(f"{api.name} ({api.digest})" for api in config.stash[CATALOG])
    target = settings.url or f"embedded mock (deviations: {', '.join(settings.deviations) or 'none'})"
    seed = settings.seed if settings.seed is not None else "derandomized (fixed inputs every run)"
    return [
        f"zstack-contract {__version__}: target {target}",
        writes_line(settings),
        f"contract level: {settings.level}; timeout {settings.timeout:g}s; "
        f"rate limit {settings.rate_limit:g}/s" + (" (none)" if not settings.rate_limit else ""),
        f"generation: seed {seed}; {settings.examples} examples per property test",
        f"positive values: {_positive_summary(settings)}; auth: {_auth_summary(settings)}",
        f"schemas: {settings.schemas_dir} — {apis}",
    ]


def _positive_summary(settings: Settings) -> str:
    values = positive_defaults(settings)
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "none (positive calls are skipped)"


def _auth_summary(settings: Settings) -> str:
    """How the suite authenticates, never with what: the session and password stay out of every output."""
    if settings.session is not None:
        return "the session given with --zstack-session" + (
            f" (and account {settings.account} for throwaway sessions)" if settings.account else ""
        )
    return f"login as {settings.account or 'admin (the mock default)'}"


@pytest.fixture(scope="session")
def zstack_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved suite options."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def zstack(pytestconfig: pytest.Config) -> Generator[Target, None, None]:
    """The management node under test, reachable and logged in.

    Opened once per process (by the run's preflight, or here in an xdist worker); a node that cannot be opened
    raises TargetError, which ends the run NOT RUN with one message (see judge.settle_target_error).
    """
    target = pytestconfig.stash.get(TARGET, None)
    if target is None:
        target = open_target(
            pytestconfig.stash[SETTINGS],
            workers=worker_count(pytestconfig),
            write_only=_write_only(pytestconfig),
        )
        pytestconfig.stash[TARGET] = target
        note_target(pytestconfig, target)
    _metadata_version(pytestconfig, target)
    try:
        yield target
    finally:
        if target.mock is not None:
            target.mock.check()


def _metadata_version(config: pytest.Config, target: Target) -> None:
    if _has_plugin(config, "metadata", "pytest_metadata.plugin"):
        from pytest_metadata.plugin import metadata_key

        config.stash[metadata_key]["ZStack version"] = target.version or "unknown (GetVersion not answered)"


def _cases_for(
    config: pytest.Config, build: Callable[..., list[RequestCase]], apis: list[ApiContract]
) -> list[Any]:
    settings = config.stash[SETTINGS]
    params = []
    for api in apis:
        positive = positive_values(api, positive_defaults(settings))
        for case in build(api, positive):
            params.append(pytest.param(api, case, id=f"{api.name}-{case.id}"))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests name what they check (``api``, ``param_case``, ``auth_case``); the schema folder says what to check.

    A test that talks to the node runs on read APIs only (see :mod:`zstack_contract.pytest.exercise`); a static one
    (no ``zstack`` fixture) on the whole catalogue.
    """
    config = metafunc.config
    catalog = config.stash[CATALOG]
    reads = read_apis(catalog)
    if "param_case" in metafunc.fixturenames:
        metafunc.parametrize(("api", "param_case"), _cases_for(config, parameter_cases, reads))
    elif "auth_case" in metafunc.fixturenames:
        guarded = [api for api in reads if auth_required(api)]
        metafunc.parametrize(("api", "auth_case"), _cases_for(config, auth_cases, guarded))
    elif "list_param" in metafunc.fixturenames:
        # A Query API's list-like parameters (q, fields) are the Query engine's, not message lists (test_query.py).
        lists = [api for api in reads if not api.is_query]
        pairs = [(api, p.name) for api in lists for p in api.spec.parameters if list_parameter(api, p)]
        metafunc.parametrize(("api", "list_param"), pairs, ids=[f"{api.name}-{name}" for api, name in pairs])
    elif "query_api" in metafunc.fixturenames:
        queries = [api for api in catalog if api.is_query]
        metafunc.parametrize("query_api", queries, ids=[api.name for api in queries])
    elif "async_api" in metafunc.fixturenames:
        # Every async API of the catalogue: judged on the job the write lifecycle made for it (or skipped, saying
        # why: writes off, no lifecycle step, a live node for an API that restores the node's data).
        jobs = [api for api in catalog if api.is_async]
        metafunc.parametrize("async_api", jobs, ids=[api.name for api in jobs])
    elif "no_auth_api" in metafunc.fixturenames:
        free = no_auth_apis(catalog)
        metafunc.parametrize("no_auth_api", free, ids=[api.name for api in free])
    elif "api" in metafunc.fixturenames:
        apis = reads if "zstack" in metafunc.fixturenames else catalog
        metafunc.parametrize("api", apis, ids=[api.name for api in apis])


def positive_or_skip(api: ApiContract, settings: Settings) -> PositiveValues:
    """Values for a call that should succeed, or a skip that says which option supplies them."""
    positive = positive_values(api, positive_defaults(settings))
    if positive.missing:
        flags = " ".join(
            "--zstack-image-store-url URL" if name == "url" else f"--zstack-param {name}=VALUE"
            for name in positive.missing
        )
        pytest.skip(f"{api.name}: no value for required parameter(s) {', '.join(positive.missing)}; pass {flags}")
    return positive


@pytest.fixture(scope="session")
def zstack_write_context(request: pytest.FixtureRequest, zstack_settings: Settings) -> WriteContext:
    """Where this run's writes go (writes mode only: a skip saying how to enable them otherwise)."""
    skip_unless_writes(zstack_settings)
    target: Target = request.getfixturevalue("zstack")
    catalog: list[ApiContract] = request.config.stash[CATALOG]
    return discover(target, catalog)


@pytest.fixture(scope="session")
def zstack_lifecycle(request: pytest.FixtureRequest, zstack_write_context: WriteContext) -> Lifecycle:
    """The write lifecycle, run once per process, in order; the tests judge its stored steps."""
    target: Target = request.getfixturevalue("zstack")
    label = worker_label(request.config, "lifecycle")
    catalog: list[ApiContract] = request.config.stash[CATALOG]
    return run_lifecycle(target, catalog, zstack_write_context, label=label)


@pytest.fixture
def judge(request: pytest.FixtureRequest, zstack_settings: Settings) -> Judge:
    """Call with the findings of a check: fails on gating ones, marks reported ones, records all.

    Given the node when the test uses it, so that a refused session can be re-checked (is it dead?).
    """
    target = request.getfixturevalue("zstack") if "zstack" in request.fixturenames else None
    return Judge(request.node, zstack_settings, request.config.stash[BASELINE], target)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    config = item.config
    if config.stash.get(CONTRACT_RUN, False):
        settle_target_error(item, call, report)
    scrub_report(report, known_secrets(config))
    finish_report(item, report)
    if "zstack" in getattr(item, "fixturenames", ()):
        report.__dict__["zstack_used_target"] = True  # this check talked to the node (evidence is required)
    if HALT in config.stash:
        # Carried to the xdist controller, which must end the run the same way.
        report.__dict__["zstack_halt"] = config.stash[HALT].to_json()
    return report
