"""The rules applied to one exchange, against answers written out by hand (no server involved).

Each expected finding is listed literally: the rule and level a client-breaking answer must get, the deepest
path a schema defect must be reported at, the documentation findings of the seed page as read from the page.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, cast

import pytest

from tests.contract.test_auth import _auth
from tests.contract.test_list_encodings import agreement, list_encoding_findings
from tests.selftest.conftest import SCHEMAS
from tests.selftest.page_example import DOC_EXAMPLE_ITEM
from zstack_contract.engine.checks import check_exchange, finding
from zstack_contract.engine.doccheck import doc_records
from zstack_contract.engine.findings import Level
from zstack_contract.engine.rules import Rule
from zstack_contract.engine.validation import schema_findings
from zstack_contract.generation import expectations as table
from zstack_contract.generation.cases import AuthMode, RequestCase
from zstack_contract.specs.contract import load_contract
from zstack_contract.transport.client import Exchange, LoginRejectedError
from zstack_contract.transport.secret import Secret
from zstack_contract.transport.target import Target

PAGES = Path(__file__).resolve().parent / "pages"
API = load_contract(SCHEMAS / "GetDatabaseBackupFromImageStore")
OK = json.dumps({"infos": [DOC_EXAMPLE_ITEM]})


def envelope(code: str) -> str:
    return json.dumps({"error": {"code": code, "description": "d", "details": "x"}})


def make_exchange(status: int, text: str, **attrs: Any) -> Exchange:
    """An Exchange as the client would build it; extra attributes (``problem``, ``auth``) set as given."""
    values: dict[str, Any] = {
        "method": "GET",
        "url": "http://127.0.0.1:1/zstack/v1/database-backups/image-store",
        "path": "/zstack/v1/database-backups/image-store",
        "query": [],
        "headers": {},
        "body": None,
        "status": status,
        "response_headers": {},
        "text": text,
        "elapsed": 0.0,
        **attrs,
    }
    names = {f.name for f in dataclasses.fields(Exchange) if f.init}
    exchange = Exchange(**{k: v for k, v in values.items() if k in names})
    for key, value in attrs.items():
        if key not in names:
            setattr(exchange, key, value)
    return exchange


def rules(findings: list[Any]) -> list[tuple[str, Level]]:
    return [(f.rule, f.level) for f in findings]


MUST, SHOULD = Level.MUST, Level.SHOULD


# The status and error-code class clients branch on gate; the exact texts do not.


@pytest.mark.parametrize(
    ("expectation", "status", "text", "expected"),
    [
        pytest.param(table.invalid_session(), 503, envelope("ID.1001"), [], id="session-ok"),
        pytest.param(
            table.invalid_session(),
            400,
            "invalid session",
            [("request.refusal-class", MUST)],
            id="unknown-session-as-400-plain-text",
        ),
        pytest.param(
            table.invalid_session(), 503, envelope("SYS.1000"), [("request.refusal-class", MUST)], id="session-code"
        ),
        pytest.param(
            table.invalid_session(),
            401,
            envelope("ID.1001"),
            [("request.refusal-class", MUST)],
            id="session-as-401",
        ),
        pytest.param(
            table.invalid_session(arguments_complete=False),
            503,
            envelope("SYS.1007"),
            [],
            id="session-case-without-required-values-validated-first",
        ),
        pytest.param(
            table.invalid_session(arguments_complete=False),
            400,
            "invalid session",
            [("request.refusal-class", MUST)],
            id="session-case-without-required-values-status",
        ),
        pytest.param(table.invalid_argument(), 503, envelope("SYS.1007"), [], id="argument-ok"),
        pytest.param(
            table.invalid_argument(),
            503,
            envelope("ID.1001"),
            [("request.refusal-class", MUST)],
            id="missing-argument-as-session-error",
        ),
        pytest.param(
            table.invalid_argument(),
            500,
            "java.lang.NullPointerException",
            [("request.refusal-class", MUST)],
            id="missing-argument-as-plain-500",
        ),
        pytest.param(table.wrong_credentials(), 503, envelope("ID.1000"), [], id="credentials-ok"),
        pytest.param(
            table.wrong_credentials(), 503, envelope("ID.1001"), [("request.refusal-class", MUST)], id="credentials"
        ),
        pytest.param(table.missing_authorization(), 400, "missing header 'Authorization'", [], id="header-ok"),
        pytest.param(
            table.missing_authorization(), 400, "Authorization required", [("request.zstack-error", SHOULD)], id="text"
        ),
        pytest.param(
            table.missing_authorization(),
            401,
            envelope("ID.1001"),
            [("request.refusal-class", MUST)],
            id="missing-header-as-401",
        ),
        pytest.param(table.wrong_scheme(), 403, "no", [("request.refusal-class", MUST)], id="scheme-as-403"),
        pytest.param(
            table.duplicate_scalar("url"), 200, OK, [("request.refused", MUST)], id="duplicate-scalar-accepted"
        ),
        pytest.param(table.duplicate_scalar("url"), 400, "other text", [("request.zstack-error", SHOULD)], id="dup"),
        pytest.param(
            table.non_numeric(),
            500,
            'For input string: "abc"',
            [("request.no-plain-500", SHOULD)],
            id="non-numeric-as-real-zstack",
        ),
        pytest.param(table.non_numeric(), 503, envelope("SYS.1007"), [], id="non-numeric-ok"),
        pytest.param(table.non_numeric(), 200, OK, [("request.refused", MUST)], id="non-numeric-accepted"),
    ],
)
def test_refusal_levels(
    expectation: table.Expectation, status: int, text: str, expected: list[tuple[str, Level]]
) -> None:
    findings = check_exchange(API, "case", make_exchange(status, text), expectation)
    assert [r for r in rules(findings) if not r[0].startswith(("response.", "error."))] == expected


def test_refusal_class_names_status_and_code() -> None:
    [f] = check_exchange(API, "case", make_exchange(400, "invalid session"), table.invalid_session())
    assert f.expected == "HTTP 503, error code ID.1001"
    assert f.actual == "HTTP 400: invalid session"
    assert "ID.1001" in f.note


# request.authenticated: an ID.* refusal of a request that should succeed is no acceptable API error.


@pytest.mark.parametrize("expectation", [table.valid_request(), table.positive_call(), table.repeated_list_keys()])
def test_session_refused_on_a_valid_request_is_a_must_failure(expectation: table.Expectation) -> None:
    findings = check_exchange(API, "case", make_exchange(503, envelope("ID.1001")), expectation)
    assert rules(findings) == [("request.authenticated", MUST)]
    assert "{sessionUuid}" in findings[0].expected


def test_operation_failure_is_still_an_acceptable_api_error() -> None:
    assert check_exchange(API, "case", make_exchange(503, envelope("SYS.1006")), table.valid_request()) == []


def test_session_refusal_of_a_request_sent_without_the_session_is_not_request_authenticated() -> None:
    exchange = make_exchange(503, envelope("ID.1001"), auth="none")
    assert "request.authenticated" not in [f.rule for f in check_exchange(API, "c", exchange, table.valid_request())]


# api.not-served and response.unjudgeable.


@pytest.mark.parametrize(
    "expectation",
    [table.valid_request(), table.invalid_session(), table.missing_authorization(), table.invalid_argument()],
)
def test_api_not_served_is_reported_and_never_a_refusal(expectation: table.Expectation) -> None:
    exchange = make_exchange(404, "no api mapping to /v1/database-backups/image-store")
    assert rules(check_exchange(API, "case", exchange, expectation)) == [("api.not-served", MUST)]


def test_other_404_is_an_ordinary_refusal() -> None:
    exchange = make_exchange(404, "<html>Not Found</html>")
    assert rules(check_exchange(API, "case", exchange, table.valid_request())) == [("request.accepted", MUST)]


def test_unjudgeable_body_is_a_must_finding() -> None:
    exchange = make_exchange(200, "[" * 10, problem="JSON nested deeper than 1000 levels")
    findings = check_exchange(API, "case", exchange, table.positive_call())
    assert rules(findings) == [("response.unjudgeable", MUST)]
    assert "nested deeper" in findings[0].actual


@pytest.mark.parametrize("text", ["", "{}"], ids=["empty-body", "empty-object"])
def test_result_less_api_may_answer_200_with_no_body(text: str) -> None:
    # RestServer writes an empty ApiResponse as "" (sendResponse: response.isEmpty() ? "" : toJson): real ZStack's
    # LogOut and Delete answer 200 with no body where the pages print {}.
    logout = load_contract(SCHEMAS / "LogOut")
    assert check_exchange(logout, "case", make_exchange(200, text), table.positive_call()) == []


def test_an_empty_body_is_still_a_must_finding_where_a_result_is_due() -> None:
    findings = check_exchange(API, "case", make_exchange(200, ""), table.positive_call())
    assert ("response.json", MUST) in rules(findings)


def test_new_rules_are_must() -> None:
    for rule in ("request.authenticated", "api.not-served", "response.unjudgeable", "request.refusal-class"):
        assert Rule(rule).level is Level.MUST


def test_a_misspelt_rule_is_an_error_where_it_is_named() -> None:
    with pytest.raises(ValueError, match=r"query\.limt"):
        finding("QueryZone", "case", "query.limt", "$", "x", "y")


# Findings name the deepest failing path.


def _shape(body: Any) -> list[tuple[str, str]]:
    findings = schema_findings(body, API.response_validator, api="x", rule="response.shape", level=Level.MUST)
    return [(f.path, f.expected) for f in findings]


def test_cause_lacking_code_is_reported_at_the_missing_field() -> None:
    error = {"code": "SYS.1006", "description": "d", "details": "x", "cause": {"description": "d", "details": "x"}}
    [(path, expected)] = _shape({"infos": [], "error": error})
    assert path == "$.error.cause.code"
    assert expected.startswith("field present")


def test_cause_of_the_wrong_type_is_reported_at_the_cause() -> None:
    error = {"code": "SYS.1006", "description": "d", "details": "x", "cause": "connection refused"}
    assert _shape({"infos": [], "error": error}) == [("$.error.cause", "type: object")]


def test_every_defect_of_the_meant_alternative_is_reported() -> None:
    error = {"details": "x"}
    assert sorted(p for p, _ in _shape({"infos": [], "error": error})) == ["$.error.code", "$.error.description"]


def test_value_of_no_alternatives_type_names_the_alternatives() -> None:
    assert _shape({"infos": [], "error": "boom"}) == [("$.error", "a ZStackErrorCode (or null)")]


# The list-encodings property: only what the server repeats deterministically is compared.


def test_identical_answers_agree() -> None:
    assert agreement(make_exchange(200, OK), make_exchange(200, OK), make_exchange(200, OK)) == (
        True,
        "status and body",
    )


def test_two_different_plain_text_bodies_differ() -> None:
    first = make_exchange(400, "one")
    agree, _ = agreement(first, make_exchange(400, "one"), make_exchange(400, "two"))
    assert not agree


def test_non_deterministic_bodies_compare_statuses_only_and_say_so() -> None:
    other = json.dumps({"infos": []})
    agree, compared = agreement(make_exchange(200, OK), make_exchange(200, other), make_exchange(200, "{}"))
    assert agree
    assert compared.startswith("status only")
    agree, _ = agreement(make_exchange(200, OK), make_exchange(200, other), make_exchange(503, envelope("SYS.1007")))
    assert not agree


def test_disagreement_message_does_not_repeat_itself() -> None:
    indexed = make_exchange(503, envelope("SYS.1007"))
    findings = list_encoding_findings(API, "c", make_exchange(200, OK), make_exchange(200, OK), indexed)
    assert rules(findings) == [("request.should-accept", SHOULD), ("request.list-encodings-agree", SHOULD)]
    agree = findings[-1]
    assert agree.actual.startswith("HTTP 503 ")
    assert "got" not in agree.actual
    assert agree.expected.startswith("the answer to repeated keys (k=a&k=b): HTTP 200")


def test_indexed_keys_refused_is_should_only_in_every_judge() -> None:
    """The one table: a 400 for indexed keys is not a must failure, whichever test meets it."""
    indexed = make_exchange(400, "bad key")
    findings = list_encoding_findings(API, "c", make_exchange(200, OK), make_exchange(200, OK), indexed)
    assert {f.level for f in findings} == {SHOULD}
    from zstack_contract.engine.oracle import expectation_for

    oracle = expectation_for(API, [("url", "sftp://s.invalid/x"), ("systemTags.0", "a")])
    assert oracle == table.indexed_list_keys()
    assert {f.level for f in check_exchange(API, "c", indexed, oracle)} == {SHOULD}


# Documentation findings are records, not test outcomes; the seed page's, as read from the page.

SEED_DOC_FINDINGS = {
    # The field table marks parent, blobsum and desc Required; the response example has none of them.
    ("doc.example-required", "$.infos[0].parent"),
    ("doc.example-required", "$.infos[0].blobsum"),
    ("doc.example-required", "$.infos[0].desc"),
    # Required fields whose description says "null on success" / "Default is null" / "null if no root error".
    ("doc.required-but-null", "$.error"),
    ("doc.required-but-null", "$.error.elaboration"),
    ("doc.required-but-null", "$.error.opaque"),
    ("doc.required-but-null", "$.error.cause"),
    # The SDKs read 'backups' where the page says 'infos' (protocol notes §5).
    ("doc.sdk-disagrees", "$.infos"),
    # The example prints "size": 7995392.0 and "virtualsize": 1.268224E7 for Long fields.
    ("doc.example-number-format", "$..size"),
    ("doc.example-number-format", "$..virtualsize"),
}


def test_doc_records_list_the_seed_pages_documentation_findings() -> None:
    records = doc_records([API])
    assert {r.family for r in records} == {"docs"}
    assert {r.outcome for r in records} == {"doc-finding"}
    assert {(f.rule, f.path) for r in records for f in r.findings} == SEED_DOC_FINDINGS
    assert all(f.level is Level.DOC for r in records for f in r.findings)
    assert len({r.test for r in records}) == len(records)
    assert all(r.to_json()["findings"] for r in records)


def test_required_but_null_follows_zstack_semantics_not_the_wording(tmp_path: Path) -> None:
    """QueryDatabaseBackup words its error members differently from the seed page; they are null by design all
    the same (ErrorCode members other than code/description/details), so the page's Required is a doc finding."""
    from zstack_contract.cli import main
    from zstack_contract.engine.doccheck import required_but_null

    assert main(["--schemas", str(tmp_path), "import", str(PAGES / "QueryDatabaseBackup.txt")]) == 0
    api = load_contract(tmp_path / "QueryDatabaseBackup")
    paths = {f.path for f in required_but_null(api)}
    assert {"$.error", "$.error.elaboration", "$.error.opaque", "$.error.cause"} <= paths
    assert not paths & {"$.error.code", "$.error.description", "$.error.details"}


