"""Server text reaches the HTML reports as text: a hostile server's markup never becomes markup in a browser.

A small server (the mock's login, session and routing, with hostile answers for the API and GetVersion) puts
script and event-handler payloads into every field a server controls: response body text, a header value
(Content-Type), the error code, description and details, JSON keys and values, and the ZStack version. The
contract suite runs against it as a user would (a subprocess), the regression diff runs on its results, and
headless Chromium renders each page. The DOM it dumps must hold every payload as text and none as an element,
and the payloads' script must never have run.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from werkzeug.wrappers import Request, Response

from tests.selftest.chromium import headless
from tests.selftest.conftest import REPO
from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.engine.findings import CheckRecord
from zstack_contract.mock import SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.mock.app import MockZStackApp
from zstack_contract.pytest.html_report import escaped_environment, findings_html, summary_html
from zstack_contract.reporting.summary import Summary, summarize

API_PATH = "/zstack/v1/database-backups/image-store"
VERSION_PATH = "/zstack/v1/management-nodes/actions"

# What the payloads do if they ever run; the probe below reads it back. Several contexts are attacked: element
# content (<script>, <img onerror>, <svg onload>), a double-quoted attribute ("><...) and a single-quoted one.
_ATTACK = (
    "<script>window.__xss=1</script>"
    '"><img src=x onerror="window.__xss=2">'
    "'><svg onload=\"window.__xss=3\">"
    "</td></tr></table></code><img src=x onerror=window.__xss=4>"
)


def payload(where: str) -> str:
    """One field's payload; the label says which field, so each one can be found in the page."""
    return f"{where}:{_ATTACK}"


def marker(where: str) -> str:
    """The part of a payload that survives JSON encoding, excerpts and masking verbatim: what the page must show."""
    return f"{where}:<script>window.__xss=1</script>"


# Fields a server controls, and where each ends up in the reports.
BODY_TEXT = "body-text"  # a plain-text error body
CONTENT_TYPE = "content-type"  # the Content-Type header value
ERROR_CODE = "error-code"
ERROR_DESCRIPTION = "error-description"
ERROR_DETAILS = "error-details"
JSON_KEY = "json-key"
JSON_VALUE = "json-value"
VERSION = "version"  # GetVersion's answer: the report header and the regression meta table
FIELDS = (BODY_TEXT, CONTENT_TYPE, ERROR_CODE, ERROR_DESCRIPTION, ERROR_DETAILS, JSON_KEY, JSON_VALUE, VERSION)


class HostileApp(MockZStackApp):
    """The mock's login, sessions and routing; every answer of the API and of GetVersion carries payloads."""

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        if request.path == VERSION_PATH and response.status_code == 200:
            return _json(200, {"version": payload(VERSION), "success": True})
        if request.path != API_PATH:
            return response
        if response.status_code == 200:
            # Valid JSON of the wrong shape, so that findings quote it: an item whose documented fields are
            # missing (the finding lists the keys present) and whose size is text.
            item = {payload(JSON_KEY): payload(JSON_VALUE), "size": payload(JSON_VALUE)}
            body = {"infos": [item], payload(JSON_KEY): [payload(JSON_VALUE)]}
            return _json(200, body, content_type=f"text/html; charset=utf-8; x={payload(CONTENT_TYPE)}")
        if response.status_code == 503:
            error = {
                "code": payload(ERROR_CODE),
                "description": payload(ERROR_DESCRIPTION),
                "details": payload(ERROR_DETAILS),
            }
            return _json(503, {"error": error})
        return Response(payload(BODY_TEXT), status=response.status_code, content_type="text/plain;charset=utf-8")


def _json(status: int, body: Any, *, content_type: str | None = None) -> Response:
    response = Response(json.dumps(body), status=status)
    if content_type is None:
        del response.headers["Content-Type"]
    else:
        # Set after construction: werkzeug would otherwise append its own charset to the hostile value.
        response.headers["Content-Type"] = content_type
    return response


