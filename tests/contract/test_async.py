"""The async job contract (protocol notes §3): 202 {location, apiTimeout}, polling 202 {} then 200 or 503, bounded;
an unknown job 404; X-Job-UUID chosen by the client, a duplicate or malformed one refused; an unknown session on
an async API refused through the job.

Every async API of the catalogue is judged on the job the write lifecycle made for it (writes mode). The job-uuid
refusal tests send DeleteDatabaseBackup's request for a uuid no backup has: if a server wrongly accepts it, the
job deletes nothing. Only the unknown-job poll (a GET) runs in a read-only run.
"""

from __future__ import annotations

import dataclasses

import pytest

from zstack_contract.engine.async_checks import job_findings
from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Family
from zstack_contract.generation import expectations as table
from zstack_contract.generation.calls import build_call, fresh_uuid
from zstack_contract.pytest import exercise
from zstack_contract.pytest.exercise import restores_node_data
from zstack_contract.pytest.judge import Judge
from zstack_contract.pytest.stash import CATALOG
from zstack_contract.pytest.writes import skip_unless_writes, worker_label
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport import jobs
from zstack_contract.transport.client import Auth, Exchange
from zstack_contract.transport.jobs import JOBS_PREFIX, JobRun
from zstack_contract.transport.ledger import resource_name
from zstack_contract.transport.lifecycle import (
    MOCK_ONLY_REASON,
    STEP_APIS,
    Lifecycle,
    WriteContext,
    created_uuid,
)
from zstack_contract.transport.target import Target

pytestmark = pytest.mark.zstack_family(Family.ASYNC)

FAMILY = Family.ASYNC
LIFECYCLE_BASIS = "the write lifecycle's request, filled from the discovered backup storage and the created backup"
HARMLESS_DELETE = "DeleteDatabaseBackup"  # for a fresh uuid: nothing to delete, whatever the server does with it
MALFORMED_JOB_UUID = "zstack-contract-not-32"
JOB_ENDPOINT = "api-jobs"  # GET /zstack/v1/api-jobs/{jobUuid}, what every async API's location names


def evidence(run: JobRun, polls: int = 3) -> list[Exchange]:
    """The call and its last few polls: what the report shows (a job that never ends may have many)."""
    return [run.first, *run.polls[-polls:]]


def catalogue_api(config: pytest.Config, name: str) -> ApiContract:
    return exercise.catalogue_api(config, name, "this async test has no request to send")


def job_endpoint(config: pytest.Config) -> ApiContract:
    """The job polling endpoint as a contract subject: no API of the catalogue, so its checks are reported under
    its own name (a read-only run must not show a check under an API it lists as not exercised)."""
    api = next((api for api in config.stash[CATALOG] if api.is_async), None)
    if api is None:
        pytest.skip("the catalogue has no async API: the job endpoint is not part of its contract")
    spec = dataclasses.replace(api.spec, operation_id=JOB_ENDPOINT, method="GET", path=f"{JOBS_PREFIX}{{jobUuid}}")
    return dataclasses.replace(api, spec=spec)


def harmless_delete(zstack: Target, config: pytest.Config) -> tuple[ApiContract, str, list[tuple[str, str]]]:
    """DeleteDatabaseBackup's method, path and query for a uuid no backup has."""
    api = catalogue_api(config, HARMLESS_DELETE)
    call = build_call(api, {"uuid": fresh_uuid()})
    if isinstance(call, str):
        pytest.skip(call)
    return api, call.path, call.query


def test_unknown_job_answers_404(zstack: Target, judge: Judge, pytestconfig: pytest.Config) -> None:
    """A poll of a job nobody submitted: 404 plain text (read-only: a GET, sent in every run)."""
    api = job_endpoint(pytestconfig)
    exchange = zstack.client.send("GET", f"{JOBS_PREFIX}{fresh_uuid()}", auth=Auth.NONE)
    findings = check_exchange(api, "unknown-job", exchange, table.unknown_job())
    judge(api, FAMILY, "unknown-job", findings, [exchange], rule="request.refusal-class")


