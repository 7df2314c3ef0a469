"""Cleanup against a tiny fake node that keeps database backups: only the suite's exact prefix is removed, a failure
is noted and never raised, Ctrl-C goes through, and the command line lists, removes and exits 0/1/4."""

from __future__ import annotations

import threading
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.selftest.fake_clock import FakeClock
from tests.selftest.test_transport import Respond, Seen, TinyServer, reply, serve
from zstack_contract import cli
from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, MockZStack
from zstack_contract.mock.family import BS_IMAGE_STORE
from zstack_contract.specs.contract import ApiContract, load_catalog
from zstack_contract.transport.cleanup import Creatable, Leftover, clean_up, creatables, find_leftovers, remove
from zstack_contract.transport.client import ZStackClient
from zstack_contract.transport.jobs import JOBS_PREFIX, submit
from zstack_contract.transport.ledger import Ledger, resource_name
from zstack_contract.transport.secret import Secret

__all__ = ["serve"]  # the fixture, shared with test_transport

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SESSION = "0123456789abcdef0123456789abcdef"
BACKUPS = "/zstack/v1/database-backups"
RUN = "r1"


@dataclass
class FakeNode:
    """Database backups by uuid; Delete runs as a job that ends at the first poll (503 for ``undeletable``)."""

    backups: dict[str, str] = field(default_factory=dict)  # uuid -> name
    undeletable: set[str] = field(default_factory=set)
    lingering: set[str] = field(default_factory=set)  # Delete's job succeeds, the backup stays listed
    query_status: int = 200
    jobs: dict[str, tuple[int, object]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> str:
        uuid = uuidlib.uuid4().hex
        self.backups[uuid] = name
        return uuid

    def respond(self, h: BaseHTTPRequestHandler, seen: Seen) -> None:
        parts = urlsplit(seen.path)
        with self.lock:
            if parts.path == "/zstack/v1/management-nodes/actions":
                reply(h, 200, {"version": "5.1.8"})
            elif parts.path == "/zstack/v1/accounts/login":
                reply(h, 200, {"inventory": {"uuid": SESSION}})
            elif parts.path.startswith("/zstack/v1/accounts/sessions/"):
                reply(h, 200, {"valid": True} if seen.method == "GET" else {})
            elif parts.path.startswith(JOBS_PREFIX):
                reply(h, *self.jobs.get(parts.path[len(JOBS_PREFIX) :], (404, b"the job has been expired")))
            elif seen.method == "GET" and parts.path == BACKUPS:
                self._query(h, parse_qsl(parts.query))
            elif seen.method == "DELETE" and parts.path.startswith(BACKUPS + "/"):
                self._delete(h, seen, parts.path[len(BACKUPS) + 1 :])
            else:
                reply(h, 404, b"no api mapping to " + parts.path.encode())

    def _query(self, h: BaseHTTPRequestHandler, query: list[tuple[str, str]]) -> None:
        if self.query_status != 200:
            reply(h, self.query_status, b"internal error")
            return
        items = [{"uuid": u, "name": n} for u, n in self.backups.items()]
        for key, value in query:
            if key == "q" and value.startswith("name~=") and value.endswith("%"):
                like = value[len("name~=") : -1].lower()  # MySQL LIKE: case-insensitive
                items = [i for i in items if i["name"].lower().startswith(like)]
            elif key == "q" and value.startswith("uuid="):
                items = [i for i in items if i["uuid"] == value[len("uuid=") :]]
        reply(h, 200, {"inventories": items})

    def _delete(self, h: BaseHTTPRequestHandler, seen: Seen, uuid: str) -> None:
        job = seen.headers.get("X-Job-UUID", uuidlib.uuid4().hex)
        if uuid in self.undeletable:
            error = {"error": {"code": "SYS.1000", "description": "internal", "details": "storage busy"}}
            self.jobs[job] = (503, error)
        else:
            if uuid not in self.lingering:
                self.backups.pop(uuid, None)
            self.jobs[job] = (200, {})
        host = seen.headers.get("Host", "")
        reply(h, 202, {"location": f"http://{host}{JOBS_PREFIX}{job}", "apiTimeout": 5000})


@pytest.fixture(scope="module")
def catalog() -> list[ApiContract]:
    return load_catalog(SCHEMAS)


@pytest.fixture(scope="module")
def backups(catalog: list[ApiContract]) -> Creatable:
    (kind,) = creatables(catalog)
    return kind


@pytest.fixture
def node(serve: Callable[[Respond], TinyServer]) -> tuple[FakeNode, TinyServer]:
    fake = FakeNode()
    return fake, serve(fake.respond)


def client_for(server: TinyServer, *, allow_writes: bool = True) -> ZStackClient:
    return ZStackClient(server.url, timeout=5.0, session=Secret(SESSION), allow_writes=allow_writes)


def test_creatables_come_from_the_catalogue_by_name(catalog: list[ApiContract]) -> None:
    kinds = creatables(catalog)
    assert [(k.kind, k.create.name, k.query.name, k.delete.name) for k in kinds] == [
        ("DatabaseBackup", "CreateDatabaseBackup", "QueryDatabaseBackup", "DeleteDatabaseBackup")
    ]
    without_query = [api for api in catalog if api.name != "QueryDatabaseBackup"]
    assert creatables(without_query) == []


def test_resource_names() -> None:
    assert resource_name("20261127102233a1f0", "create") == "zstack-contract-20261127102233a1f0-create"


def test_find_leftovers_keeps_the_exact_prefix_only(backups: Creatable, node: tuple[FakeNode, TinyServer]) -> None:
    fake, server = node
    mine = fake.add("zstack-contract-r1-create")
    fake.add("ZSTACK-CONTRACT-r1-upper")  # LIKE matches it; the exact check must not
    fake.add("zstack-contract-r10-other-run")
    fake.add("zstack-contract-R1-case")
    fake.add("backup-of-a-user")
    found = find_leftovers(client_for(server), backups, "zstack-contract-r1-")
    assert found == [Leftover("zstack-contract-r1-create", mine)]
    assert dict(parse_qsl(urlsplit(server.seen[-1].path).query)) == {"q": "name~=zstack-contract-r1-%"}


def test_remove_deletes_and_waits_for_the_job(backups: Creatable, node: tuple[FakeNode, TinyServer]) -> None:
    fake, server = node
    uuid = fake.add("zstack-contract-r1-x")
    fake_clock = FakeClock()
    ok, note = remove(client_for(server), backups, uuid, job_timeout=5, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert (ok, note) == (
        True,
        "removed (DeleteDatabaseBackup answered HTTP 200; QueryDatabaseBackup no longer lists it)",
    )
    assert uuid not in fake.backups
    assert next((s.method, urlsplit(s.path).path) for s in server.seen) == ("DELETE", f"{BACKUPS}/{uuid}")


def test_remove_believes_a_delete_only_when_the_query_agrees(
    backups: Creatable, node: tuple[FakeNode, TinyServer]
) -> None:
    fake, server = node
    uuid = fake.add("zstack-contract-r1-x")
    fake.lingering.add(uuid)
    fake_clock = FakeClock()
    ok, note = remove(client_for(server), backups, uuid, job_timeout=5, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert not ok
    assert note == f"DeleteDatabaseBackup answered HTTP 200 but QueryDatabaseBackup still lists uuid {uuid}"


def test_remove_reports_a_failed_job(backups: Creatable, node: tuple[FakeNode, TinyServer]) -> None:
    fake, server = node
    uuid = fake.add("zstack-contract-r1-x")
    fake.undeletable.add(uuid)
    fake_clock = FakeClock()
    ok, note = remove(client_for(server), backups, uuid, job_timeout=5, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert not ok
    assert note.startswith("DeleteDatabaseBackup failed: HTTP 503 SYS.1000")


@pytest.mark.parametrize("uuid", ["../../vm-instances/" + "a" * 32, "a" * 31, "g" * 32, ""])
def test_remove_never_puts_a_non_uuid_in_the_path(
    uuid: str, backups: Creatable, node: tuple[FakeNode, TinyServer]
) -> None:
    _, server = node
    ok, note = remove(client_for(server), backups, uuid, job_timeout=5)
    assert not ok
    assert "is not a ZStack uuid" in note
    assert server.seen == []


def test_clean_up_removes_the_ledger_and_this_runs_leftovers_only(
    catalog: list[ApiContract], node: tuple[FakeNode, TinyServer]
) -> None:
    fake, server = node
    ledger = Ledger()
    created = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "create"))
    ledger.created(created, fake.add(created.name))
    interrupted = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "interrupted"))  # no uuid known
    interrupted_uuid = fake.add(interrupted.name)
    never_made = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "refused"))
    stuck = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "stuck"))
    stuck_uuid = fake.add(stuck.name)
    ledger.created(stuck, stuck_uuid)
    fake.undeletable.add(stuck_uuid)
    crashed_uuid = fake.add(resource_name(RUN, "from-a-crash"))  # this run's, not in the ledger
    other_run = fake.add(resource_name("r2", "create"))
    users = fake.add("zstack-contract-r1")  # no dash after the run id: not this run's prefix
    fake_clock = FakeClock()
    clean_up(client_for(server), catalog, ledger, RUN, job_timeout=5, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert set(fake.backups) == {stuck_uuid, other_run, users}
    by_name = {e.name: e for e in ledger.entries()}
    assert by_name[created.name].cleaned is True
    assert by_name[interrupted.name].uuid == interrupted_uuid
    assert by_name[interrupted.name].cleaned is True
    assert by_name[never_made.name].cleaned is True
    assert "lists no resource of this name" in by_name[never_made.name].note
    assert by_name[stuck.name].cleaned is False
    assert "SYS.1000" in by_name[stuck.name].note
    leftover = by_name[resource_name(RUN, "from-a-crash")]
    assert (leftover.uuid, leftover.cleaned) == (crashed_uuid, True)
    assert leftover.note.startswith("found by name; removed")
    assert {e["name"]: e["cleanedUp"] for e in ledger.to_json()} == {
        created.name: True,
        interrupted.name: True,
        never_made.name: True,
        stuck.name: False,
        leftover.name: True,
    }


def test_clean_up_never_raises_when_the_query_fails(
    catalog: list[ApiContract], node: tuple[FakeNode, TinyServer]
) -> None:
    fake, server = node
    fake.query_status = 500
    ledger = Ledger()
    known = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "a"))
    ledger.created(known, fake.add(known.name))
    unknown = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "b"))
    fake_clock = FakeClock()
    clean_up(client_for(server), catalog, ledger, RUN, job_timeout=5, clock=fake_clock.clock, sleep=fake_clock.sleep)
    # Deleted, but a failing Query cannot confirm it: "cleaned up" is claimed only when the node agrees.
    assert known.cleaned is False
    assert "QueryDatabaseBackup could not confirm it is gone: HTTP 500" in known.note
    assert known.uuid not in fake.backups
    assert unknown.cleaned is False
    assert "could not look it up by name" in unknown.note


