"""The async protocol judged on hand-built JobRuns: a conforming job passes, each way of breaking it is one finding
under the rule meant for it, at its level, with a message a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.test_transport import settings_for
from zstack_contract.engine.async_checks import job_findings
from zstack_contract.engine.findings import Finding, Level
from zstack_contract.engine.rules import RULES, Rule
from zstack_contract.generation import expectations as ex
from zstack_contract.mock.family import BS_IMAGE_STORE
from zstack_contract.specs.contract import ApiContract, load_catalog, load_contract
from zstack_contract.transport.cleanup import clean_up
from zstack_contract.transport.client import Auth, Exchange
from zstack_contract.transport.jobs import JOBS_PREFIX, JobRun, submit
from zstack_contract.transport.ledger import RESOURCE_PREFIX, resource_name
from zstack_contract.transport.target import Target, open_target

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
JOB = "0f" * 16
BASE = "http://127.0.0.1:8080"
ERROR = {"error": {"code": "SYS.1007", "description": "One or more API argument is invalid", "details": "name"}}
SESSION_ERROR = {"error": {"code": "ID.1001", "description": "session expired", "details": "no session"}}


@pytest.fixture(scope="module")
def create() -> ApiContract:
    return load_contract(SCHEMAS / "CreateDatabaseBackup")


@pytest.fixture(scope="module")
def inventory(create: ApiContract) -> str:
    return create.spec.example.response_text


def exchange(status: int, body: Any, method: str = "GET", path: str = JOBS_PREFIX + JOB) -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(
        method=method,
        url=BASE + path,
        path=path,
        query=[],
        headers={"Authorization": "OAuth {sessionUuid}"} if method != "GET" else {},
        body='{"params": {"name": "n"}}' if method != "GET" else None,
        status=status,
        response_headers={},
        text=text,
        elapsed=0.01,
        auth="session" if method != "GET" else "none",
    )


def accepted(body: Any = None) -> Exchange:
    default = {"location": f"{BASE}{JOBS_PREFIX}{JOB}", "apiTimeout": 1800000}
    return exchange(202, default if body is None else body, method="POST", path="/zstack/v1/database-backups")


def run_of(first: Exchange, polls: list[Exchange], *, final: bool = True, gave_up: str = "") -> JobRun:
    return JobRun(
        first=first,
        polls=polls,
        final=(polls[-1] if polls else first) if final else None,
        job_uuid=JOB,
        location=f"{BASE}{JOBS_PREFIX}{JOB}",
        poll_path=JOBS_PREFIX + JOB,
        elapsed=1.25,
        polling_seconds=1.2,
        bound=1.0,
        gave_up=gave_up,
    )


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def test_a_conforming_job_passes(create: ApiContract, inventory: str) -> None:
    run = run_of(accepted(), [exchange(202, {}), exchange(200, inventory)])
    assert job_findings(create, "lifecycle:create", run, ex.async_success()) == []


def test_a_final_200_must_pass_the_must_schema(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {}), exchange(200, {"inventory": {"uuid": 5}})])
    findings = job_findings(create, "c", run, ex.async_success())
    assert set(rules(findings)) == {"response.shape"}


def test_a_failed_job_is_not_a_success(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {}), exchange(503, ERROR)])
    assert rules(job_findings(create, "c", run, ex.async_success())) == ["request.accepted"]


def test_an_async_api_answering_200_at_once_breaks_async_accepted(create: ApiContract, inventory: str) -> None:
    first = exchange(200, inventory, method="POST", path="/zstack/v1/database-backups")
    findings = job_findings(create, "c", JobRun(first=first, final=first, job_uuid=JOB), ex.async_success())
    assert rules(findings) == ["async.accepted"]
    assert findings[0].level is Level.MUST
    assert findings[0].expected.startswith("HTTP 202")
    assert "curl -X POST" in findings[0].note  # the request, masked as the exchange holds it
    assert "{sessionUuid}" in findings[0].note


@pytest.mark.parametrize(
    ("body", "path", "actual"),
    [
        ({"apiTimeout": 1800000}, "$.location", 'absent (keys present: ["apiTimeout"])'),
        ({"location": 7, "apiTimeout": 1}, "$.location", "7 (not a string)"),
        ("not json", "$", "a body that is not a JSON object: not json"),
        (
            {"location": f"{BASE}/zstack/v1/other/{JOB}", "apiTimeout": 1},
            "$.location",
            "is not /zstack/v1/api-jobs/<job id>",
        ),
        ({"location": f"{BASE}{JOBS_PREFIX}{'1' * 32}", "apiTimeout": 1}, "$.location", "not the X-Job-UUID sent"),
    ],
)
def test_a_bad_location_breaks_async_location(create: ApiContract, body: Any, path: str, actual: str) -> None:
    run = JobRun(first=accepted(body), job_uuid=JOB, gave_up="not polled")
    findings = [f for f in job_findings(create, "c", run, ex.async_success()) if f.rule == "async.location"]
    assert len(findings) == 1
    assert findings[0].path == path
    assert actual in findings[0].actual
    assert JOB in findings[0].expected


def test_a_job_id_other_than_the_uuid_sent_is_found_even_when_it_ends_well(create: ApiContract, inventory: str) -> None:
    first = accepted({"location": f"{BASE}{JOBS_PREFIX}{'1' * 32}", "apiTimeout": 1800000})
    run = run_of(first, [exchange(200, inventory)])
    assert rules(job_findings(create, "c", run, ex.async_success())) == ["async.location"]


@pytest.mark.parametrize("api_timeout", [None, "1800000", 0, -1, 1.5, True])
def test_api_timeout_must_be_a_positive_integer_should(create: ApiContract, inventory: str, api_timeout: Any) -> None:
    body: dict[str, Any] = {"location": f"{BASE}{JOBS_PREFIX}{JOB}"}
    if api_timeout is not None:
        body["apiTimeout"] = api_timeout
    run = run_of(accepted(body), [exchange(200, inventory)])
    findings = job_findings(create, "c", run, ex.async_success())
    assert rules(findings) == ["async.api-timeout"]
    assert findings[0].level is Level.SHOULD
    assert findings[0].path == "$.apiTimeout"


def test_api_timeout_written_as_a_whole_float_is_fine(create: ApiContract, inventory: str) -> None:
    first = accepted({"location": f"{BASE}{JOBS_PREFIX}{JOB}", "apiTimeout": 1800000.0})
    run = run_of(first, [exchange(200, inventory)])
    assert job_findings(create, "c", run, ex.async_success()) == []


def test_a_job_that_never_ends_says_elapsed_polls_and_bound(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {})] * 6, final=False, gave_up="no final answer within the bound")
    findings = job_findings(create, "c", run, ex.async_success())
    assert rules(findings) == ["async.completes"]
    assert findings[0].level is Level.MUST
    assert "within 1 s" in findings[0].expected
    assert "after 1.25 s and 6 polls" in findings[0].actual
    assert "--zstack-job-timeout" in findings[0].note
    assert "request: curl -X POST" in findings[0].note


def test_a_404_before_the_end_breaks_async_poll(create: ApiContract) -> None:
    polls = [exchange(202, {}), exchange(404, "the job has been expired")]
    findings = job_findings(create, "c", run_of(accepted(), polls, final=False, gave_up="poll 2"), ex.async_success())
    assert rules(findings) == ["async.poll"]
    assert "poll 2 of 2" in findings[0].actual
    assert "HTTP 404: the job has been expired" in findings[0].actual
    assert f"GET {JOBS_PREFIX}{JOB}" in findings[0].note


def test_the_other_host_is_named_in_the_findings(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {})], final=False)
    run.host_note = "location names http://10.255.0.1:8080, polled http://127.0.0.1:8080 instead"
    (found,) = job_findings(create, "c", run, ex.async_success())
    assert run.host_note in found.note


def test_a_running_body_other_than_empty_is_a_should(create: ApiContract, inventory: str) -> None:
    polls = [exchange(202, {"state": "running"}), exchange(202, "running"), exchange(200, inventory)]
    findings = job_findings(create, "c", run_of(accepted(), polls), ex.async_success())
    assert rules(findings) == ["async.running-body"]
    assert findings[0].level is Level.SHOULD
    assert "poll 1 of 3" in findings[0].actual
    assert "(2 polls like it)" in findings[0].actual


def test_a_running_poll_with_no_body_is_the_real_servers_empty_answer(create: ApiContract, inventory: str) -> None:
    # RestServer.sendResponse writes an empty ApiResponse as "": the real server's running poll has no body.
    polls = [exchange(202, ""), exchange(202, {}), exchange(200, inventory)]
    assert job_findings(create, "c", run_of(accepted(), polls), ex.async_success()) == []


def test_a_value_the_node_may_not_store_is_refused_at_should_level_only(create: ApiContract) -> None:
    # A name outside the BMP on ZStack's utf8 (three-byte) tables: a 503 envelope is allowed at must.
    polls = [exchange(202, {}), exchange(503, ERROR)]
    findings = job_findings(create, "c", run_of(accepted(), polls), ex.async_success_if_storable("astral name"))
    assert [(f.rule, f.level) for f in findings] == [("request.should-accept", Level.SHOULD)]
    # A 500 is still a must failure.
    polls = [exchange(202, {}), exchange(500, "boom")]
    findings = job_findings(create, "c", run_of(accepted(), polls), ex.async_success_if_storable("astral name"))
    assert ("request.no-server-error", Level.MUST) in [(f.rule, f.level) for f in findings]


def test_an_unwrapped_job_failure_breaks_the_envelope(create: ApiContract) -> None:
    bare = ERROR["error"]
    run = run_of(accepted(), [exchange(202, {}), exchange(503, bare)])
    findings = job_findings(create, "c", run, ex.async_invalid_argument(code_is_must=True))
    assert "error.envelope" in rules(findings)


def test_invalid_argument_by_job_passes_when_the_job_ends_503_sys_1007(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {}), exchange(503, ERROR)])
    assert job_findings(create, "c", run, ex.async_invalid_argument(code_is_must=True)) == []
    sync = exchange(503, ERROR, method="POST", path="/zstack/v1/database-backups")  # refused at once: also fine
    assert job_findings(create, "c", JobRun(first=sync, final=sync), ex.async_invalid_argument(code_is_must=True)) == []


def test_invalid_argument_whose_job_succeeds_is_not_refused(create: ApiContract, inventory: str) -> None:
    run = run_of(accepted(), [exchange(200, inventory)])
    assert rules(job_findings(create, "c", run, ex.async_invalid_argument(code_is_must=True))) == ["request.refused"]


def test_invalid_argument_code_is_should_when_asked(create: ApiContract) -> None:
    other = {"error": {"code": "SYS.1000", "description": "d", "details": "x"}}
    run = run_of(accepted(), [exchange(503, other)])
    assert rules(job_findings(create, "c", run, ex.async_invalid_argument(code_is_must=True))) == [
        "request.refusal-class"
    ]
    findings = job_findings(create, "c", run, ex.async_invalid_argument(code_is_must=False))
    assert rules(findings) == ["request.zstack-error"]
    assert findings[0].level is Level.SHOULD


def test_unknown_session_on_an_async_api(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {}), exchange(503, SESSION_ERROR)])
    assert job_findings(create, "c", run, ex.async_invalid_session()) == []
    wrong = run_of(accepted(), [exchange(503, ERROR)])
    assert rules(job_findings(create, "c", wrong, ex.async_invalid_session())) == ["request.refusal-class"]


def test_a_duplicate_job_uuid_accepted_breaks_request_refused(create: ApiContract) -> None:
    run = run_of(accepted(), [exchange(202, {}), exchange(200, {"inventory": {}})])
    findings = job_findings(create, "c", run, ex.duplicate_job_uuid(JOB))
    assert rules(findings) == ["request.refused"]  # judged on the call: no async.* findings


@pytest.mark.parametrize(
    ("expectation", "text"),
    [
        (ex.duplicate_job_uuid(JOB), f"Duplicate job uuid[{JOB}]"),
        (ex.malformed_job_uuid(), "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped"),
    ],
)
def test_job_uuid_refusals(create: ApiContract, expectation: ex.Expectation, text: str) -> None:
    refused = exchange(400, text, method="POST", path="/zstack/v1/database-backups")
    assert job_findings(create, "c", JobRun(first=refused, final=refused), expectation) == []
    other_text = exchange(400, "bad header", method="POST", path="/zstack/v1/database-backups")
    findings = job_findings(create, "c", JobRun(first=other_text, final=other_text), expectation)
    assert rules(findings) == ["request.zstack-error"]
    assert findings[0].level is Level.SHOULD
    wrong_status = exchange(503, ERROR, method="POST", path="/zstack/v1/database-backups")
    findings = job_findings(create, "c", JobRun(first=wrong_status, final=wrong_status), expectation)
    assert rules(findings) == ["request.refusal-class"]


def test_unknown_job_expectation() -> None:
    expectation = ex.unknown_job()
    assert (expectation.must_status, expectation.should_text) == (404, "the job has been expired")


def test_every_rule_has_one_level_and_description() -> None:
    for rule in Rule:
        level, description = RULES[rule]
        assert isinstance(level, Level)
        assert description
    levels = {r.value: r.level for r in Rule if r.value.startswith(("async.", "lifecycle."))}
    assert levels == {
        "async.accepted": Level.MUST,
        "async.location": Level.MUST,
        "async.api-timeout": Level.SHOULD,
        "async.poll": Level.MUST,
        "async.running-body": Level.SHOULD,
        "async.completes": Level.MUST,
        "lifecycle.query-agrees": Level.MUST,
        "lifecycle.export-url": Level.MUST,
        "lifecycle.sync": Level.MUST,
        "lifecycle.deleted": Level.MUST,
    }


# --- end to end against the embedded mock (its async APIs: helper A's mockw branch) ---------------------------------


def _create_run(target: Target, label: str, **submit_args: Any) -> JobRun:
    name = resource_name(target.run_id, label)
    entry = target.ledger.planned("CreateDatabaseBackup", name)
    run = submit(
        target.client,
        "POST",
        "/zstack/v1/database-backups",
        json_body={"params": {"name": name, "backupStorageUuid": BS_IMAGE_STORE}},
        job_timeout=target.settings.job_timeout,
        **submit_args,
    )
    body = run.final.parsed[1] if run.final is not None and run.final.parsed[0] else None
    if isinstance(body, dict) and isinstance(body.get("inventory"), dict):
        target.ledger.created(entry, body["inventory"]["uuid"])
    return run


def _listed(target: Target) -> list[str]:
    answer = target.client.send("GET", "/zstack/v1/database-backups", query=[("q", f"name~={RESOURCE_PREFIX}%")])
    return [item["name"] for item in answer.parsed[1]["inventories"]]


def test_a_create_on_the_mock_conforms_and_is_cleaned_up(create: ApiContract) -> None:
    target = open_target(settings_for(None, allow_writes=True, run_id="e2e"))
    try:
        run = _create_run(target, "create")
        assert job_findings(create, "e2e", run, ex.async_success()) == []
        assert run.first.status == 202
        assert [p.status for p in run.polls][-1] == 200
        assert len(run.polls) >= 2  # the mock answers one 202 poll at least
        assert _listed(target) == [resource_name("e2e", "create")]
        clean_up(target.client, load_catalog(SCHEMAS), target.ledger, target.run_id, job_timeout=5)
        assert [e["cleanedUp"] for e in target.ledger.to_json()] == [True]
        assert _listed(target) == []
    finally:
        target.close()


@pytest.mark.parametrize(
    ("deviation", "rule"),
    [
        ("async-answered-200", "async.accepted"),
        ("job-location-missing", "async.location"),
        ("job-404-before-end", "async.poll"),
    ],
)
def test_the_mocks_async_deviations_are_caught(create: ApiContract, deviation: str, rule: str) -> None:
    target = open_target(settings_for(None, allow_writes=True, deviations=(deviation,)))
    try:
        run = _create_run(target, "deviant")
        assert rule in rules(job_findings(create, "e2e", run, ex.async_success()))
    finally:
        target.close()


def test_a_location_on_another_host_passes_on_the_mock(create: ApiContract) -> None:
    target = open_target(settings_for(None, allow_writes=True, deviations=("job-location-other-host",)))
    try:
        run = _create_run(target, "nat")
        assert job_findings(create, "e2e", run, ex.async_success()) == []
        assert run.host_note.startswith("location names http://10.255.0.1:8080, polled http://127.0.0.1:")
    finally:
        target.close()


def test_a_duplicate_job_uuid_is_refused_by_the_mock(create: ApiContract) -> None:
    target = open_target(settings_for(None, allow_writes=True))
    try:
        first = _create_run(target, "one", job_uuid=JOB)
        assert first.final is not None
        assert first.final.status == 200
        again = _create_run(target, "two", job_uuid=JOB)
        assert job_findings(create, "dup", again, ex.duplicate_job_uuid(JOB)) == []
        assert again.first.status == 400
    finally:
        target.close()


def test_a_job_that_never_ends_on_the_mock_is_a_finding_not_a_hang(create: ApiContract) -> None:
    target = open_target(settings_for(None, allow_writes=True, deviations=("job-never-ends",), job_timeout=0.3))
    try:
        run = _create_run(target, "forever")
        findings = job_findings(create, "e2e", run, ex.async_success())
        assert rules(findings) == ["async.completes"]
        assert run.bound == pytest.approx(0.3)
        assert 0.3 <= run.elapsed < 5
    finally:
        target.close()


def test_unknown_session_on_the_mock(create: ApiContract) -> None:
    conforming = open_target(settings_for(None, allow_writes=True))
    unwrapped = open_target(settings_for(None, allow_writes=True, deviations=("job-failure-unwrapped",)))
    try:
        run = _create_run(conforming, "session", auth=Auth.UNKNOWN_SESSION)
        assert run.first.status == 202
        assert job_findings(create, "e2e", run, ex.async_invalid_session()) == []
        run = _create_run(unwrapped, "session", auth=Auth.UNKNOWN_SESSION)
        assert "error.envelope" in rules(job_findings(create, "e2e", run, ex.async_invalid_session()))
    finally:
        conforming.close()
        unwrapped.close()


def test_an_invalid_body_on_the_mock_ends_503_sys_1007(create: ApiContract) -> None:
    target = open_target(settings_for(None, allow_writes=True))
    try:
        run = submit(
            target.client,
            "POST",
            "/zstack/v1/database-backups",
            json_body={"params": {"backupStorageUuid": BS_IMAGE_STORE}},
            job_timeout=5,
        )
        assert job_findings(create, "e2e", run, ex.async_invalid_argument(code_is_must=True)) == []
    finally:
        target.close()


def test_a_duplicate_job_uuid_accepted_by_the_mock_is_caught(create: ApiContract) -> None:
    target = open_target(settings_for(None, allow_writes=True, deviations=("duplicate-job-uuid-accepted",)))
    try:
        _create_run(target, "one", job_uuid=JOB)
        again = _create_run(target, "two", job_uuid=JOB)
        assert rules(job_findings(create, "dup", again, ex.duplicate_job_uuid(JOB))) == ["request.refused"]
    finally:
        target.close()
