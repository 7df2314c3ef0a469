"""The lifecycle's parts on their own: halts, the session re-check, the scrubber, bounded pending evidence,
hypothesis settings scoped to the contract tests, and ``--zstack-schemas`` driving the generated tests."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.selftest.conftest import REPO, SCHEMAS
from tests.selftest.suite_runner import run_suite
from zstack_contract.engine.findings import CheckRecord, Finding, Level
from zstack_contract.pytest.judge import Judge, scrub_report, target_error
from zstack_contract.pytest.stash import HALT, PENDING
from zstack_contract.reporting.summary import NOT_RUN, Halt, one_line, summarize
from zstack_contract.settings import resolve
from zstack_contract.specs.contract import load_catalog
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.target import TargetError

SECRET = "0123456789abcdef0123456789abcdef"


def _settings(tmp_path: Path) -> Any:
    return resolve(lambda name: [] if name in ("zstack_param", "zstack_mock_deviation") else None, env={}, rootdir=REPO)


class FakeItem:
    """What the judge uses of a pytest item: its stash, node id and session (with the config's stash)."""

    def __init__(self) -> None:
        self.stash = pytest.Stash()
        self.nodeid = "tests/contract/test_x.py::test_x"
        self.config = SimpleNamespace(stash=pytest.Stash())
        self.session = SimpleNamespace(config=self.config, shouldstop=False)


class FakeTarget:
    def __init__(self, valid: bool | None) -> None:
        self.valid = valid
        self.asked = 0

    def session_is_valid(self) -> bool | None:
        self.asked += 1
        return self.valid


class BigExchange:
    """An exchange whose body is large: the judge must keep only a bounded excerpt of it."""

    text = "x" * 5_000_000
    parsed = (False, None)  # not JSON

    def describe(self, limit: int = 600) -> str:
        return "request: curl ...\nresponse: HTTP 200 " + self.text[:limit]

    def to_json(self) -> dict[str, Any]:
        return {"request": "curl ...", "status": 200, "contentType": None, "body": self.text[:2000]}


def _finding(rule: str, level: Level = Level.MUST) -> Finding:
    return Finding(
        api="GetDatabaseBackupFromImageStore",
        rule=rule,
        level=level,
        path="$",
        expected="HTTP 200",
        actual="HTTP 503 ID.1001",
        case="c",
    )


def test_halted_summary_is_not_a_conformance_verdict() -> None:
    passing = CheckRecord("t", "Api", "shape", "c", "r", "must", "passed")
    halted = summarize([passing], halt=Halt(NOT_RUN, "no request was served under a valid session"))
    assert halted.verdict == "NOT RUN"
    assert halted.reason == "no request was served under a valid session"
    assert one_line(halted).startswith("NOT RUN: no request was served")
    assert summarize([passing]).verdict == "CONFORMING"
    assert summarize([passing]).reason == ""


def test_dead_session_ends_the_run_not_run(tmp_path: Path) -> None:
    api = load_catalog(SCHEMAS)[0]
    item = FakeItem()
    judge = Judge(item, _settings(tmp_path), frozenset(), FakeTarget(False))  # type: ignore[arg-type]
    with pytest.raises(pytest.skip.Exception, match="NOT RUN: the run's session was invalidated"):
        judge(api, "shape", "c", [_finding("request.authenticated")])
    assert item.config.stash[HALT].verdict == NOT_RUN
    assert "a dead session is not a server conformance result" in item.config.stash[HALT].reason
    assert item.session.shouldstop


def test_live_session_leaves_the_must_failure_standing_with_a_note(tmp_path: Path) -> None:
    api = load_catalog(SCHEMAS)[0]
    item = FakeItem()
    target = FakeTarget(True)
    judge = Judge(item, _settings(tmp_path), frozenset(), target)  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception, match=r"the session is still valid \(ValidateSession\)"):
        judge(api, "shape", "c", [_finding("request.authenticated")])
    assert target.asked == 1
    assert HALT not in item.config.stash
    # Other rules never cost a ValidateSession call.
    with pytest.raises(pytest.fail.Exception):
        judge(api, "shape", "c", [_finding("response.shape")])
    assert target.asked == 1