def test_async_contract(
    async_api: ApiContract,
    zstack_settings: Settings,
    request: pytest.FixtureRequest,
    judge: Judge,
) -> None:
    """The job the lifecycle made for this API: accepted with 202, a location under api-jobs naming the X-Job-UUID
    sent, polled to a 200 whose body has the API's documented shape, within the bound."""
    skip_unless_writes(zstack_settings)
    if restores_node_data(async_api) and zstack_settings.url is not None:
        pytest.skip(f"{async_api.name}: not exercised: {MOCK_ONLY_REASON}")
    lifecycle: Lifecycle = request.getfixturevalue("zstack_lifecycle")
    step = lifecycle.step_for(async_api.name)
    if step is None:
        pytest.skip(f"{async_api.name}: not exercised: no lifecycle step (the write lifecycle does not send it)")
    if step.run is None:
        pytest.skip(f"{async_api.name}: the lifecycle step '{step.name}' did not run: {step.skipped}")
    case = f"lifecycle-{step.name}"
    findings = job_findings(async_api, case, step.run, table.async_success(LIFECYCLE_BASIS))
    judge(async_api, FAMILY, case, findings, evidence(step.run), rule="async.accepted")


def test_duplicate_job_uuid_refused(
    zstack: Target, zstack_settings: Settings, judge: Judge, pytestconfig: pytest.Config
) -> None:
    """A job uuid already used (its job still stored) is refused at once with 400; no second job."""
    skip_unless_writes(zstack_settings)
    api, path, query = harmless_delete(zstack, pytestconfig)
    first = jobs.submit(zstack.client, api.spec.method, path, query=query, job_timeout=zstack_settings.job_timeout)
    if first.job_uuid is None or not first.accepted:
        pytest.skip(
            f"cannot set up: the first {api.name} call was not accepted as a job (HTTP {first.first.status}), so "
            "there is no stored job uuid to send again (test_async_contract judges acceptance)"
        )
    again = jobs.submit(
        zstack.client,
        api.spec.method,
        path,
        query=query,
        job_uuid=first.job_uuid,
        job_timeout=zstack_settings.job_timeout,
    )
    findings = job_findings(api, "duplicate-job-uuid", again, table.duplicate_job_uuid(first.job_uuid))
    judge(api, FAMILY, "duplicate-job-uuid", findings, evidence(again), rule="request.refused")


def test_malformed_job_uuid_refused(
    zstack: Target, zstack_settings: Settings, judge: Judge, pytestconfig: pytest.Config
) -> None:
    """An X-Job-UUID that is not 32 characters is refused at once with 400."""
    skip_unless_writes(zstack_settings)
    api, path, query = harmless_delete(zstack, pytestconfig)
    run = jobs.submit(
        zstack.client,
        api.spec.method,
        path,
        query=query,
        job_uuid=MALFORMED_JOB_UUID,
        job_timeout=zstack_settings.job_timeout,
    )
    findings = job_findings(api, "malformed-job-uuid", run, table.malformed_job_uuid())
    judge(api, FAMILY, "malformed-job-uuid", findings, evidence(run), rule="request.refusal-class")


def test_async_unknown_session(
    zstack: Target,
    zstack_settings: Settings,
    zstack_write_context: WriteContext,
    judge: Judge,
    pytestconfig: pytest.Config,
) -> None:
    """An unknown session on an async API: 202, then the job ends 503 ID.1001 (clients log in again on it).

    A valid Create: ZStack validates the body before the session, so only a valid body reaches the session check
    (a Delete of a missing backup succeeds before it). A server that ignores the session creates the backup, so
    its name is in the ledger first, for the cleanup.
    """
    api = catalogue_api(pytestconfig, STEP_APIS["create"])
    if zstack_write_context.storage is None:
        pytest.skip(zstack_write_context.problem)
    name = resource_name(zstack.run_id, worker_label(pytestconfig, "unknown-session"))
    call = build_call(api, {"name": name, "backupStorageUuid": zstack_write_context.storage.uuid})
    if isinstance(call, str):
        pytest.skip(call)
    entry = zstack.ledger.planned(api.name, name)
    run = jobs.submit(
        zstack.client,
        call.method,
        call.path,
        json_body=call.body,
        auth=Auth.UNKNOWN_SESSION,
        job_timeout=zstack_settings.job_timeout,
    )
    created = created_uuid(run)
    if created is not None:
        zstack.ledger.created(entry, created)
    elif run.final is not None and run.final.status != 200:
        zstack.ledger.mark(entry, True, "refused: nothing was created")
    findings = job_findings(api, "unknown-session", run, table.async_invalid_session())
    judge(api, FAMILY, "unknown-session", findings, evidence(run), rule="request.refusal-class")