def test_clean_up_never_raises_when_the_node_is_gone(catalog: list[ApiContract]) -> None:
    ledger = Ledger()
    entry = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "a"))
    ledger.created(entry, "a" * 32)
    client = ZStackClient("http://127.0.0.1:9", timeout=0.5, session=Secret(SESSION), allow_writes=True)
    clean_up(client, catalog, ledger, RUN, job_timeout=5)
    assert entry.cleaned is False
    assert "TargetUnreachableError" in entry.note


def test_clean_up_lets_ctrl_c_through(catalog: list[ApiContract], node: tuple[FakeNode, TinyServer]) -> None:
    fake, server = node
    ledger = Ledger()
    entry = ledger.planned("CreateDatabaseBackup", resource_name(RUN, "a"))
    ledger.created(entry, fake.add(entry.name))

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clean_up(client_for(server), catalog, ledger, RUN, job_timeout=5, sleep=interrupted)


def test_a_read_only_client_cleans_nothing(catalog: list[ApiContract], node: tuple[FakeNode, TinyServer]) -> None:
    fake, server = node
    fake.add(resource_name(RUN, "a"))
    ledger = Ledger()
    clean_up(client_for(server, allow_writes=False), catalog, ledger, RUN, job_timeout=5)
    assert server.seen == []
    assert ledger.entries() == []


