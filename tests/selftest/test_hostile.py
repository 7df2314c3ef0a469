"""The suite against small hostile servers (issue 7): no false pass, bounded runs, one message for unusable targets.

Every case runs the real suite in a child process against a server from :mod:`tests.selftest.hostile`, with
the HTML report on, and asserts what a user of the gate must be able to rely on.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.selftest.conftest import SCHEMAS
from tests.selftest.hostile import behaviours as hb
from tests.selftest.hostile.runner import Run, not_a_pass, run_contract
from tests.selftest.hostile.server import API, LOGIN, SESSIONS, ZStackServer

PASSWORD = "zstack-contract-S3cret-pw"
STORE = "sftp://root@image-store.invalid/zstack_bs"
STOPPED = ("NOT RUN", "INTERRUPTED")

Serve = Callable[..., ZStackServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start hostile servers for one test; every one is stopped at teardown, even after a failure."""
    started: list[ZStackServer] = []

    def start(kind: type[ZStackServer], password: str = PASSWORD) -> ZStackServer:
        server = kind(password=password).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def live(
    server: ZStackServer, *extra: str, password: str = PASSWORD, timeout: str = "1", rate: str = "0"
) -> tuple[str, ...]:
    """Options for a run against ``server``: logged in, positive calls on, small and fast unless overridden."""
    args: tuple[str, ...] = ("--zstack-url", server.url, "--zstack-account", "admin", "--zstack-password", password)
    args += ("--zstack-image-store-url", STORE, "--zstack-examples", "2")
    return (*args, "--zstack-rate-limit", rate, "--zstack-timeout", timeout, *extra)