# session-after-logout: a second login that fails is a clear failure message, not a traceback.


class _RefusingTarget:
    can_login = True

    def new_session(self) -> Secret:
        raise LoginRejectedError("login refused: HTTP 503 ID.1006 max concurrent sessions")


def test_login_refused_in_session_after_logout_skips_saying_why() -> None:
    # Not a finding against the API under test (the case could not be set up), and not a crash: a skip that
    # names the refusal; test_login_inventory_shape judges the login itself.
    case = RequestCase("session-after-logout", "auth", (), table.invalid_session(), auth=AuthMode.LOGGED_OUT)
    with pytest.raises(pytest.skip.Exception) as skipped:
        _auth(case, cast(Target, _RefusingTarget()))
    assert str(skipped.value).startswith("cannot set up: logging in a session of the suite's own failed")
    assert "ID.1006" in str(skipped.value)


def test_a_record_travels_as_plain_strings() -> None:
    # execnet (xdist) serialises exact built-in types only: an enum in a record crashed the worker.
    from zstack_contract.engine.findings import CheckRecord, Family

    found = finding("X", "c", "request.refused", "$", "a refusal", "HTTP 200")
    record = CheckRecord("t::x", "X", Family.ASYNC, "c", Rule.REQUEST_REFUSED, Level.MUST, "failed", findings=[found])
    data = record.to_json()
    assert [type(data[k]) for k in ("family", "rule", "level", "outcome")] == [str, str, str, str]
    assert data["family"] == "async"
    assert type(data["findings"][0]["rule"]) is str