def test_an_answer_saying_the_session_is_invalid_rechecks_the_session(tmp_path: Path) -> None:
    # A job that ends 503 ID.1001 because the run's session died mid-lifecycle (its poll carries no session):
    # a dead session, not a finding against the node.
    api = load_catalog(SCHEMAS)[0]
    item = FakeItem()
    target = FakeTarget(False)
    judge = Judge(item, _settings(tmp_path), frozenset(), target)  # type: ignore[arg-type]
    body = '{"error": {"code": "ID.1001", "description": "d", "details": "Session expired"}}'
    poll = Exchange("GET", "http://n/zstack/v1/api-jobs/x", "/zstack/v1/api-jobs/x", [], {}, None, 503, {}, body, 0.0)
    with pytest.raises(pytest.skip.Exception, match="NOT RUN: the run's session was invalidated"):
        judge(api, "async", "c", [_finding("response.shape")], [poll])
    assert target.asked == 1
    # The same answer without a finding costs no ValidateSession call.
    judge = Judge(FakeItem(), _settings(tmp_path), frozenset(), target)  # type: ignore[arg-type]
    judge(api, "async", "c", [], [poll])
    assert target.asked == 1


def test_pending_findings_keep_no_exchange(tmp_path: Path) -> None:
    api = load_catalog(SCHEMAS)[0]
    item = FakeItem()
    judge = Judge(item, _settings(tmp_path), frozenset())  # type: ignore[arg-type]
    exchange = BigExchange()
    judge.collect(api, "generated", "c", [_finding("response.should", Level.SHOULD)], exchange)  # type: ignore[arg-type]
    pending = item.stash[PENDING]
    assert pending
    kept: list[object] = [part for entry in pending.values() for part in entry]
    assert not any(part is exchange for part in kept)
    assert len(json.dumps([p.to_json() if isinstance(p, Finding) else p for p in kept])) < 10_000


def test_scrubber_masks_every_part_of_a_report() -> None:
    report = pytest.TestReport(
        nodeid="t",
        location=("t.py", 1, "t"),
        keywords={},
        outcome="failed",
        longrepr=f"E   assert 500 == 200\nlogout = Exchange(url='/sessions/{SECRET}')",
        when="call",
        sections=[("Captured stdout call", f"Authorization: OAuth {SECRET}")],
        user_properties=[("evidence", {"request": f"curl -H 'OAuth {SECRET}'"})],
    )
    scrub_report(report, (SECRET,))
    dumped = json.dumps([str(report.longrepr), report.sections, report.user_properties])
    assert SECRET not in dumped
    assert "logout = Exchange(url='/sessions/" in str(report.longrepr)  # masked, not dropped


def test_node_errors_are_found_however_wrapped() -> None:
    down = TargetError("the node is down")
    assert target_error(BaseExceptionGroup("examples", [ValueError("x"), down])) is down
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = down
    assert target_error(wrapped) is down
    assert target_error(AssertionError("a finding")) is None


PLAIN_GIVEN = '''
from hypothesis import given, settings, strategies as st

CALLS = []


@given(st.integers())
def test_plain_property(n):
    CALLS.append(n)


def _is_hypothesis_profile(name):
    # hypothesis loads its own "ci" profile (derandomized) when it sees a CI environment, "default" otherwise.
    own = settings.get_profile(name)
    current = settings.default
    return (current.max_examples, current.derandomize, current.database is None) == (
        own.max_examples, own.derandomize, own.database is None
    )


def test_plain_property_kept_hypothesis_defaults():
    assert _is_hypothesis_profile("default") or _is_hypothesis_profile("ci")
    assert len(CALLS) == 100
'''


def test_contract_settings_do_not_leak_into_other_property_tests(tmp_path: Path) -> None:
    """In one process with the contract suite (whose property tests run 3 examples here), a plain @given test
    keeps hypothesis' own defaults."""
    other = tmp_path / "test_plain_given.py"
    other.write_text(textwrap.dedent(PLAIN_GIVEN), encoding="utf-8")
    run = run_suite(tmp_path / "reports", "--zstack-examples", "3", str(other), "-rA")
    # The contract tests' own outcome is not the point here; the plain tests' is.
    plain = [line for line in run.output.splitlines() if "::test_plain_property" in line]
    assert len(plain) == 2, run.output
    assert all(line.startswith("PASSED ") for line in plain), plain
    assert run.results is not None
    assert run.results["meta"]["examples"] == 3


def test_schema_folder_option_drives_the_generated_tests(tmp_path: Path) -> None:
    """The generated tests come from --zstack-schemas: a folder whose openapi.json has no operations the
    catalog knows is what they run on (before, they always read the checkout's schemas/openapi.json)."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    document = json.loads((copy / "openapi.json").read_text(encoding="utf-8"))
    operation = document["paths"]["/zstack/v1/database-backups/image-store"]["get"]
    operation["operationId"] = "RenamedInThisFolder"
    (copy / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    run = run_suite(tmp_path / "reports", "--zstack-schemas", str(copy), "-k", "generated")
    # The renamed operation has no contract in the catalog: the generated test says so instead of passing.
    assert "no contract for operation 'RenamedInThisFolder'" in run.output, run.output