def seed_stale_reports(report_dir: Path) -> None:
    """What an earlier, passing run left behind; a run that ends early must not leave it looking current."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "contract-report.html").write_text("<html><body><h2>CONFORMING</h2></body></html>")
    (report_dir / "contract-results.json").write_text(
        json.dumps({"resultsFormat": 1, "meta": {"verdict": "CONFORMING"}, "records": []})
    )
    (report_dir / "contract-junit.xml").write_text(
        '<testsuites><testsuite name="stale" tests="0"><properties><property name="verdict" value="CONFORMING"/>'
        "</properties></testsuite></testsuites>"
    )


def assert_sane(run: Run) -> None:
    assert not run.killed, f"still running after {run.wall:.0f} s; killed\n{run.output[-3000:]}"
    assert run.internal_errors() == [], run.output[-5000:]


def assert_one_message(run: Run, *needles: str) -> None:
    """Exit 4, one message a person can act on, and no test failures or errors around it."""
    assert_sane(run)
    assert run.returncode == 4, run.output[-5000:]
    for needle in needles:
        assert needle in run.output, run.output[-5000:]
    assert re.search(r"^(FAILED|ERROR) ", run.output, re.MULTILINE) is None, run.output[-5000:]
    assert re.search(r"\d+ (failed|errors?)\b", run.output) is None, run.output[-5000:]


def assert_transport_failure(run: Run, server: ZStackServer) -> None:
    """Exit 4 naming the node; a transport error is no finding against the server (doc findings aside)."""
    assert_sane(run)
    assert run.returncode == 4, run.output[-5000:]
    assert server.url in run.output, run.output[-5000:]
    assert {rule for rule in run.rules if not rule.startswith("doc.")} == set()
    assert_reports_say(run, "NOT RUN")


def assert_reports_say(run: Run, *verdicts: str, required: bool = True) -> None:
    """The JSON and HTML (if written, or required) say one of ``verdicts`` and never claim conformance."""
    texts = run.artifacts()
    if required:
        assert {"contract-results.json", "contract-report.html"} <= set(texts), sorted(texts)
    if "contract-results.json" in texts:
        assert run.verdict in verdicts, run.verdict
        assert (run.results or {})["meta"].get("reason"), "a run that did not finish says why"
    if "contract-report.html" in texts:
        html = texts["contract-report.html"]
        assert any(v in html for v in verdicts)
        assert not_a_pass(html)
    for name, text in texts.items():
        assert not_a_pass(text), name


# -- no false pass ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("positive", [True, False], ids=["with-positive-values", "refusal-cases-only"])
def test_sessions_invalidated_after_login_never_pass(positive: bool, tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.SessionsInvalidated)
    args = live(server, timeout="5")
    if not positive:  # without an image store URL only refusal cases run: each accepts ID.1001 on its own
        args = tuple(a for a in args if a not in ("--zstack-image-store-url", STORE))
    run = run_contract(tmp_path, *args)
    assert_sane(run)
    assert server.api_seen.is_set()
    assert run.returncode != 0, run.output[-5000:]
    # The dead session is either the verdict (NOT RUN, exit 4) or a must-failure naming the session (exit 1).
    assert run.returncode in (1, 4), run.output[-5000:]
    if run.returncode == 4:
        assert_reports_say(run, "NOT RUN")
        assert "session" in run.output
    else:
        assert "request.authenticated" in run.rules


def test_api_not_served_is_reported_not_passed(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.ApiNotServed)
    run = run_contract(tmp_path, *live(server))
    assert_sane(run)
    # NOT CONFORMING, or NOT RUN because no check ever saw the API work: never a pass.
    assert run.returncode in (1, 4), run.output[-5000:]
    assert run.verdict in ("NOT CONFORMING", "NOT RUN")
    assert "api.not-served" in run.rules


# -- unusable targets: exit 4, one message, reports that say NOT RUN ---------------------------------------


@pytest.mark.parametrize(
    ("kind", "given_session", "needle"),
    [
        pytest.param(hb.Conforming, True, "--zstack-session", id="unknown-session"),
        pytest.param(hb.NotZStack, True, "--zstack-", id="not-zstack"),  # names the option to fix
        pytest.param(hb.NoLogin, False, "no ZStack login endpoint", id="login-404"),
        pytest.param(hb.DeepLogin, False, "login", id="deep-json-login"),
        pytest.param(hb.PathInLoginUuid, False, "session uuid", id="path-in-login-uuid"),
    ],
)
def test_unusable_target_ends_with_one_message(
    kind: type[ZStackServer], given_session: bool, needle: str, tmp_path: Path, serve: Serve
) -> None:
    server = serve(kind)
    seed_stale_reports(tmp_path)
    if given_session:  # a session uuid of the right form that this server never issued
        args: tuple[str, ...] = ("--zstack-url", server.url, "--zstack-image-store-url", STORE)
        args += ("--zstack-timeout", "1", "--zstack-rate-limit", "0", "--zstack-session", uuid.uuid4().hex)
    else:
        args = live(server)
    run = run_contract(tmp_path, *args)
    assert_one_message(run, needle)
    assert not server.api_seen.is_set(), "no API call against a target the suite cannot use"
    assert_reports_say(run, "NOT RUN")


def test_session_uuid_from_a_server_cannot_steer_a_write(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.PathInLoginUuid)
    run = run_contract(tmp_path, *live(server))
    assert_sane(run)
    assert hb.unsafe_requests(server) == []
    assert [r.path for r in server.requests if ".." in r.path or "vm-instances" in r.path] == []
    assert run.returncode == 4, run.output[-5000:]


def _copy_schemas(tmp_path: Path) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    return copy


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


API_DIR = "GetDatabaseBackupFromImageStore"


def _bad_input(case: str, tmp_path: Path, server: ZStackServer) -> tuple[tuple[str, ...], str]:
    """(options, what the message must name) for one bad input of issue 7's list."""
    creds = ("--zstack-account", "admin", "--zstack-password", PASSWORD, "--zstack-rate-limit", "0")
    url = ("--zstack-url", server.url, *creds)
    if case == "userinfo-url":
        return ("--zstack-url", f"http://u:userinfo-S3cret@127.0.0.1:{server.port}", *creds), "--zstack-url"
    if case == "empty-session":
        return ("--zstack-url", server.url, "--zstack-session", ""), "--zstack-session"
    if case == "unclosed-ipv6-url":
        return ("--zstack-url", "http://[::1", *creds), "--zstack-url"
    if case in ("timeout-nan", "timeout-inf"):
        return (*url, "--zstack-timeout", case.removeprefix("timeout-")), "--zstack-timeout"
    if case in ("rate-nan", "rate-1e-300"):
        return (*url, "--zstack-rate-limit", case.removeprefix("rate-")), "--zstack-rate-limit"
    if case == "report-dir-is-a-file":
        return ("--zstack-report-dir", str(_write(tmp_path / "a-file", b"x"))), "--zstack-report-dir"
    if case.startswith("corrupt-"):
        schemas = _copy_schemas(tmp_path)
        name = {"corrupt-spec": "spec.json", "corrupt-overlay": "overlay.json"}.get(case, "response.schema.json")
        _write(schemas / API_DIR / name, b'{"truncated": ')
        return ("--zstack-schemas", str(schemas)), name
    if case == "invalid-json-schema":
        schemas = _copy_schemas(tmp_path)
        _write(schemas / API_DIR / "response.schema.json", b'{"type": 12, "properties": []}')
        return ("--zstack-schemas", str(schemas)), "response.schema.json"
    if case == "binary-baseline":
        baseline = _write(tmp_path / "baseline.json", bytes(range(256)) * 4)
    elif case == "directory-baseline":
        baseline = tmp_path / "baseline.json"
        baseline.mkdir()
    else:  # malformed-baseline-entry: the right format, an entry that is not an object
        baseline = _write(tmp_path / "baseline.json", b'{"baselineFormat": 1, "findings": [7]}')
    return ("--zstack-baseline", str(baseline)), "baseline.json"


