"""The family's state changes, judged on the write lifecycle's stored steps (writes mode): what Create made is what
Query lists; Export sets the ref's exportUrl and DeleteExported clears it; Sync adds a ref on the second image
store; a deleted backup is no longer listed; RecoverDatabaseFromBackup reaches the embedded mock only.

A step that did not succeed is judged by ``test_async.py::test_async_contract[<API>]``; a relation that needs
it skips here, naming that test, so one broken job is one failure.
"""

from __future__ import annotations

import json

import pytest

from zstack_contract.engine.async_checks import job_findings
from zstack_contract.engine.checks import check_exchange
from zstack_contract.engine.findings import Family, Finding
from zstack_contract.engine.lifecycle_checks import (
    deleted_findings,
    export_url_findings,
    query_agrees_findings,
    sync_findings,
)
from zstack_contract.generation import expectations as table
from zstack_contract.generation.calls import build_call
from zstack_contract.generation.safety import never_live_refusal
from zstack_contract.pytest.judge import Judge
from zstack_contract.pytest.stash import CATALOG
from zstack_contract.pytest.writes import skip_unless_writes
from zstack_contract.settings import Settings
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.lifecycle import (
    MOCK_ONLY_REASON,
    STEP_APIS,
    Lifecycle,
    Step,
    result_inventory,
)
from zstack_contract.transport.target import Target

pytestmark = pytest.mark.zstack_family(Family.LIFECYCLE)

FAMILY = Family.LIFECYCLE
RECOVER_BASIS = "the lifecycle's RecoverDatabaseFromBackup on the embedded mock (never sent to a live node)"


@pytest.fixture
def lifecycle(zstack_settings: Settings, request: pytest.FixtureRequest) -> Lifecycle:
    skip_unless_writes(zstack_settings)
    life: Lifecycle = request.getfixturevalue("zstack_lifecycle")
    return life


def succeeded(life: Lifecycle, name: str) -> Step:
    """The step, or a skip naming why it cannot serve (the test that judges it is named)."""
    step = life.step(name)
    if step.skipped:
        pytest.skip(f"the lifecycle step '{name}' did not run: {step.skipped}")
    if not step.succeeded:
        final = step.final
        answer = f"HTTP {final.status}" if final is not None else (step.run.gave_up if step.run else "no answer")
        api = step.api.name if step.api is not None else name
        judged_by = f"test_async_contract[{api}]" if step.run is not None else "the Query API tests"
        pytest.skip(f"the lifecycle step '{name}' ({api}) did not succeed ({answer}): judged by {judged_by}")
    return step


def queried(life: Lifecycle, name: str) -> tuple[Step, Exchange, list[Finding]]:
    """A Query step's exchange and the findings of the Query answer itself (it must be a valid 200)."""
    step = life.step(name)
    if step.skipped or step.exchange is None or step.api is None:
        pytest.skip(f"the lifecycle step '{name}' did not run: {step.skipped}")
    findings = check_exchange(step.api, name, step.exchange, table.positive_call("QueryDatabaseBackup of the backup"))
    return step, step.exchange, findings


def backup(life: Lifecycle) -> str:
    if life.backup_uuid is None:
        pytest.skip("the lifecycle created no backup: judged by test_async_contract[CreateDatabaseBackup]")
    return life.backup_uuid


def test_created_backup_matches_query(lifecycle: Lifecycle, judge: Judge) -> None:
    create = succeeded(lifecycle, "create")
    uuid = backup(lifecycle)
    step, exchange, findings = queried(lifecycle, "query-after-create")
    inventory = result_inventory(create) or {}
    assert create.api is not None
    assert step.api is not None
    if not findings:
        findings = query_agrees_findings(step.api.name, "query-agrees", inventory, exchange, uuid)
    shown = [create.final or exchange, exchange]
    judge(step.api, FAMILY, "query-agrees", findings, shown, rule="lifecycle.query-agrees")