# --- python -m zstack_contract cleanup ----------------------------------------------------------------------------


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    parser = cli.build_parser()
    parsed = parser.parse_args(["cleanup", *args])
    code = cli.cmd_cleanup(parsed, env=env or {})
    out = capsys.readouterr()
    return code, out.out + out.err


def live(server: TinyServer) -> list[str]:
    return ["--zstack-url", server.url, "--zstack-account", "admin", "--zstack-password", "s3cret-pw"]


def test_cli_dry_run_lists_and_removes_nothing(
    node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = node
    a = fake.add("zstack-contract-r1-a")
    fake.add("a-users-backup")
    code, out = run_cli([*live(server), "--dry-run"], capsys)
    assert code == 0
    assert f"DatabaseBackup\tzstack-contract-r1-a\t{a}\tfound (dry run: not removed)" in out
    assert "a-users-backup" not in out
    assert "1 found, 0 removed, 0 failed (dry run)" in out
    assert a in fake.backups
    assert not [s for s in server.seen if s.method == "DELETE" and s.path.startswith(BACKUPS)]
    assert "s3cret-pw" not in out


def test_cli_removes_every_prefixed_resource(
    node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = node
    a, b = fake.add("zstack-contract-r1-a"), fake.add("zstack-contract-r2-b")
    mixed = fake.add("Zstack-Contract-r3-c")  # LIKE finds it; the exact prefix does not
    code, out = run_cli(live(server), capsys)
    assert code == 0, out
    assert set(fake.backups) == {mixed}
    assert f"zstack-contract-r1-a\t{a}\tremoved" in out
    assert f"zstack-contract-r2-b\t{b}\tremoved" in out
    assert "2 found, 2 removed, 0 failed" in out


def test_cli_run_id_restricts_to_that_run(
    node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = node
    fake.add("zstack-contract-r1-a")
    b = fake.add("zstack-contract-r2-b")
    code, out = run_cli([*live(server), "--run-id", "r1"], capsys)
    assert code == 0
    assert set(fake.backups) == {b}
    assert "every resource named zstack-contract-r1-*" in out
    code, _ = run_cli(live(server), capsys, env={"ZSTACK_RUN_ID": "r2"})
    assert (code, fake.backups) == (0, {})


def test_cli_exit_1_when_some_cannot_be_removed(
    node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = node
    stuck = fake.add("zstack-contract-r1-a")
    fake.undeletable.add(stuck)
    fake.add("zstack-contract-r1-b")
    code, out = run_cli(live(server), capsys)
    assert code == 1
    assert f"{stuck}\tFAILED: DeleteDatabaseBackup failed: HTTP 503 SYS.1000" in out
    assert "2 found, 1 removed, 1 failed" in out


def test_cli_exit_1_when_the_query_fails(
    node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = node
    fake.query_status = 500
    code, out = run_cli(live(server), capsys)
    assert code == 1
    assert "DatabaseBackup: could not list: QueryDatabaseBackup did not list" in out


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "cleanup needs the management node: pass --zstack-url URL (or ZSTACK_URL)"),
        (["--zstack-url", "http://127.0.0.1:9"], {}, "no credentials for http://127.0.0.1:9"),
        (["--zstack-url", "http://127.0.0.1:9", "--zstack-account", "a"], {}, "give both --zstack-account"),
        (["--zstack-url", "http://127.0.0.1:9", "--zstack-session", SESSION, "--run-id", "a-b"], {}, "--zstack-run-id"),
        (["--zstack-session", SESSION], {"ZSTACK_URL": "http://u:s3cret-pw@mn"}, "must not carry a user or password"),
        (["--zstack-url", "http://127.0.0.1:9", "--zstack-session", SESSION], {}, "cannot reach the management node"),
    ],
)
def test_cli_configuration_errors_exit_4(
    args: list[str], env: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(args, capsys, env=env)
    assert code == 4
    assert message in out
    assert "s3cret-pw" not in out


def test_cli_takes_credentials_from_the_environment(
    node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = node
    fake.add("zstack-contract-r1-a")
    env = {"ZSTACK_URL": server.url, "ZSTACK_ACCOUNT": "admin", "ZSTACK_PASSWORD": "pw", "ZSTACK_PARAMS": "bad"}
    code, out = run_cli([], capsys, env=env)
    assert code == 0, out
    assert fake.backups == {}


def test_cli_main_dispatches_cleanup(node: tuple[FakeNode, TinyServer], capsys: pytest.CaptureFixture[str]) -> None:
    _, server = node
    assert cli.main(["cleanup", *live(server), "--dry-run"]) == 0
    assert "0 found, 0 removed, 0 failed (dry run)" in capsys.readouterr().out


def test_cli_removes_what_a_crashed_run_left_on_the_mock(capsys: pytest.CaptureFixture[str]) -> None:
    mock = MockZStack()
    mock.start()
    try:
        client = ZStackClient(mock.url, timeout=5.0, allow_writes=True)
        client.session = client.login(ADMIN_ACCOUNT, Secret(ADMIN_PASSWORD))
        for label in ("a", "b"):
            body = {"params": {"name": resource_name("crash1", label), "backupStorageUuid": BS_IMAGE_STORE}}
            run = submit(client, "POST", BACKUPS, json_body=body, job_timeout=5)
            assert run.final is not None
            assert run.final.status == 200
        credentials = ["--zstack-url", mock.url, "--zstack-account", ADMIN_ACCOUNT, "--zstack-password", ADMIN_PASSWORD]
        code, out = run_cli([*credentials, "--dry-run"], capsys)
        assert (code, out.count("found (dry run: not removed)")) == (0, 2)
        code, out = run_cli([*credentials, "--run-id", "crash1"], capsys)
        assert code == 0, out
        assert "2 found, 2 removed, 0 failed" in out
        listed = client.send("GET", BACKUPS, query=[("q", "name~=zstack-contract-%")]).parsed[1]["inventories"]
        assert listed == []
    finally:
        mock.stop()