@pytest.fixture(scope="module")
def hostile_url() -> Iterator[str]:
    server = MockZStack()
    server.app = HostileApp()
    with server:
        yield server.url
        server.check()


# --------------------------------------------------------------------------------------------------------------
# Reading a page the way a browser built it


class Dom(HTMLParser):
    """What the browser's DOM holds: its text, every script's source, and every event-handler attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str, str]] = []
        self.probe: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value or ""))
            if name == "data-xss-probe":
                self.probe = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)

    def injected(self) -> list[str]:
        """Elements a payload created: a script or an event handler that mentions the payloads' variable."""
        found = [f"<script>{s[:80]}" for s in self.scripts if "__xss" in s]
        found += [f"<{tag} {name}={value[:80]!r}>" for tag, name, value in self.handlers if "__xss" in value]
        return found


# Appended to a copy of each page: after the page's own script has built its tables and every image has failed
# to load, record what the payloads' variable holds. The name is assembled so the probe itself never matches.
_PROBE = (
    "<script>setTimeout(function () {"
    " document.documentElement.setAttribute('data-xss-probe', String(window['__' + 'xss']));"
    "}, 2000);</script>"
)


def render_in_browser(page: Path, workdir: Path) -> Dom:
    """Load a probed copy of ``page`` in headless Chromium and parse the DOM it dumps."""
    probed = workdir / f"probed-{page.name}"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    proc = headless(workdir / f"profile-{page.stem}", "--dump-dom", probed.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = Dom()
    dom.feed(proc.stdout)
    dom.close()
    assert dom.probe is not None, "the probe did not run: the page was not rendered"
    return dom


def assert_inert(dom: Dom, fields: tuple[str, ...]) -> None:
    assert dom.probe == "undefined", f"a payload ran: window.__xss = {dom.probe}"
    assert dom.injected() == []
    text = dom.all_text
    # The positive half: the payloads did reach the page, as text. Without it an empty page would pass.
    missing = [f for f in fields if marker(f) not in text]
    assert missing == [], f"payloads of {missing} are not shown as text"


def test_the_probe_sees_an_unescaped_payload(tmp_path: Path) -> None:
    # The instrument's own check: a page that does inject must be caught, else "inert" would mean nothing.
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><body><div>{payload('raw')}</div></body></html>", encoding="utf-8")
    dom = render_in_browser(page, tmp_path)
    assert dom.probe in {"1", "2", "3", "4"}
    assert len(dom.injected()) >= 3
    assert marker("raw") not in dom.all_text


# --------------------------------------------------------------------------------------------------------------
# The contract report and the regression report, from a real run against the hostile server


@pytest.fixture(scope="module")
def hostile_run(hostile_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[SuiteRun, Path]:
    reports = tmp_path_factory.mktemp("hostile") / "reports"
    run = run_suite(
        reports,
        "--zstack-url",
        hostile_url,
        "--zstack-account",
        "admin",
        "--zstack-password",
        "password",
        "--zstack-image-store-url",
        SEEDED_IMAGE_STORE_URL,
        "--zstack-rate-limit",
        "0",
        "--zstack-examples",
        "5",
        html=True,
    )
    return run, reports


def test_the_hostile_server_is_judged_not_conforming(hostile_run: tuple[SuiteRun, Path]) -> None:
    run, reports = hostile_run
    assert run.returncode == 1, run.output[-3000:]
    assert run.results is not None
    assert run.results["meta"]["version"] == payload(VERSION)
    assert (reports / "contract-report.html").is_file()


def test_contract_report_shows_server_text_as_text(hostile_run: tuple[SuiteRun, Path], tmp_path: Path) -> None:
    _, reports = hostile_run
    dom = render_in_browser(reports / "contract-report.html", tmp_path)
    assert_inert(dom, FIELDS)
    assert "NOT CONFORMING" in dom.all_text


def _diff(before: Path, after: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "zstack_contract", "diff", str(before), str(after), "--html", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=REPO)


def test_regression_report_shows_server_text_as_text(hostile_run: tuple[SuiteRun, Path], tmp_path: Path) -> None:
    _, reports = hostile_run
    hostile = reports / "contract-results.json"
    data = json.loads(hostile.read_text(encoding="utf-8"))
    # The same run without its records: every finding is new one way round and fixed the other.
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({**data, "records": []}), encoding="utf-8")
    # Every field that reaches a finding's text; the version reaches the meta table.
    quoted = tuple(f for f in FIELDS if any(marker(f) in json.dumps(r.get("findings")) for r in data["records"]))
    assert set(quoted) >= {JSON_KEY, JSON_VALUE, CONTENT_TYPE, ERROR_CODE}, quoted
    for name, before, after, code in [
        ("new", empty, hostile, 1),
        ("fixed", hostile, empty, 0),
        ("unchanged", hostile, hostile, 0),
    ]:
        out = tmp_path / f"{name}.html"
        proc = _diff(before, after, out)
        assert proc.returncode == code, proc.stdout + proc.stderr
        dom = render_in_browser(out, tmp_path)
        assert_inert(dom, (*quoted, VERSION))


# --------------------------------------------------------------------------------------------------------------
# The summary box and the findings fragment, rendered directly


def _summary(verdict: str, reason: str) -> Summary:
    """A summary whose verdict and reason are set, as a run that did not run or was interrupted gives."""
    empty = summarize([])
    fake = SimpleNamespace(verdict=verdict, reason=reason, total=empty.total, skipped=0, by_api_family={})
    return cast(Summary, fake)


@pytest.mark.parametrize("verdict", ["NOT RUN", "INTERRUPTED", payload("verdict")])
def test_summary_shows_any_verdict_and_reason_escaped_and_never_green(verdict: str) -> None:
    page = summary_html(_summary(verdict, payload("reason")), [], strict=False)
    dom = Dom()
    dom.feed(page)
    assert dom.injected() == []
    assert verdict in dom.all_text
    assert marker("reason") in dom.all_text
    assert "id='zstack-verdict-reason'" in page
    assert "zc-verdict zc-bad" in page


def test_summary_without_a_reason_has_no_reason_line() -> None:
    page = summary_html(summarize([]), [], strict=False)
    assert "zstack-verdict-reason" not in page
    assert "zc-verdict zc-good" in page
    assert ">CONFORMING<" in page


def test_findings_fragment_escapes_every_field() -> None:
    from zstack_contract.engine.findings import Finding, Level

    f = Finding(
        api="Api",
        rule="response.shape",
        level=Level.MUST,
        path=f"$[{payload('path')!r}]",
        expected=payload("expected"),
        actual=payload("actual"),
        note=payload("note"),
        case=payload("case"),
    )
    record = CheckRecord(
        test="t::x",
        api="Api",
        family="shape",
        case=payload("case"),
        rule="r",
        level="must",
        outcome="failed",
        findings=[f],
        evidence={"request": payload("request"), "status": payload("status"), "body": payload("body")},
    )
    dom = Dom()
    dom.feed(findings_html(record))
    assert dom.injected() == []
    for where in ("path", "expected", "actual", "note", "case", "request", "status", "body"):
        assert marker(where) in dom.all_text, where


def test_environment_values_are_escaped_for_pytest_htmls_script() -> None:
    # pytest-html's script inserts each value (and each key of a mapping value) as HTML; the top-level name is
    # set as text, so escaping it would show entities.
    escaped = escaped_environment(
        {"ZStack version": payload(VERSION), "Plugins": {"<b>p</b>": "<i>1</i>"}, "List": ["<u>x</u>"], "N": 3}
    )
    assert escaped == {
        "ZStack version": html.escape(payload(VERSION)),
        "Plugins": {"&lt;b&gt;p&lt;/b&gt;": "&lt;i&gt;1&lt;/i&gt;"},
        "List": ["&lt;u&gt;x&lt;/u&gt;"],
        "N": "3",
    }