def test_export_url_appears_then_disappears(lifecycle: Lifecycle, judge: Judge) -> None:
    export = succeeded(lifecycle, "export")
    uuid = backup(lifecycle)
    storage = lifecycle.context.storage
    assert storage is not None
    assert export.api is not None
    assert export.final is not None
    _, after_export, findings = queried(lifecycle, "query-after-export")
    delete_exported = lifecycle.step("delete-exported")
    after_delete: Exchange | None = None
    if delete_exported.succeeded:
        _, after_delete, more = queried(lifecycle, "query-after-delete-exported")
        findings += more
    if not findings:
        findings = export_url_findings(
            export.api.name, "export-url", export.final, after_export, after_delete, uuid, storage.uuid
        )
    shown = [export.final, after_export, *([after_delete] if after_delete is not None else [])]
    judge(export.api, FAMILY, "export-url", findings, shown, rule="lifecycle.export-url")
    if after_delete is None:
        # Export's half held; DeleteExported's is judged by its own async test.
        pytest.skip(
            "exportUrl appeared after Export; whether it disappears is not judged: DeleteExported did not succeed "
            "(test_async_contract[DeleteExportedDatabaseBackupFromBackupStorage])"
        )


def test_sync_adds_copy(lifecycle: Lifecycle, judge: Judge) -> None:
    sync = succeeded(lifecycle, "sync")
    uuid = backup(lifecycle)
    second = lifecycle.context.second
    assert second is not None
    assert sync.api is not None
    assert sync.final is not None
    _, exchange, findings = queried(lifecycle, "query-after-sync")
    if not findings:
        findings = sync_findings(sync.api.name, "sync-copy", exchange, uuid, second.uuid)
    judge(sync.api, FAMILY, "sync-copy", findings, [sync.final, exchange], rule="lifecycle.sync")


def test_deleted_backup_not_queryable(lifecycle: Lifecycle, judge: Judge) -> None:
    delete = succeeded(lifecycle, "delete")
    uuid = backup(lifecycle)
    assert delete.api is not None
    assert delete.final is not None
    _, exchange, findings = queried(lifecycle, "query-after-delete")
    if not findings:
        findings = deleted_findings(delete.api.name, "deleted", exchange, uuid)
    judge(delete.api, FAMILY, "deleted", findings, [delete.final, exchange], rule="lifecycle.deleted")


def test_recover_only_on_embedded_mock(
    zstack: Target, zstack_settings: Settings, judge: Judge, request: pytest.FixtureRequest
) -> None:
    """On the embedded mock the lifecycle's Recover is judged like any job; for a live node the client refuses the
    request before it is sent (a suite safety check: a failure here is the suite's error, never the node's)."""
    skip_unless_writes(zstack_settings)
    name = STEP_APIS["recover"]
    api = next((a for a in request.config.stash[CATALOG] if a.name == name), None)
    if api is None:
        pytest.skip(f"the catalogue has no {name}")
    if zstack.mock is None:
        # Never tried on the wire: the guard the client applies to every request is asked about this one.
        call = build_call(api, {"uuid": "0" * 32, "mysqlRootPassword": "never-sent"})
        assert not isinstance(call, str), call
        body = json.dumps(call.body) if call.body is not None else None
        if never_live_refusal(call.method, call.path, body) is None:
            raise RuntimeError(f"suite safety guard failed: the client would send {name} to the live node {zstack.url}")
        pytest.skip(f"{name}: not exercised: {MOCK_ONLY_REASON} (the client refuses it for {zstack.url})")
    life: Lifecycle = request.getfixturevalue("zstack_lifecycle")
    step = life.step("recover")
    if step.run is None:
        pytest.skip(f"the lifecycle step 'recover' did not run: {step.skipped}")
    findings = job_findings(api, "lifecycle-recover", step.run, table.async_success(RECOVER_BASIS))
    judge(api, FAMILY, "recover-on-mock", findings, [step.run.first, *step.run.polls[-2:]], rule="async.accepted")