@pytest.mark.parametrize(
    "case",
    [
        "userinfo-url",
        "empty-session",
        "unclosed-ipv6-url",
        "timeout-nan",
        "timeout-inf",
        "rate-nan",
        "rate-1e-300",
        "report-dir-is-a-file",
        "corrupt-spec",
        "corrupt-overlay",
        "corrupt-response-schema",
        "invalid-json-schema",
        "binary-baseline",
        "directory-baseline",
        "malformed-baseline-entry",
    ],
)
def test_bad_input_ends_with_one_message(case: str, tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.Conforming)
    args, needle = _bad_input(case, tmp_path, server)
    run = run_contract(tmp_path / "reports", *args)
    assert_one_message(run, needle)
    assert "userinfo-S3cret" not in run.output
    assert not server.api_seen.is_set()
    assert_reports_say(run, "NOT RUN", required=False)


@pytest.mark.parametrize("case", ["unreachable", "wrong-password"])
def test_unusable_target_under_xdist_ends_with_one_message(case: str, tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.Conforming)
    if case == "unreachable":
        server.stop()  # nothing listens on its port any more
        args, needle = live(server), "cannot reach the management node"
    else:
        args, needle = live(server, password="not-the-password"), "login as 'admin'"
    run = run_contract(tmp_path, *args, "-n", "2")
    assert_one_message(run, needle)
    assert "not-the-password" not in run.output
    assert_reports_say(run, "NOT RUN", required=False)


# -- bounded on dead, slow and huge answers -------------------------------------------------------------


def test_hanging_api_ends_well_within_a_minute_with_default_options(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.HangsApi)
    args = ("--zstack-url", server.url, "--zstack-account", "admin", "--zstack-password", PASSWORD)
    run = run_contract(tmp_path, *args, "--zstack-image-store-url", STORE, timeout=90)
    assert_sane(run)
    assert server.api_seen.is_set()
    assert run.wall < 60, f"took {run.wall:.0f} s"
    assert_transport_failure(run, server)


