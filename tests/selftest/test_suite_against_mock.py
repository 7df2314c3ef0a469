"""The key self-test: the contract suite passes on the conforming mock and catches every deviation.

Each deviation names the contract test meant to catch it; catching it with some other test does not count.
Should-level deviations are run with --zstack-strict, and must add a failure the conforming mock does not
have under --zstack-strict (real ZStack itself breaks one should-rule: HTTP 500 on a non-numeric int).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.selftest.conftest import REPO
from tests.selftest.suite_runner import SuiteRun, run_suite
from zstack_contract.mock import DEVIATIONS

AUTH = "tests/contract/test_auth.py::test_request_without_valid_session_refused[GetDatabaseBackupFromImageStore-{}]"
PARAM = "tests/contract/test_parameters.py::test_parameter_rule[GetDatabaseBackupFromImageStore-{}]"
SHAPE = (
    "tests/contract/test_response_shape.py::test_valid_request_answered_with_documented_shape"
    "[GetDatabaseBackupFromImageStore]"
)
LOGIN = "tests/contract/test_auth.py::test_login_with_wrong_password_refused"
GENERATED = "tests/contract/test_generated.py::test_generated_request"
LISTS = "tests/contract/test_list_encodings.py::test_list_encodings_agree[GetDatabaseBackupFromImageStore-{}]"
REPLAY = "tests/contract/test_examples.py::test_documented_request_replayed[GetDatabaseBackupFromImageStore]"

# deviation -> the test(s) that must fail because of it (at least one of them)
CATCHERS: dict[str, tuple[str, ...]] = {
    "auth-ignored": (AUTH.format("no-authorization-header"), AUTH.format("unknown-session")),
    "auth-401": (AUTH.format("no-authorization-header"),),
    "session-not-invalidated": (AUTH.format("session-after-logout"),),
    "login-any-password": (LOGIN,),
    "backups-key": (SHAPE,),
    "size-as-string": (SHAPE,),
    "iso-dates": (SHAPE,),
    "created-epoch-millis": (SHAPE,),
    "missing-author": (SHAPE,),
    "validation-skipped": (PARAM.format("missing-url"), PARAM.format("empty-url")),
    "port-range-unchecked": (PARAM.format("above-range-registryPort"), PARAM.format("below-range-registryPort")),
    "error-unwrapped": (PARAM.format("missing-url"),),
    "error-as-200": (PARAM.format("missing-url"),),
    "error-missing-code": (PARAM.format("missing-url"),),
    "plain-500-on-missing-url": (PARAM.format("missing-url"),),
    "duplicate-scalar-accepted": (PARAM.format("duplicate-url"),),
    "unknown-param-rejected": (PARAM.format("unknown-parameter-ignored"),),
    "indexed-lists-rejected": (PARAM.format("indexed-keys-systemTags"), LISTS.format("systemTags")),
    "wrong-session-code": (AUTH.format("unknown-session"),),
    "content-type-html": (SHAPE,),
    "cause-as-string": (REPLAY, GENERATED),
    # Reached only by generated inputs: an empty repository, odd tag or url characters, sizes above int32.
    "infos-omitted-when-empty": (GENERATED,),
    "server-error-on-tag-chars": (GENERATED, LISTS.format("systemTags")),
    "server-error-non-ascii-url": (GENERATED,),
    "size-string-when-large": (GENERATED,),
}
TOLERATED = sorted(name for name, d in DEVIATIONS.items() if d.level == "tolerated")


@pytest.fixture(scope="module")
def conforming_strict(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    return run_suite(tmp_path_factory.mktemp("conforming-strict"), "--zstack-strict")


def test_every_deviation_has_a_catcher_or_is_tolerated() -> None:
    assert sorted(set(DEVIATIONS) - set(CATCHERS) - set(TOLERATED)) == []


def test_suite_passes_on_the_conforming_mock(tmp_path: Path) -> None:
    run = run_suite(tmp_path, html=True)
    assert run.returncode == 0, run.output
    assert run.failed == set()
    outcomes = {r["outcome"] for r in run.records}
    assert "passed" in outcomes
    assert (tmp_path / "contract-report.html").exists()
    assert (tmp_path / "contract-junit.xml").exists()
    assert not (REPO / ".hypothesis").exists()  # no cache or example database written into the checkout


def test_strict_run_on_the_conforming_mock_fails_only_where_zstack_itself_does(conforming_strict: SuiteRun) -> None:
    # Both are real ZStack's HTTP 500 on a non-numeric registryPort (protocol notes §1), once hand-written, once
    # found by generation.
    assert conforming_strict.failed == {PARAM.format("non-integer-registryPort"), GENERATED}, conforming_strict.output


@pytest.mark.parametrize("deviation", sorted(CATCHERS))
def test_deviation_caught(deviation: str, tmp_path: Path, conforming_strict: SuiteRun) -> None:
    strict = DEVIATIONS[deviation].level == "should"
    run = run_suite(tmp_path, "--zstack-mock-deviation", deviation, *(["--zstack-strict"] if strict else []))
    assert run.returncode == 1, f"the suite did not fail against deviation {deviation}:\n{run.output}"
    caught_by = run.failed & set(CATCHERS[deviation])
    assert caught_by, (
        f"{deviation} made {sorted(run.failed)} fail, but none of the tests meant to catch it: "
        f"{CATCHERS[deviation]}\n{run.output}"
    )
    if strict:
        assert not caught_by & conforming_strict.failed


@pytest.mark.parametrize("deviation", TOLERATED)
def test_tolerated_variation_passes(deviation: str, tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--zstack-mock-deviation", deviation)
    assert run.returncode == 0, run.output
    assert run.failed == set()
