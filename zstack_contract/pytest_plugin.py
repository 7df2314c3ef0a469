"""pytest glue: options, the target fixture, parametrization from the schema folder, verdicts and reports.

The logic lives in plain modules; this module only wires it into pytest.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from zstack_contract import __version__
from zstack_contract.baseline import Baseline, BaselineError
from zstack_contract.cases import RequestCase, auth_cases, list_parameter, parameter_cases, positive_values
from zstack_contract.contract import ApiContract, load_catalog
from zstack_contract.judge import Judge, finish_report
from zstack_contract.mock import UnknownDeviationError
from zstack_contract.mock import resolve as resolve_deviations
from zstack_contract.reporting import ReportingPlugin
from zstack_contract.results import RunResults
from zstack_contract.settings import OPTIONS, Settings, SettingsError, resolve
from zstack_contract.stash import (
    BASELINE,
    CATALOG,
    FIXED,
    HTML_NAME,
    JUNIT_NAME,
    LOADED_BASELINE,
    RESULTS,
    SETTINGS,
)
from zstack_contract.target import Target, TargetError, open_target, positive_defaults

HYPOTHESIS_PROFILE = "zstack-contract"


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
    config.pluginmanager.register(ReportingPlugin(config, _is_contract_run(config)), "zstack-contract-reporting")
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
    metadata["Positive values"] = _positive_summary(settings)
    metadata["Auth"] = _auth_summary(settings)
    metadata["Schema digests"] = ", ".join(f"{api.name}: {api.digest}" for api in catalog)
    metadata["Baseline"] = str(settings.baseline) if settings.baseline else "none"
    metadata["Date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _load_hypothesis_profile(config: pytest.Config, settings: Settings) -> None:
    """Deterministic by default (CI gating must be reproducible); a seed varies exploration on purpose."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
    from hypothesis.configuration import set_hypothesis_home_dir

    # Hypothesis keeps caches (constants, unicode data) in its home dir, by default ./.hypothesis: a run against
    # a cloud must leave the checkout as it found it.
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "zstack-contract-hypothesis")

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
    elif "list_param" in metafunc.fixturenames:
        pairs = [(api, p.name) for api in config.stash[CATALOG] for p in api.spec.parameters if list_parameter(api, p)]
        metafunc.parametrize(("api", "list_param"), pairs, ids=[f"{api.name}-{name}" for api, name in pairs])
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
    skip_unless_read_only(api)
    return dict(positive.values)


def skip_unless_read_only(api: ApiContract) -> None:
    """The suite only reads: an API whose method may change state is skipped, saying so."""
    if not api.is_read_only:
        pytest.skip(f"{api.name} is {api.spec.method}: the suite never calls APIs that may change state")


@pytest.fixture
def judge(request: pytest.FixtureRequest, zstack_settings: Settings) -> Judge:
    """Call with the findings of a check: fails on gating ones, marks reported ones, records all."""
    return Judge(request.node, zstack_settings, request.config.stash[BASELINE])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    finish_report(item, report)
    return report
