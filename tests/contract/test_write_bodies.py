"""Create bodies generated with hypothesis (writes mode): valid names are accepted, invalid bodies refused.

Valid names are the run's prefix plus generated unicode text, up to exactly 255 Java characters (UTF-16 units);
each backup created is entered in the ledger before the request and deleted by the test (the session-end cleanup
removes whatever a failure leaves). The invalid bodies lack the name, give an empty one, one of 256 Java
characters, or an unknown backup storage: ZStack validates an async API's body after the 202, so the job must end
refused (503 SYS.1007; the code is should for the unknown storage).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from zstack_contract.engine.async_checks import job_findings
from zstack_contract.engine.findings import Family
from zstack_contract.generation import expectations as table
from zstack_contract.generation.calls import build_call
from zstack_contract.generation.write_bodies import (
    FILL_TO_LIMIT,
    FILL_TO_LIMIT_ASTRAL,
    INVALID_BODIES,
    NAME_LIMIT,
    WRITE_EXAMPLES,
    InvalidBody,
    create_call,
    example_name,
    invalid_call,
    outside_bmp,
)
from zstack_contract.pytest import exercise
from zstack_contract.pytest.judge import Judge
from zstack_contract.pytest.writes import worker_label
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport import jobs
from zstack_contract.transport.ledger import resource_name
from zstack_contract.transport.lifecycle import STEP_APIS, WriteContext, created_uuid
from zstack_contract.transport.target import Target

pytestmark = pytest.mark.zstack_family(Family.LIFECYCLE)

FAMILY = Family.LIFECYCLE
VALID_BASIS = "a Create body with a valid name (the page: not blank, at most 255 characters) on a usable storage"
# Fixed, not --zstack-examples: each example creates and deletes a backup on the node (see WRITE_EXAMPLES).
WRITE_SETTINGS = hypothesis_settings(
    max_examples=WRITE_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAME_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=NAME_LIMIT)


def api_named(config: pytest.Config, name: str) -> ApiContract:
    return exercise.catalogue_api(config, name, "the write-body test has no request to send")


def storage_uuid(context: WriteContext) -> str:
    if context.storage is None:
        pytest.skip(context.problem)
    return context.storage.uuid


def delete_created(zstack: Target, config: pytest.Config, uuid: str, timeout: float) -> tuple[bool, str]:
    """Delete a backup the test created; (deleted, note). What stays is the session-end cleanup's."""
    api = api_named(config, STEP_APIS["delete"])
    call = build_call(api, {"uuid": uuid})
    if isinstance(call, str):
        return False, call
    run = jobs.submit(zstack.client, call.method, call.path, query=call.query, job_timeout=timeout)
    if run.final is not None and run.final.status == 200:
        return True, "deleted by the test"
    return False, f"the test's Delete did not succeed ({run.gave_up or f'HTTP {run.first.status}'})"


@given(text=NAME_TEXT)
@example(text=FILL_TO_LIMIT)
@example(text=FILL_TO_LIMIT_ASTRAL)
@WRITE_SETTINGS
def test_valid_create_body_accepted(
    zstack: Target,
    zstack_settings: Settings,
    zstack_write_context: WriteContext,
    judge: Judge,
    pytestconfig: pytest.Config,
    text: str,
) -> None:
    api = api_named(pytestconfig, STEP_APIS["create"])
    prefix = resource_name(zstack.run_id, worker_label(pytestconfig, "body-"))
    name = example_name(prefix, text)
    call = create_call(api, name, storage_uuid(zstack_write_context))
    entry = zstack.ledger.planned(api.name, name)
    run = jobs.submit(
        zstack.client, call.method, call.path, json_body=call.body, job_timeout=zstack_settings.job_timeout
    )
    uuid = created_uuid(run)
    if uuid is not None:
        zstack.ledger.created(entry, uuid)
        deleted, note = delete_created(zstack, pytestconfig, uuid, zstack_settings.job_timeout)
        if deleted:
            zstack.ledger.mark(entry, True, note)
    # ZStack's tables are DEFAULT CHARSET=utf8 (MySQL's three-byte utf8, e.g. conf/db/upgrade/V4.10.0__schema.sql in
    # zstackio/zstack): a name with a four-byte character may be refused (a 503 envelope) by a real node. The
    # contract's "255 characters" promises it at should level only; BMP names (accents, CJK) are must.
    expectation = (
        table.async_success_if_storable(f"{VALID_BASIS}; a character outside the BMP (utf8mb4) may not be storable")
        if outside_bmp(name)
        else table.async_success(VALID_BASIS)
    )
    findings = job_findings(api, "valid-create-body", run, expectation)
    judge.collect(api, FAMILY, "valid-create-body", findings, run.final or run.first)


@pytest.mark.parametrize("case", INVALID_BODIES, ids=[case.id for case in INVALID_BODIES])
def test_invalid_create_body_refused(
    case: InvalidBody,
    zstack: Target,
    zstack_settings: Settings,
    zstack_write_context: WriteContext,
    judge: Judge,
    pytestconfig: pytest.Config,
) -> None:
    api = api_named(pytestconfig, STEP_APIS["create"])
    prefix = resource_name(zstack.run_id, worker_label(pytestconfig, "invalid-"))
    call, ledger_name = invalid_call(api, case, prefix, storage_uuid(zstack_write_context))
    # A server that wrongly accepts the body creates a backup: entered first, so the cleanup finds it.
    entry = zstack.ledger.planned(api.name, ledger_name)
    run = jobs.submit(
        zstack.client, call.method, call.path, json_body=call.body, job_timeout=zstack_settings.job_timeout
    )
    uuid = created_uuid(run)
    if uuid is not None:
        zstack.ledger.created(entry, uuid)
    elif run.final is not None and run.final.status != 200:
        zstack.ledger.mark(entry, True, f"refused ({case.why}): nothing was created")
    findings = job_findings(api, case.id, run, case.expectation())
    judge(api, FAMILY, case.id, findings, [run.first, *run.polls[-2:]], rule="request.refusal-class")
