"""Reports a person or a pipeline reads: secrets never in them, the baseline workflow, the HTML in a browser."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.selftest.chromium import headless
from tests.selftest.suite_runner import run_suite
from zstack_contract.mock import SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.mock import data as mock_data
from zstack_contract.mock.app import MockZStackApp
from zstack_contract.transport.client import LOGIN_PATH, sha512_hex

SHAPE = (
    "tests/contract/test_response_shape.py::test_valid_request_answered_with_documented_shape"
    "[GetDatabaseBackupFromImageStore]"
)


class SessionRecorder:
    """Every session uuid the mock hands out, so the scan knows all of them (including the suite's own)."""

    def __init__(self) -> None:
        self.issued: list[str] = []


@pytest.fixture
def recording_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MockZStack, SessionRecorder, str]]:
    password = f"Plain-{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(
        mock_data.ACCOUNTS, "auditor", mock_data.Account("auditor", uuid.uuid4().hex, sha512_hex(password))
    )
    recorder = SessionRecorder()
    original = MockZStackApp._open_session

    def open_and_record(self: MockZStackApp, account: mock_data.Account) -> object:
        session = original(self, account)
        recorder.issued.append(session.uuid)
        return session

    monkeypatch.setattr(MockZStackApp, "_open_session", open_and_record)
    with MockZStack(["backups-key"]) as mock:
        yield mock, recorder, password


def test_no_secret_in_any_artifact(tmp_path: Path, recording_mock: tuple[MockZStack, SessionRecorder, str]) -> None:
    mock, recorder, password = recording_mock
    login = requests.put(
        mock.url + LOGIN_PATH,
        timeout=5,
        json={"logInByAccount": {"accountName": "auditor", "password": sha512_hex(password)}},
    )
    session = login.json()["inventory"]["uuid"]
    reports = tmp_path / "reports"
    baseline = tmp_path / "baseline.json"
    run = run_suite(
        reports,
        "--zstack-url",
        mock.url,
        "--zstack-session",
        session,
        "--zstack-account",
        "auditor",
        "--zstack-password",
        password,
        "--zstack-image-store-url",
        SEEDED_IMAGE_STORE_URL,
        "--zstack-rate-limit",
        "0",
        "--zstack-baseline",
        str(baseline),
        "--zstack-update-baseline",
        "-rA",
        "-v",  # the report header too
        html=True,
    )
    assert run.returncode == 0, run.output
    assert "auth: the session given with --zstack-session (and account auditor" in run.output  # header scanned too
    secrets = {password, sha512_hex(password), *recorder.issued}
    assert session in secrets
    assert len(recorder.issued) >= 2  # the test's session, and the one the suite logs out
    artifacts = [*sorted(reports.iterdir()), baseline]
    assert {p.name for p in artifacts} >= {"contract-report.html", "contract-junit.xml", "contract-results.json"}
    texts = {p.name: p.read_text(encoding="utf-8") for p in artifacts}
    texts["terminal output"] = run.output
    leaks = [(name, secret[:6] + "…") for name, text in texts.items() for secret in secrets if secret in text]
    assert leaks == []
    assert "{sessionUuid}" in texts["contract-results.json"]  # masked, not dropped: the curl is still usable


def test_baseline_workflow(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    broken = run_suite(tmp_path / "1", "--zstack-mock-deviation", "backups-key")
    assert broken.returncode == 1
    assert SHAPE in broken.failed

    recorded = run_suite(
        tmp_path / "2",
        "--zstack-mock-deviation",
        "backups-key",
        "--zstack-baseline",
        str(baseline),
        "--zstack-update-baseline",
    )
    assert recorded.returncode == 0, recorded.output
    entries = json.loads(baseline.read_text())["findings"]
    assert any(e["rule"] == "response.shape" and e["path"] == "$.infos" for e in entries)
    assert all(e["reason"] for e in entries)

    known = run_suite(tmp_path / "3", "--zstack-mock-deviation", "backups-key", "--zstack-baseline", str(baseline))
    assert known.returncode == 0, known.output
    outcomes = {r["test"]: r["outcome"] for r in known.records}
    assert outcomes[SHAPE] == "baselined"

    new = run_suite(tmp_path / "4", "--zstack-mock-deviation", "size-as-string", "--zstack-baseline", str(baseline))
    assert new.returncode == 1
    assert SHAPE in new.failed

    fixed = run_suite(tmp_path / "5", "--zstack-baseline", str(baseline))
    assert fixed.returncode == 0, fixed.output
    assert "fixed since the baseline: GetDatabaseBackupFromImageStore|positive-call|response.shape|$.infos" in (
        fixed.output
    )
    assert fixed.results is not None
    assert any(e["path"] == "$.infos" for e in fixed.results["meta"]["fixed"])


def test_missing_baseline_is_a_usage_error(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--zstack-baseline", str(tmp_path / "nope.json"))
    assert run.returncode == 4
    assert "create it from a run with --zstack-baseline" in run.output


def test_html_report_renders_in_a_browser(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = run_suite(reports, "--zstack-mock-deviation", "backups-key", html=True)
    assert run.returncode == 1
    page = (reports / "contract-report.html").as_uri()
    dom = headless(tmp_path / "profile", "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "NOT CONFORMING" in html
    assert "response.shape" in html.split('id="zstack-broken-rules"')[1].split("</ul>")[0]
    # The results table is built by the report's JavaScript: rows exist only if the page really rendered.
    rows = re.findall(r'<tbody class="results-table-row (\w+)"', html)
    assert rows.count("failed") >= 5
    assert len(rows) >= 20
    assert "test_valid_request_answered_with_documented_shape" in html
    assert "{sessionUuid}" in html
    shot = tmp_path / "report.png"
    screenshot = headless(tmp_path / "profile2", "--window-size=1280,1000", f"--screenshot={shot}", page)
    assert screenshot.returncode == 0, screenshot.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_created_table_escapes_names_and_flags_what_is_left() -> None:
    """Generated names are unicode text of any kind: the "Created by this run" table shows them as text."""
    from zstack_contract.pytest.html_report import summary_html, writes_summary
    from zstack_contract.reporting.summary import summarize
    from zstack_contract.settings import resolve

    options = {
        "zstack_allow_writes": True,
        "zstack_run_id": "r1",
        "zstack_url": "http://mn.example:8080",
        "zstack_account": "admin",
        "zstack_password": "not-used",
    }
    settings = resolve(options.get, {}, rootdir=Path.cwd())
    hostile = 'zstack-contract-r1-body-<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    state = {
        "created": [
            {"api": "CreateDatabaseBackup", "name": hostile, "uuid": None, "cleanedUp": False, "note": "<b>x</b>"},
            {"api": "CreateDatabaseBackup", "name": "zstack-contract-r1-lifecycle", "uuid": "u", "cleanedUp": True,
             "note": ""},
        ],
        "polling": {"jobs": 3, "polls": 7, "pollingSeconds": 0.5},
        "problems": [],
    }
    writes = writes_summary(settings, state)
    assert writes is not None
    page = summary_html(summarize([]), [], strict=False, writes=writes)
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Created by this run" in page
    assert "1 resource(s) NOT cleaned up" in page
    assert "python -m zstack_contract cleanup --zstack-url http://mn.example:8080 --run-id r1" in page
    read_only = resolve(lambda name: None, {}, rootdir=Path.cwd())
    assert writes_summary(read_only, state) is None