def test_dropped_connections_end_the_run_with_one_message(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.DropsApi)
    run = run_contract(tmp_path, *live(server), timeout=60)
    assert server.api_seen.is_set()
    assert_transport_failure(run, server)


def test_slow_drip_body_is_cut_near_the_timeout(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.DripsApi)
    assert isinstance(server, hb.DripsApi)
    run = run_contract(tmp_path, *live(server, timeout="1"), timeout=60)
    assert_sane(run)
    assert server.drip_ended.wait(10), "the server dripped at least one body, and saw its client go"
    # The server notices a closed connection at its next byte (0.5 s) or the one after: 1 s deadline + 1 s,
    # and some slack for a loaded machine. Uncut, each body takes 106 s.
    longest = max(end - start for start, end in server.drips)
    assert longest < 3, f"a 1-byte-per-0.5-s body was read for {longest:.1f} s with --zstack-timeout 1"
    assert_transport_failure(run, server)


def test_huge_body_is_a_finding_with_bounded_memory(
    tmp_path: Path, serve: Serve, record_property: Callable[[str, object], None]
) -> None:
    server = serve(hb.HugeApi)
    run = run_contract(tmp_path, *live(server, timeout="10"), timeout=60)
    record_property("peak_rss_mib", run.peak_rss_kib // 1024)
    print(f"peak RSS of the suite against 50 MB bodies: {run.peak_rss_kib // 1024} MiB")
    assert_sane(run)
    assert run.peak_rss_kib < 1024 * 1024, f"peak RSS {run.peak_rss_kib // 1024} MiB"
    assert run.returncode == 1, run.output[-5000:]
    assert "response.unjudgeable" in run.rules


@pytest.mark.parametrize("kind", [hb.DeepApi, hb.DeepVersion], ids=["api", "version"])
def test_deeply_nested_json_is_no_crash(kind: type[ZStackServer], tmp_path: Path, serve: Serve) -> None:
    server = serve(kind)
    run = run_contract(tmp_path, *live(server))
    assert_sane(run)
    assert re.search(r"^ERROR ", run.output, re.MULTILINE) is None, run.output[-5000:]
    if kind is hb.DeepApi:
        assert run.returncode == 1, run.output[-5000:]
        assert "response.unjudgeable" in run.rules
    else:  # GetVersion only names the version: unknown, the run goes on (or stops with one message)
        assert run.returncode in (0, 1, 4), run.output[-5000:]


def test_server_errors_on_logout_and_api_are_findings_not_crashes(tmp_path: Path, serve: Serve) -> None:
    logout = run_contract(tmp_path / "logout", *live(serve(hb.LogoutEcho500)))
    assert_sane(logout)
    assert logout.returncode in (0, 1), logout.output[-5000:]  # a verdict; the logout itself is no API rule
    api = run_contract(tmp_path / "api", *live(serve(hb.ApiEcho500)))
    assert_sane(api)
    # A 500 to every valid request: NOT CONFORMING, or NOT RUN as no check ever saw the API work.
    assert api.returncode in (1, 4), api.output[-5000:]
    assert api.verdict in ("NOT CONFORMING", "NOT RUN")
    assert "request.no-server-error" in api.rules


# -- verdicts that match the run --------------------------------------------------------------------------


def test_ctrl_c_during_the_tests_reports_interrupted(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.HangsApi)
    seed_stale_reports(tmp_path)
    run = run_contract(tmp_path, *live(server, timeout="30"), interrupt_when=server.api_seen, timeout=60)
    assert not run.killed
    assert run.returncode == 2, run.output[-5000:]
    assert_reports_say(run, "INTERRUPTED")


def test_rate_cap_holds_across_xdist_workers(tmp_path: Path, serve: Serve) -> None:
    server = serve(hb.Conforming)
    run = run_contract(tmp_path, *live(server, "-n", "2", timeout="5", rate="5"), timeout=90)
    assert_sane(run)
    times = sorted(r.time for r in server.of_kind("api"))
    assert len(times) >= 12, "enough API requests to measure a rate"
    busiest = max(sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times))
    assert busiest <= 6, f"{busiest} API requests within one second under --zstack-rate-limit 5 with -n 2"


