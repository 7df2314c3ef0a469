"""The regression diff: which findings are new, fixed or unchanged between two runs, and its report and exit code."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.conftest import REPO
from tests.selftest.suite_runner import run_suite
from zstack_contract.cli import main as cli_main
from zstack_contract.engine.findings import CheckRecord, Finding, Level
from zstack_contract.reporting.regression import (
    CAVEAT_MASKED,
    CAVEAT_NOT_RUN,
    EXIT_BAD_INPUT,
    EXIT_NEW_MUST_FAILURE,
    EXIT_OK,
    TITLE,
    Counts,
    diff_runs,
    main_diff,
    render_html,
)
from zstack_contract.reporting.results import RunResults

API = "GetDatabaseBackupFromImageStore"
SHAPE_TEST = f"tests/contract/test_response_shape.py::test_valid_request_answered_with_documented_shape[{API}]"


def finding(
    *,
    api: str = API,
    case: str = "positive-call",
    rule: str = "response.shape",
    path: str = "$.infos",
    level: str = "must",
    expected: str = "field present",
    actual: str = "'infos' absent",
    note: str = "",
) -> dict[str, Any]:
    return {
        "api": api,
        "case": case,
        "rule": rule,
        "level": level,
        "path": path,
        "expected": expected,
        "actual": actual,
        "note": note,
    }


def record(
    test: str,
    *findings: dict[str, Any],
    outcome: str | None = None,
    api: str = API,
    family: str = "shape",
    evidence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if outcome is None:
        outcome = "failed" if any(f["level"] == "must" for f in findings) else "passed"
    return {
        "test": test,
        "api": api,
        "family": family,
        "case": "c",
        "rule": "r",
        "level": "must",
        "outcome": outcome,
        "message": "",
        "findings": list(findings),
        "evidence": evidence,
    }


def run(*records: dict[str, Any], level: str = "default", **meta: Any) -> dict[str, Any]:
    return {
        "resultsFormat": 1,
        "meta": {
            "suite": "zstack-contract 0.1.0",
            "target": "embedded mock",
            "version": "4.8.0",
            "level": level,
            "seed": "derandomized",
            "schemas": {API: "b1bde4fb630c"},
            "started": "2026-01-01T00:00:00+00:00",
            **meta,
        },
        "records": list(records),
    }


def key(f: dict[str, Any]) -> str:
    return f"{f['api']}|{f['case']}|{f['rule']}|{f['path']}"


A = finding()
A_OTHER_ACTUAL = finding(actual="'infos' absent (keys present: [\"backups\"])")
B = finding(case="param:missing-url", rule="param.missing-url", path="$")
B_OTHER_PATH = finding(case="param:missing-url", rule="param.missing-url", path="$.error")
SHOULD = finding(case="param:non-integer-registryPort", rule="request.no-plain-500", path="$", level="should")
DOC = finding(case="sdk", rule="doc.sdk-disagrees", level="doc")


# --------------------------------------------------------------------------------------------------------------
# Classification


@pytest.mark.parametrize(
    ("before", "after", "new", "fixed", "unchanged"),
    [
        pytest.param([A], [A], [], [], [A], id="same-finding-unchanged"),
        pytest.param([], [A], [A], [], [], id="appears-new"),
        pytest.param([A], [], [], [A], [], id="disappears-fixed"),
        pytest.param([A], [A_OTHER_ACTUAL], [], [], [A], id="only-actual-differs-unchanged"),
        pytest.param([B], [B_OTHER_PATH], [B_OTHER_PATH], [B], [], id="path-is-identity"),
        pytest.param([A, B], [B, SHOULD], [SHOULD], [A], [B], id="mixed"),
        pytest.param([], [], [], [], [], id="both-clean"),
    ],
)
def test_findings_are_classified_by_key(before, after, new, fixed, unchanged):
    diff = diff_runs(
        run(*(record(f"t::{i}", f) for i, f in enumerate(before))),
        run(*(record(f"t::{i}", f) for i, f in enumerate(after))),
    )
    assert [o.key for o in diff.new] == sorted(key(f) for f in new)
    assert [o.key for o in diff.fixed] == sorted(key(f) for f in fixed)
    assert [o.key for o in diff.unchanged] == sorted(key(f) for f in unchanged)


def test_identity_is_the_findings_own_key():
    # Which list item breaks a rule depends on the data: the finding moved, it is neither new nor fixed.
    first = Finding(
        api=API, rule="response.shape", level=Level.MUST, path="$.infos[0].size", expected="e", actual="a", case="c"
    )
    moved = replace(first, path="$.infos[2].size")
    assert first.key == moved.key  # the oracle: the key baselines use
    diff = diff_runs(run(record("t::x", first.to_json())), run(record("t::x", moved.to_json())))
    assert (diff.new, diff.fixed) == ((), ())
    assert [o.key for o in diff.unchanged] == [first.key]
    assert [o.path for o in diff.unchanged] == ["$.infos[2].size"]  # the after-run's values are shown
    both = diff_runs(run(), run(record("t::x", first.to_json(), moved.to_json())))
    assert [o.key for o in both.new] == [first.key]  # two items breaking one rule: one finding


@pytest.mark.parametrize(
    ("before", "after", "shown_actual"),
    [
        pytest.param([], [A_OTHER_ACTUAL], A_OTHER_ACTUAL["actual"], id="new-shows-after"),
        pytest.param([A_OTHER_ACTUAL], [], A_OTHER_ACTUAL["actual"], id="fixed-shows-before"),
        pytest.param([A], [A_OTHER_ACTUAL], A_OTHER_ACTUAL["actual"], id="unchanged-shows-after"),
    ],
)
def test_values_shown_come_from_the_run_that_has_the_finding(before, after, shown_actual):
    diff = diff_runs(run(*(record("t::x", f) for f in before)), run(*(record("t::x", f) for f in after)))
    (shown,) = diff.new + diff.fixed + diff.unchanged
    assert shown.actual == shown_actual


def test_one_key_from_several_tests_is_one_finding_naming_every_test():
    diff = diff_runs(run(), run(record("t::b", A_OTHER_ACTUAL), record("t::a", A)))
    (o,) = diff.new
    assert o.tests == ("t::a", "t::b")
    assert o.actual == A["actual"]  # the first test by node id, whatever the record order


# --------------------------------------------------------------------------------------------------------------
# Gating


@pytest.mark.parametrize(
    ("level", "before_level", "after_level", "gating", "is_new_must"),
    [
        pytest.param("must", "default", "default", True, True, id="must-default"),
        pytest.param("must", "default", "strict", True, True, id="must-strict"),
        pytest.param("should", "default", "default", False, False, id="should-default"),
        pytest.param("should", "default", "strict", True, False, id="should-strict-gates-but-is-not-must"),
        pytest.param("should", "strict", "default", False, False, id="only-the-after-run-mode-counts"),
        pytest.param("doc", "strict", "strict", False, False, id="doc-never-gates"),
    ],
)
def test_gating_follows_level_and_the_after_runs_mode(level, before_level, after_level, gating, is_new_must):
    f = finding(level=level)
    diff = diff_runs(run(level=before_level), run(record("t::x", f), level=after_level))
    (o,) = diff.new
    assert o.gating is gating
    assert (o in diff.new_must_failures) is is_new_must
    assert (o in diff.new_gating) is gating
    assert diff.after_strict is (after_level == "strict")


def test_only_new_must_findings_are_new_must_failures():
    diff = diff_runs(run(record("t::a", A)), run(record("t::a", A), record("t::b", B), record("t::s", SHOULD)))
    assert [o.key for o in diff.new_must_failures] == [key(B)]
    assert diff.summary() == "1 new must failure, 1 other new finding, 0 fixed, 1 unchanged"


@pytest.mark.parametrize(
    ("before", "after", "summary"),
    [
        pytest.param([A], [A], "0 new must failures, 0 fixed, 1 unchanged", id="nothing-new"),
        pytest.param([], [A, B], "2 new must failures, 0 fixed, 0 unchanged", id="plural"),
        pytest.param([A, B], [DOC], "0 new must failures, 1 other new finding, 2 fixed, 0 unchanged", id="other"),
    ],
)
def test_summary_line(before, after, summary):
    diff = diff_runs(
        run(*(record(f"t::{i}", f) for i, f in enumerate(before))),
        run(*(record(f"t::{i}", f) for i, f in enumerate(after))),
    )
    assert diff.summary() == summary


# --------------------------------------------------------------------------------------------------------------
# Test outcomes


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        pytest.param([record("t::x")], [record("t::x", A)], [("t::x", "passed", "failed", "changed")], id="broke"),
        pytest.param([record("t::x", A)], [record("t::x")], [("t::x", "failed", "passed", "changed")], id="mended"),
        pytest.param([], [record("t::x")], [("t::x", None, "passed", "added")], id="added"),
        pytest.param([record("t::x")], [], [("t::x", "passed", None, "removed")], id="removed"),
        pytest.param([record("t::x", A)], [record("t::x", A_OTHER_ACTUAL)], [], id="same-outcome"),
        pytest.param(
            [record("t::x", SHOULD)],
            [record("t::x", SHOULD, outcome="failed")],
            [("t::x", "passed", "failed", "changed")],
            id="same-findings-new-outcome",
        ),
    ],
)
def test_outcome_changes_per_test(before, after, changes):
    diff = diff_runs(run(*before), run(*after))
    assert [(c.test, c.before, c.after, c.kind) for c in diff.outcome_changes] == changes


@pytest.mark.parametrize(
    ("after_records", "caveat"),
    [
        pytest.param([record("t::x")], None, id="test-passes-now"),
        pytest.param([], CAVEAT_NOT_RUN, id="test-gone"),
        pytest.param([record("t::x", outcome="skipped")], CAVEAT_NOT_RUN, id="test-skipped"),
        pytest.param([record("t::x", B)], CAVEAT_MASKED, id="test-fails-on-something-else"),
    ],
)
def test_a_fix_is_qualified_when_the_test_did_not_show_it(after_records, caveat):
    diff = diff_runs(run(record("t::x", A)), run(*after_records))
    assert [o.key for o in diff.fixed] == [key(A)]
    assert diff.fix_caveats.get(key(A)) == caveat


# --------------------------------------------------------------------------------------------------------------
# Counts


def test_counts_per_api_and_per_family():
    other = "GetVersion"
    before = run(
        record("t::a", A, family="shape"),
        record("t::b", B, family="parameters"),
        record("t::o", finding(api=other, case="x"), api=other, family="shape"),
    )
    after = run(
        record("t::a", A, family="shape"),
        record("t::s", SHOULD, family="parameters"),
        record("t::o", finding(api=other, case="y"), api=other, family="shape"),
    )
    diff = diff_runs(before, after)
    assert diff.by_api() == {
        API: Counts(new_must=0, new_other=1, fixed=1, unchanged=1),
        other: Counts(new_must=1, new_other=0, fixed=1, unchanged=0),
    }
    assert diff.by_family() == {
        "parameters": Counts(new_must=0, new_other=1, fixed=1, unchanged=0),
        "shape": Counts(new_must=1, new_other=0, fixed=1, unchanged=1),
    }
    assert list(diff.by_api()) == sorted(diff.by_api())


# --------------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        pytest.param([], "not a results file", id="top-level-list"),
        pytest.param({"resultsFormat": 1}, "'records' is missing", id="no-records"),
        pytest.param({"records": [], "meta": []}, "'meta' is not an object", id="meta-list"),
        pytest.param({"records": ["x"]}, "records[0]: not an object", id="record-not-object"),
        pytest.param({"records": [{"outcome": "passed"}]}, "records[0]: missing or non-text 'test'", id="no-test"),
        pytest.param(
            {"records": [{"test": "t", "outcome": "failed", "findings": {}}]}, "'findings' is not a list", id="f-dict"
        ),
        pytest.param(
            {"records": [{"test": "t", "outcome": "failed", "findings": [{"api": "a", "rule": "r", "level": "must"}]}]},
            "records[0].findings[0]: missing or non-text 'path'",
            id="finding-without-path",
        ),
    ],
)
def test_malformed_results_are_named(bad, message):
    with pytest.raises(ValueError, match="after") as info:
        diff_runs(run(), bad)
    assert message in str(info.value)


# --------------------------------------------------------------------------------------------------------------
# HTML


def html_for(before: dict[str, Any], after: dict[str, Any]) -> str:
    return render_html(diff_runs(before, after), before["meta"], after["meta"])


def test_html_escapes_everything_it_copies():
    script = "<script>alert('x')</script>"
    hostile = finding(
        case=f"case{script}",
        rule="r&<b>",
        path='$["<i>"]',
        expected=f"e{script}",
        actual=f"HTTP 500: {script}",
        note=script,
    )
    before = run(target=f"mock {script}")
    after = run(record(f"t::x[{script}]", hostile), target="mock", schemas={f"Api{script}": script})
    page = html_for(before, after)
    assert "<script" not in page
    assert "<b>" not in page
    assert "<i>" not in page
    assert "HTTP 500: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "t::x[&lt;script&gt;" in page


def test_html_puts_a_coloured_summary_first_then_the_sections():
    bad = html_for(run(record("t::a", B)), run(record("t::a", B), record("t::b", A), record("t::d", DOC)))
    body = bad.split("<body>", 1)[1].lstrip()
    assert body.startswith(
        '<p class="summary bad" id="summary">1 new must failure, 1 other new finding, 0 fixed, 1 unchanged</p>'
    )
    assert f"<title>{TITLE}</title>" in bad
    positions = [bad.index(f'id="{s}"') for s in ("summary", "new", "fixed", "unchanged")]
    assert positions == sorted(positions)
    assert bad.count('<tr class="gating">') == 2  # the new must and the unchanged must; doc never gates
    good = html_for(run(record("t::a", A)), run(record("t::a")))
    assert '<p class="summary good" id="summary">0 new must failures, 1 fixed, 0 unchanged</p>' in good


def test_html_is_self_contained():
    page = html_for(run(record("t::a", A)), run(record("t::b", B)))
    for external in ("<script", "<link", "src=", "http://", "https://", "@import"):
        assert external not in page


def test_html_compares_the_runs_meta():
    before = run(target="mn-a:8080", version="4.7.0", seed="1", started="2026-01-01T00:00:00+00:00")
    after = run(target="mn-b:8080", version="4.8.0", seed="2", level="strict", started="2026-01-02T00:00:00+00:00")
    page = html_for(before, after)
    for label, old, new in [
        ("Target", "mn-a:8080", "mn-b:8080"),
        ("ZStack version", "4.7.0", "4.8.0"),
        ("Level", "default", "strict"),
        ("Seed", "1", "2"),
    ]:
        assert f'<tr class="differs"><th>{label}</th><td>{old}</td><td>{new}</td></tr>' in page
    assert f"<tr><th>Schema digests</th><td>{API}: b1bde4fb630c</td><td>{API}: b1bde4fb630c</td></tr>" in page
    assert "2026-01-01T00:00:00+00:00" in page
    assert "2026-01-02T00:00:00+00:00" in page
    assert "<tr><th>Suite version</th><td>zstack-contract 0.1.0</td>" in page


def test_html_is_deterministic_whatever_the_record_order():
    records = [record(f"t::{i}", f) for i, f in enumerate([A, B, SHOULD, DOC])]
    before = run(*records[:2])
    shuffled = records[1:]
    random.Random(7).shuffle(shuffled)
    first = html_for(before, run(*records[1:]))
    assert first == html_for(before, run(*records[1:]))
    assert first == html_for(before, run(*shuffled))


def test_rows_carry_every_column_and_the_test_id():
    page = html_for(run(), run(record(SHAPE_TEST, A)))
    new_table = page.split('id="new"', 1)[1].split('id="fixed"', 1)[0]
    for cell in (API, "positive-call", "response.shape", "must (gating)", "<code>$.infos</code>", "field present"):
        assert f"<td>{cell}" in new_table
    assert "<td>&#39;infos&#39; absent</td>" in new_table
    assert f"<code>{SHAPE_TEST}</code>" in new_table


def test_nothing_but_copied_fields_reaches_the_report(tmp_path):
    # Evidence holds raw requests; the diff shows findings only, so nothing from evidence may leak into its output.
    after = run(record("t::x", A, evidence={"request": "Authorization: OAuth 0123-secret-session"}))
    before_file, after_file = write(tmp_path, "before", run()), write(tmp_path, "after", after)
    out_html, out_json = tmp_path / "r.html", tmp_path / "r.json"
    main_diff([str(before_file), str(after_file), "--html", str(out_html), "--json", str(out_json)])
    assert "secret-session" not in out_html.read_text(encoding="utf-8")
    assert "secret-session" not in out_json.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# Command line


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        pytest.param(run(record("t::a", A)), run(record("t::a", A)), EXIT_OK, id="unchanged"),
        pytest.param(run(record("t::a", A)), run(record("t::a")), EXIT_OK, id="fixed"),
        pytest.param(run(), run(record("t::s", SHOULD), level="strict"), EXIT_OK, id="new-strict-should"),
        pytest.param(run(), run(record("t::a", A)), EXIT_NEW_MUST_FAILURE, id="new-must"),
        pytest.param(
            run(record("t::a", finding(path="$.infos[0].size"))),
            run(record("t::a", finding(path="$.infos[2].size"))),
            EXIT_OK,
            id="moved-in-a-list",
        ),
    ],
)
def test_main_diff_exit_code(tmp_path, capsys, before, after, code):
    out = tmp_path / "out" / "report.html"
    argv = [str(write(tmp_path, "before", before)), str(write(tmp_path, "after", after)), "--html", str(out)]
    assert main_diff(argv) == code
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    captured = capsys.readouterr()
    assert captured.err == ""
    assert f"HTML report: {out}" in captured.out


def test_main_diff_lists_each_new_must_failure_on_one_line(tmp_path, capsys):
    multi = finding(actual="line one\nline two")
    argv = [
        str(write(tmp_path, "before", run(record("t::b", B)))),
        str(write(tmp_path, "after", run(record("t::a", multi), record("t::b", B), record("t::s", SHOULD)))),
        "--html",
        str(tmp_path / "r.html"),
    ]
    assert main_diff(argv) == EXIT_NEW_MUST_FAILURE
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ZStack contract regression: 1 new must failure, 1 other new finding, 0 fixed, 1 unchanged"
    new_must = [line for line in lines if line.startswith("NEW MUST")]
    assert new_must == [f"NEW MUST {key(multi)}  expected: field present  actual: line one\\nline two"]


def test_main_diff_writes_json(tmp_path, capsys):
    out_json = tmp_path / "deep" / "diff.json"
    argv = [
        str(write(tmp_path, "before", run(record("t::b", B)))),
        str(write(tmp_path, "after", run(record("t::a", A)))),
        "--html",
        str(tmp_path / "r.html"),
        "--json",
        str(out_json),
    ]
    assert main_diff(argv) == EXIT_NEW_MUST_FAILURE
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["newMustFailures"] == [key(A)]
    assert [f["key"] for f in data["fixed"]] == [key(B)]
    assert data["fixed"][0]["caveat"] == CAVEAT_NOT_RUN
    assert data["byApi"][API] == {"newMust": 1, "newOther": 0, "fixed": 1, "unchanged": 0}
    assert data["after"]["version"] == "4.8.0"
    assert f"JSON: {out_json}" in capsys.readouterr().out


def test_main_diff_default_html_path_is_under_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before, after = write(tmp_path, "before", run()), write(tmp_path, "after", run())
    assert main_diff([str(before), str(after)]) == EXIT_OK
    assert (tmp_path / "reports" / "regression-report.html").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "no such results file", id="missing"),
        pytest.param("{not json", "not a results file", id="not-json"),
        pytest.param(b"\xff\xfe{", "not a results file", id="not-utf8"),
        pytest.param("[1, 2]", "top level is not a JSON object", id="json-list"),
        pytest.param('{"resultsFormat": 99, "records": []}', "results format 99", id="wrong-format"),
        pytest.param('{"resultsFormat": 1, "records": [{"test": "t"}]}', "missing or non-text 'outcome'", id="record"),
        pytest.param("dir", "Is a directory", id="directory"),
    ],
)
def test_main_diff_bad_input_is_one_message_and_exit_2(tmp_path, capsys, content, message):
    good = write(tmp_path, "good", run())
    bad = tmp_path / "bad.json"
    if content == "dir":
        bad.mkdir()
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content, encoding="utf-8")
    out = tmp_path / "r.html"
    assert main_diff([str(good), str(bad), "--html", str(out)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: ")
    assert str(bad) in captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()


@pytest.mark.parametrize("prefix", [[], ["--schemas", "schemas"]], ids=["diff-first", "after-schemas"])
def test_cli_runs_diff_after_top_level_options(tmp_path, prefix):
    # python -m zstack_contract --schemas schemas diff ... used to end in an AttributeError traceback.
    before, after = write(tmp_path, "before", run()), write(tmp_path, "after", run(record("t::a", A)))
    out = tmp_path / "r.html"
    command = [sys.executable, "-m", "zstack_contract", *prefix, "diff", str(before), str(after), "--html", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=REPO)
    assert proc.returncode == EXIT_NEW_MUST_FAILURE, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.startswith("ZStack contract regression: 1 new must failure")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_diff_help_is_the_diffs_own(capsys):
    assert cli_main(["--schemas", "schemas", "diff", "--help"]) == 0
    assert "usage: zstack-contract diff" in capsys.readouterr().out


@pytest.mark.parametrize("verdict", ["NOT RUN", "INTERRUPTED"])
@pytest.mark.parametrize("side", ["before", "after"])
def test_a_run_that_did_not_complete_is_refused(tmp_path, capsys, verdict, side):
    # Its records stop where the run stopped: diffed, every finding it never reached would show as fixed, exit 0.
    complete = run(record("t::a", A))
    stopped = run(verdict=verdict, reason="the session given is no longer valid\n(ID.1001)")
    before, after = (stopped, complete) if side == "before" else (complete, stopped)
    out = tmp_path / "r.html"
    argv = [str(write(tmp_path, "before", before)), str(write(tmp_path, "after", after)), "--html", str(out)]
    assert main_diff(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{side}.json: the run did not complete ({verdict}: the session given is no longer valid (ID.1001))" in err
    assert not out.exists()


def test_the_verdict_is_compared_like_the_other_meta():
    page = html_for(run(verdict="NOT CONFORMING"), run(verdict="CONFORMING"))
    assert '<tr class="differs"><th>Verdict</th><td>NOT CONFORMING</td><td>CONFORMING</td></tr>' in page
    assert '<tr><th>Verdict</th><td><span class="muted">not recorded</span></td>' in html_for(run(), run())


def test_main_diff_usage_error_is_exit_2(tmp_path, capsys):
    assert main_diff([str(tmp_path / "only-one.json")]) == EXIT_BAD_INPUT
    assert "usage:" in capsys.readouterr().err


def test_main_diff_unwritable_output_is_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    good = str(write(tmp_path, "good", run()))
    assert main_diff([good, good, "--html", str(blocker / "r.html")]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith("error: ")


def test_a_written_results_file_round_trips(tmp_path):
    f = Finding(api=API, rule="response.shape", level=Level.MUST, path="$.infos", expected="e", actual="a", case="c")
    results = RunResults(
        meta={"level": "default"},
        records=[
            CheckRecord(
                test="t::x", api=API, family="shape", case="c", rule="r", level="must", outcome="failed", findings=[f]
            )
        ],
    )
    results.write(tmp_path / "after.json")
    before = write(tmp_path, "before", run())
    argv = [str(before), str(tmp_path / "after.json"), "--html", str(tmp_path / "r.html")]
    assert main_diff(argv) == EXIT_NEW_MUST_FAILURE


# --------------------------------------------------------------------------------------------------------------
# End to end: the real suite against the conforming mock and the `backups-key` deviation, both directions.


def test_diff_of_two_real_runs(tmp_path, capsys):
    conforming = run_suite(tmp_path / "conforming")
    deviating = run_suite(tmp_path / "backups-key", "--zstack-mock-deviation", "backups-key")
    assert conforming.returncode == 0, conforming.output
    assert deviating.returncode == 1, deviating.output
    good, bad = tmp_path / "conforming" / "contract-results.json", tmp_path / "backups-key" / "contract-results.json"

    out = tmp_path / "forward.html"
    assert main_diff([str(good), str(bad), "--html", str(out)]) == EXIT_NEW_MUST_FAILURE
    stdout = capsys.readouterr().out
    shape_key = f"{API}|positive-call|response.shape|$.infos"
    assert f"NEW MUST {shape_key}  expected: " in stdout
    page = out.read_text(encoding="utf-8")
    assert '<p class="summary bad"' in page
    new_table = page.split('id="new"', 1)[1].split('id="fixed"', 1)[0]
    assert "<td>response.shape</td>" in new_table
    assert "<code>$.infos</code>" in new_table

    assert conforming.results is not None
    assert deviating.results is not None
    forward = diff_runs(conforming.results, deviating.results)
    assert shape_key in {o.key for o in forward.new_must_failures}
    assert {(o.rule, o.path) for o in forward.new_must_failures} == {("response.shape", "$.infos")}
    assert (SHAPE_TEST, "passed", "failed") in {(c.test, c.before, c.after) for c in forward.outcome_changes}

    back = tmp_path / "back.html"
    assert main_diff([str(bad), str(good), "--html", str(back)]) == EXIT_OK
    assert '<p class="summary good"' in back.read_text(encoding="utf-8")
    reverse = diff_runs(deviating.results, conforming.results)
    assert shape_key in {o.key for o in reverse.fixed}
    assert reverse.new_must_failures == ()
    assert shape_key not in reverse.fix_caveats  # its test ran and passed: really fixed