# -- the servers themselves: hostile exactly as documented, and a conforming base -------------------------


def test_conforming_base_server_passes(tmp_path: Path, serve: Serve) -> None:
    """The control: without its one hostile change, every server above is one the suite passes."""
    server = serve(hb.Conforming)
    run = run_contract(tmp_path, *live(server))
    assert_sane(run)
    assert run.returncode == 0, run.output[-5000:]
    assert server.of_kind("api"), "the suite did call the API"


def _login(server: ZStackServer) -> requests.Response:
    body = {"logInByAccount": {"accountName": "admin", "password": hashlib.sha512(PASSWORD.encode()).hexdigest()}}
    return requests.put(server.url + LOGIN, json=body, timeout=5)


def test_hostile_servers_misbehave_as_documented(serve: Serve) -> None:
    api = API + "?url=" + STORE
    conforming = serve(hb.Conforming)
    session = _login(conforming).json()["inventory"]["uuid"]
    assert re.fullmatch(r"[0-9a-f]{32}", session)
    ok = requests.get(conforming.url + api, headers={"Authorization": f"OAuth {session}"}, timeout=5)
    assert (ok.status_code, ok.json()["infos"][0]["arch"]) == (200, "amd64")

    invalidated = serve(hb.SessionsInvalidated)
    session = _login(invalidated).json()["inventory"]["uuid"]
    dead = requests.get(invalidated.url + api, headers={"Authorization": f"OAuth {session}"}, timeout=5)
    assert (dead.status_code, dead.json()["error"]["code"]) == (503, "ID.1001")
    valid = requests.get(f"{invalidated.url}{SESSIONS}{session}/valid", timeout=5)
    assert valid.json() == {"valid": False}

    not_served = requests.get(serve(hb.ApiNotServed).url + api, timeout=5)
    assert (not_served.status_code, not_served.text) == (404, "no api mapping to /v1/database-backups/image-store")
    assert requests.put(serve(hb.NotZStack).url + LOGIN, timeout=5).headers["Content-Type"].startswith("text/html")
    assert _login(serve(hb.PathInLoginUuid)).json()["inventory"]["uuid"] == hb.HOSTILE_UUID
    assert _login(serve(hb.NoLogin)).status_code == 404
    with pytest.raises(requests.ConnectionError):
        requests.get(serve(hb.DropsApi).url + api, timeout=5)
    with pytest.raises(requests.Timeout):
        requests.get(serve(hb.HangsApi).url + api, timeout=0.5)
    echo = requests.get(serve(hb.ApiEcho500).url + api, headers={"Authorization": "OAuth echo-me"}, timeout=5)
    assert (echo.status_code, "OAuth echo-me" in echo.text) == (500, True)
    refusal = serve(hb.RefusalEcho500)
    echo = requests.get(refusal.url + api, headers={"Authorization": "Bearer echo-me"}, timeout=5)
    assert (echo.status_code, "Bearer echo-me" in echo.text) == (500, True)
    session = _login(refusal).json()["inventory"]["uuid"]
    assert requests.get(refusal.url + api, headers={"Authorization": f"OAuth {session}"}, timeout=5).ok
    with requests.get(serve(hb.HugeApi).url + api, stream=True, timeout=5) as huge:
        assert sum(len(chunk) for chunk in huge.iter_content(1 << 20)) == hb.HUGE
    deep = requests.get(serve(hb.DeepApi).url + api, timeout=5).text
    assert deep.startswith('{"a":{"a":')
    assert deep.count("{") == hb.DEEP
