"""Self-tests of the mock's asynchronous APIs and job table, through the WSGI app with a fake clock.

No sleeps and no server: werkzeug's test client calls MockZStackApp directly, and the job table's clock is a
number the test moves, so "the job is still running" and "the job has expired" are exact.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.test import Client

from tests.selftest.fake_clock import FakeClock
from zstack_contract.mock import DEVIATIONS, family
from zstack_contract.mock.app import MockZStackApp
from zstack_contract.mock.jobs import API_TIMEOUT_MS, JOB_DELAY, JOB_RETENTION
from zstack_contract.mock.writes import LOG_LISTEN_PORT

BACKUPS = "/zstack/v1/database-backups"
JOBS = "/zstack/v1/api-jobs/"
IMAGE_STORE = family.BS_IMAGE_STORE
DR_STORE = family.BS_IMAGE_STORE_DR
CEPH = family.BS_CEPH
SEEDED = "742a7c7d4a4f3a01b206632a40ac414f"  # the page's example backup, on IMAGE_STORE only
CREATING = "6e7f8091a2b3443c5e6f708192a3b4c5"  # seeded with status Creating and no copy
UNKNOWN_UUID = "0123456789ab4def8123456789abcdef"  # shaped like a ZStack uuid, names nothing
JOB_UUID = "c0ffee00c0ffee00c0ffee00c0ffee00"
EXPIRED = "the job has been expired"
# Clock steps are floats: "the delay has passed" needs a hair more than JOB_DELAY once rounding is counted.
PAST_DELAY = JOB_DELAY + 1e-9
ASYNC_DEVIATIONS = [
    "async-answered-200",
    "job-location-missing",
    "job-never-ends",
    "job-404-before-end",
    "job-failure-unwrapped",
    "delete-leaves-backup",
    "create-disagrees-with-query",
    "duplicate-job-uuid-accepted",
    "export-sets-no-export-url",
    "job-location-other-host",
]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or the text when the body is not JSON
    headers: dict[str, str]
    job: str = ""  # the X-Job-UUID the request carried


class Node:
    """One MockZStackApp with a fake clock, a logged-in session and helpers for the family's APIs."""

    def __init__(self, deviations: Iterable[str] = (), **job_table: float) -> None:
        self.clock = FakeClock()
        self.app = MockZStackApp(deviations, clock=self.clock, **job_table)
        self.http = Client(self.app)
        login = self.call(
            "PUT",
            "/zstack/v1/accounts/login",
            json_body={"logInByAccount": {"accountName": "admin", "password": hashlib.sha512(b"password").hexdigest()}},
            auth=None,
        )
        self.session = str(login.body["inventory"]["uuid"])

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None = "session",
    ) -> Answer:
        sent = dict(headers or {})
        if not path.startswith(JOBS):
            # Every submit names its job, so finish() can poll it even when the 202 body has no location.
            sent.setdefault("X-Job-UUID", uuid.uuid4().hex)
        if auth == "session":
            sent["Authorization"] = f"OAuth {self.session}"
        elif auth is not None:
            sent["Authorization"] = auth
        response = self.http.open(
            path,
            method=method,
            data=None if json_body is None else json.dumps(json_body),
            query_string=query or [],
            headers=sent,
        )
        text = response.get_data(as_text=True)
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return Answer(response.status_code, body, dict(response.headers), sent.get("X-Job-UUID", ""))

    def poll(self, job_uuid: str) -> Answer:
        return self.call("GET", JOBS + job_uuid, auth=None)

    def finish(self, first: Answer) -> Answer:
        """The job's final answer: one poll while running, then past the delay; the first answer if not 202."""
        if first.status != 202:
            return first
        job = first.job
        running = self.poll(job)
        assert (running.status, running.body) == (202, {}), running
        self.clock.advance(PAST_DELAY)
        return self.poll(job)

    def run(self, method: str, path: str, **kwargs: Any) -> Answer:
        return self.finish(self.call(method, path, **kwargs))

    # The family's APIs.

    def create(
        self,
        name: str = "zstack-contract-t-1",
        storage: str = IMAGE_STORE,
        *,
        headers: dict[str, str] | None = None,
        auth: str | None = "session",
        **params: Any,
    ) -> Answer:
        body = {"params": {"name": name, "backupStorageUuid": storage, **params}}
        return self.call("POST", BACKUPS, json_body=body, headers=headers, auth=auth)

    def created(self, name: str = "zstack-contract-t-1", storage: str = IMAGE_STORE) -> dict[str, Any]:
        final = self.finish(self.create(name, storage))
        assert final.status == 200, final
        return dict(final.body["inventory"])

    def export(self, backup: str, storage: str = IMAGE_STORE) -> Answer:
        return self.call(
            "PUT",
            f"{BACKUPS}/{backup}/backup-storage/{storage}/actions",
            json_body={"exportDatabaseBackupFromBackupStorage": {}},
        )

    def delete_exported(self, backup: str, storage: str = IMAGE_STORE) -> Answer:
        return self.call("DELETE", f"/zstack/v1/exported-database-backup/{backup}/backup-storage/{storage}")

    def sync(self, backup: str, src: str | None = IMAGE_STORE, dst: str | None = DR_STORE) -> Answer:
        params = {key: value for key, value in (("srcBackupStorageUuid", src), ("dstBackupStorageUuid", dst)) if value}
        return self.call(
            "PUT", f"{BACKUPS}/{backup}/actions", json_body={"syncDatabaseBackupFromImageStoreBackupStorage": params}
        )

    def delete(self, backup: str, storages: list[str] | None = None) -> Answer:
        return self.call("DELETE", f"{BACKUPS}/{backup}", query=[("backupStorageUuids", s) for s in storages or []])

    def recover(self, **params: Any) -> Answer:
        return self.call("PUT", f"{BACKUPS}/actions", json_body={"recoverDatabaseFromBackup": params})

    def listed(self, backup: str) -> list[dict[str, Any]]:
        answer = self.call("GET", f"{BACKUPS}/{backup}")
        assert answer.status == 200, answer
        return list(answer.body["inventories"])

    def names(self) -> list[str]:
        return [str(record["name"]) for record in self.app.store.list(family.DATABASE_BACKUP)]


def job_of(answer: Answer) -> str:
    assert answer.status == 202, answer
    location = answer.body["location"]
    assert location.startswith("http://"), location
    assert JOBS in location, location
    return str(location.rsplit("/", 1)[1])


def job_of_location(response: Any) -> str:
    return str(json.loads(response.get_data())["location"].rsplit("/", 1)[1])


def error_of(answer: Answer) -> tuple[int, str]:
    """(status, code) of a failure answer, whose body must be the {"error": ErrorCode} envelope."""
    assert set(answer.body) == {"error"}, answer
    error = answer.body["error"]
    assert {"code", "description", "details"} <= set(error), error
    return answer.status, str(error["code"])


def ref_on(inventory: dict[str, Any], storage: str) -> dict[str, Any]:
    return next(ref for ref in inventory["backupStorageRefs"] if ref["backupStorageUuid"] == storage)


@pytest.fixture
def node() -> Node:
    return Node()


# The conforming lifecycle, end to end.


def test_the_whole_lifecycle(node: Node) -> None:
    first = node.create("zstack-contract-t-life", description="issue 9")
    job = job_of(first)
    assert (node.poll(job).status, node.poll(job).body) == (202, {})
    node.clock.advance(PAST_DELAY)
    done = node.poll(job)
    assert done.status == 200
    created = done.body["inventory"]
    assert (created["name"], created["description"], created["state"], created["status"]) == (
        "zstack-contract-t-life",
        "issue 9",
        "Enabled",
        "Ready",
    )
    assert isinstance(created["size"], int)
    assert created["size"] > 0
    assert [ref["backupStorageUuid"] for ref in created["backupStorageRefs"]] == [IMAGE_STORE]
    assert ref_on(created, IMAGE_STORE)["installPath"].startswith("zstore://zsbak/")
    assert "exportUrl" not in ref_on(created, IMAGE_STORE)
    backup = created["uuid"]
    assert node.listed(backup) == [created]

    exported = node.finish(node.export(backup))
    assert exported.status == 200
    url = exported.body["databaseBackupUrl"]
    assert url == "http://172.20.0.10:8001/export/zstack-contract-t-life.gz"
    assert ref_on(node.listed(backup)[0], IMAGE_STORE)["exportUrl"] == url

    assert node.finish(node.delete_exported(backup)).body == {}
    assert "exportUrl" not in ref_on(node.listed(backup)[0], IMAGE_STORE)

    synced = node.finish(node.sync(backup))
    assert synced.status == 200
    refs = synced.body["inventory"]["backupStorageRefs"]
    assert [ref["backupStorageUuid"] for ref in refs] == [IMAGE_STORE, DR_STORE]
    assert refs[0]["installPath"] == refs[1]["installPath"]
    assert node.listed(backup) == [synced.body["inventory"]]

    before = node.app.store.list(family.DATABASE_BACKUP)
    recovered = node.finish(node.recover(uuid=backup, mysqlRootPassword="zstack.mysql.password"))
    assert (recovered.status, recovered.body) == (200, {"logListenPort": LOG_LISTEN_PORT})
    assert node.app.store.list(family.DATABASE_BACKUP) == before

    deleted = node.finish(node.delete(backup))
    assert (deleted.status, deleted.body) == (200, {})
    assert node.listed(backup) == []


# The 202 answer and the job endpoint.


def test_the_accepted_answer_names_the_job_on_the_host_called(node: Node) -> None:
    first = node.create(headers={"Host": "mn.example:8080", "X-Job-UUID": JOB_UUID})
    assert first.status == 202
    assert first.body == {"location": f"http://mn.example:8080{JOBS}{JOB_UUID}", "apiTimeout": API_TIMEOUT_MS}
    # RestServer sets neither a Location header nor a Content-Type.
    assert "Location" not in first.headers
    assert "Content-Type" not in first.headers


def test_the_body_is_json_without_a_content_type_on_every_poll(node: Node) -> None:
    job = job_of(node.create())
    running = node.poll(job)
    node.clock.advance(PAST_DELAY)
    done = node.poll(job)
    assert [(a.status, "Content-Type" in a.headers) for a in (running, done)] == [(202, False), (200, False)]


def test_a_job_needs_one_running_poll_even_when_the_delay_has_passed(node: Node) -> None:
    job = job_of(node.create())
    node.clock.advance(JOB_DELAY * 100)
    assert (node.poll(job).status, node.poll(job).status) == (202, 200)


def test_a_job_runs_until_the_delay_has_passed_however_often_it_is_polled(node: Node) -> None:
    job = job_of(node.create())
    assert [node.poll(job).status for _ in range(5)] == [202] * 5
    node.clock.advance(JOB_DELAY / 2)
    assert node.poll(job).status == 202
    node.clock.advance(PAST_DELAY / 2)
    assert node.poll(job).status == 200
    # A finished job keeps its answer for every later poll.
    assert node.poll(job).status == 200


def test_the_work_is_visible_when_the_job_ends(node: Node) -> None:
    first = node.create("zstack-contract-t-visible")
    assert "zstack-contract-t-visible" in node.names()
    assert node.finish(first).status == 200


def test_polling_checks_no_authorization(node: Node) -> None:
    job = job_of(node.create())
    node.poll(job)
    node.clock.advance(PAST_DELAY)
    assert node.call("GET", JOBS + job, auth="OAuth not-a-session").status == 200
    assert node.call("GET", JOBS + job, auth="Basic whatever").status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_on_the_job_path_are_405(node: Node, method: str) -> None:
    job = job_of(node.create())
    answer = node.call(method, JOBS + job, json_body={"x": {}})
    assert (answer.status, answer.body) == (405, "only GET method is allowed for querying job status")
    assert node.call("HEAD", JOBS + job).status == 405


def test_an_unknown_job_is_404_plain_text(node: Node) -> None:
    answer = node.poll(UNKNOWN_UUID)
    assert (answer.status, answer.body) == (404, EXPIRED)
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_jobs_are_forgotten_after_the_retention_window(node: Node) -> None:
    job = job_of(node.create())
    node.poll(job)
    node.clock.advance(JOB_RETENTION - 1)
    assert node.poll(job).status == 200
    node.clock.advance(1)
    assert (node.poll(job).status, node.poll(job).body) == (404, EXPIRED)


def test_the_delay_and_the_retention_window_are_constructor_arguments() -> None:
    node = Node(job_delay=0.0, job_retention=5.0)
    job = job_of(node.create())
    assert (node.poll(job).status, node.poll(job).status) == (202, 200)
    node.clock.advance(4.9)
    assert node.poll(job).status == 200
    node.clock.advance(0.1)
    assert node.poll(job).status == 404


# X-Job-UUID.


def test_the_job_answers_under_the_uuid_sent(node: Node) -> None:
    first = node.create(headers={"X-Job-UUID": JOB_UUID})
    assert job_of(first) == JOB_UUID
    assert node.finish(first).status == 200


@pytest.mark.parametrize(
    "job_uuid",
    [JOB_UUID[:31], JOB_UUID + "0", "c0ffee00-c0ff-ee00-c0ff-ee00c0ffee00", ""],
)
def test_a_job_uuid_of_another_length_is_refused_before_any_work(node: Node, job_uuid: str) -> None:
    before = node.names()
    answer = node.create("zstack-contract-t-bad-job", headers={"X-Job-UUID": job_uuid})
    assert (answer.status, answer.body) == (400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
    assert node.names() == before


def test_a_held_job_uuid_is_refused_before_any_work(node: Node) -> None:
    first = node.create("zstack-contract-t-dup-1", headers={"X-Job-UUID": JOB_UUID})
    assert first.status == 202
    answer = node.create("zstack-contract-t-dup-2", headers={"X-Job-UUID": JOB_UUID})
    assert (answer.status, answer.body) == (400, f"Duplicate job uuid[{JOB_UUID}]")
    assert "zstack-contract-t-dup-2" not in node.names()
    # On any API, and still once the first job has ended: the table holds the uuid until it expires.
    reused = {"X-Job-UUID": JOB_UUID}
    assert node.call("DELETE", f"{BACKUPS}/{SEEDED}", headers=reused).status == 400
    assert node.finish(first).status == 200
    assert node.call("DELETE", f"{BACKUPS}/{SEEDED}", headers=reused).status == 400
    assert len(node.listed(SEEDED)) == 1


def test_a_job_uuid_may_be_reused_once_expired(node: Node) -> None:
    assert node.create("zstack-contract-t-reuse-1", headers={"X-Job-UUID": JOB_UUID}).status == 202
    node.clock.advance(JOB_RETENTION)
    again = node.create("zstack-contract-t-reuse-2", headers={"X-Job-UUID": JOB_UUID})
    assert job_of(again) == JOB_UUID
    assert node.finish(again).body["inventory"]["name"] == "zstack-contract-t-reuse-2"


def test_concurrent_submits_of_one_job_uuid_run_once(node: Node) -> None:
    def submit(index: int) -> int:
        # One werkzeug client per thread; the app (and its job table) is shared.
        answer = Client(node.app).open(
            BACKUPS,
            method="POST",
            data=json.dumps({"params": {"name": f"zstack-contract-t-race-{index}", "backupStorageUuid": IMAGE_STORE}}),
            headers={"Authorization": f"OAuth {node.session}", "X-Job-UUID": JOB_UUID},
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(submit, range(16)))
    assert statuses == [202] + [400] * 15
    assert sum(name.startswith("zstack-contract-t-race-") for name in node.names()) == 1


# Validation and the session, both judged in the job.


NAME_255_ASTRAL = "\U0001f600" * 127 + "a"  # 255 UTF-16 code units, 128 code points
NAME_256_ASTRAL = "\U0001f600" * 128  # 256 UTF-16 code units, 128 code points


@pytest.mark.parametrize(
    ("params", "code", "details"),
    [
        ({"name": None}, "SYS.1007", "field[name] of message[org.zstack.header.message.ApiMessageParamValidator] is "
         "mandatory, can not be null"),
        ({"name": ""}, "SYS.1007", "field[name] cannot be an empty string"),
        ({"name": " \t\n"}, "SYS.1007", "field[name] cannot be an empty string"),
        ({"name": "x" * 256}, "SYS.1007", "exceeds max length of string. expected was <= 255, actual was 256"),
        ({"name": NAME_256_ASTRAL}, "SYS.1007", "expected was <= 255, actual was 256"),
        ({"description": "d" * 1025}, "SYS.1007", "expected was <= 1024, actual was 1025"),
        ({"backupStorageUuid": None}, "SYS.1007", "field[backupStorageUuid] of message"),
        ({"backupStorageUuid": UNKNOWN_UUID}, "SYS.1003",
         f"invalid field[backupStorageUuid], resource[uuid:{UNKNOWN_UUID}, type:BackupStorageVO] not found"),
        ({"backupStorageUuid": CEPH}, "SYS.1006", f"backup storage[uuid:{CEPH}] is not Enabled"),
        ({"resourceUuid": "not-a-uuid"}, "SYS.1007", "resourceUuid[not-a-uuid] is not a valid uuid"),
        ({"resourceUuid": SEEDED}, "SYS.1007", f"resourceUuid[{SEEDED}] has been occupied"),
    ],
    ids=[
        "missing-name",
        "empty-name",
        "blank-name",
        "256-name",
        "256-utf16-units",
        "long-description",
        "missing-storage",
        "unknown-storage",
        "disabled-storage",
        "bad-resource-uuid",
        "taken-resource-uuid",
    ],
)
def test_create_validation_fails_the_job(node: Node, params: dict[str, Any], code: str, details: str) -> None:
    body = {"name": "zstack-contract-t-invalid", "backupStorageUuid": IMAGE_STORE, **params}
    before = node.app.store.list(family.DATABASE_BACKUP)
    first = node.call("POST", BACKUPS, json_body={"params": {k: v for k, v in body.items() if v is not None}})
    assert first.status == 202
    final = node.finish(first)
    assert error_of(final) == (503, code)
    assert details in final.body["error"]["details"]
    assert node.app.store.list(family.DATABASE_BACKUP) == before


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("x" * 255, "x" * 255),
        (NAME_255_ASTRAL, NAME_255_ASTRAL),
        ("名前 with ünïcödé", "名前 with ünïcödé"),
        # Java's trim strips what is <= U+0020 before the length check, so 257 sent can be 255 kept...
        (" " + "y" * 255 + "\t", "y" * 255),
        # ...and only that: U+3000 is not blank to Java.
        ("\u3000", "\u3000"),
    ],
    ids=["255-ascii", "255-utf16-units", "unicode", "trimmed", "ideographic-space"],
)
def test_create_accepts_names_up_to_255_java_chars_trimmed(node: Node, sent: str, stored: str) -> None:
    inventory = node.created(sent)
    assert inventory["name"] == stored
    assert node.listed(inventory["uuid"])[0]["name"] == stored


def test_a_lone_surrogate_in_a_name_is_written_as_a_question_mark(node: Node) -> None:
    # json.dumps escapes the surrogate as \ud800, as a client sending any Java string may.
    raw = json.dumps({"params": {"name": "a\ud800b", "backupStorageUuid": IMAGE_STORE}})
    first = node.http.open(BACKUPS, method="POST", data=raw, headers={"Authorization": f"OAuth {node.session}"})
    final = node.finish(Answer(first.status_code, json.loads(first.get_data()), {}, job_of_location(first)))
    assert final.body["inventory"]["name"] == "a?b"
    assert node.app.recorded_errors() == []


def test_create_keeps_a_given_resource_uuid(node: Node) -> None:
    inventory = node.finish(node.create(resourceUuid=UNKNOWN_UUID)).body["inventory"]
    assert inventory["uuid"] == UNKNOWN_UUID


def test_a_type_clash_in_the_body_is_a_synchronous_500(node: Node) -> None:
    before = node.names()
    answer = node.call("POST", BACKUPS, json_body={"params": {"name": ["a"], "backupStorageUuid": IMAGE_STORE}})
    assert (answer.status, answer.body) == (
        500,
        "java.lang.IllegalStateException: Expected a string but was BEGIN_ARRAY path $.name",
    )
    assert node.names() == before


def test_an_unknown_session_is_accepted_then_fails_with_id_1001(node: Node) -> None:
    before = node.names()
    first = node.create("zstack-contract-t-nosession", auth=f"OAuth {UNKNOWN_UUID}")
    assert first.status == 202
    assert error_of(node.finish(first)) == (503, "ID.1001")
    assert node.names() == before


def test_validation_comes_before_the_session_check(node: Node) -> None:
    final = node.finish(node.call("POST", BACKUPS, json_body={"params": {}}, auth=f"OAuth {UNKNOWN_UUID}"))
    assert error_of(final) == (503, "SYS.1007")


def test_a_missing_authorization_is_a_synchronous_400(node: Node) -> None:
    answer = node.create(auth=None)
    assert (answer.status, answer.body) == (400, "missing header 'Authorization'")


def test_a_malformed_body_is_a_synchronous_500(node: Node) -> None:
    answer = node.http.open(BACKUPS, method="POST", data="{", headers={"Authorization": f"OAuth {node.session}"})
    assert answer.status_code == 500
    assert answer.get_data(as_text=True).startswith("com.google.gson.stream.MalformedJsonException")


# Delete, Export, DeleteExported, Sync and Recover: their rules.


def test_delete_of_some_storages_keeps_the_other_copies(node: Node) -> None:
    backup = node.created()["uuid"]
    assert node.finish(node.sync(backup)).status == 200
    assert node.finish(node.delete(backup, [IMAGE_STORE])).body == {}
    assert [ref["backupStorageUuid"] for ref in node.listed(backup)[0]["backupStorageRefs"]] == [DR_STORE]
    # A storage without a copy changes nothing; removing the last copy removes the backup.
    assert node.finish(node.delete(backup, [IMAGE_STORE])).body == {}
    assert len(node.listed(backup)) == 1
    assert node.finish(node.delete(backup, [DR_STORE, IMAGE_STORE])).body == {}
    assert node.listed(backup) == []


def test_delete_of_an_unknown_backup_succeeds(node: Node) -> None:
    # ZStack's delete APIs declare successIfResourceNotExisting: deleting twice is not an error.
    assert node.finish(node.delete(UNKNOWN_UUID)).status == 200
    # ...for anything shaped like a ZStack uuid; anything else is SYS.1003.
    assert error_of(node.finish(node.delete("not-a-uuid"))) == (503, "SYS.1003")


def test_delete_with_an_unknown_storage_fails_and_keeps_the_backup(node: Node) -> None:
    final = node.finish(node.delete(SEEDED, [UNKNOWN_UUID]))
    assert error_of(final) == (503, "SYS.1003")
    assert f"resource[uuids:[{UNKNOWN_UUID}], type:BackupStorageVO] not found" in final.body["error"]["details"]
    assert len(node.listed(SEEDED)) == 1


@pytest.mark.parametrize(
    ("backup", "storage", "code"),
    [
        (UNKNOWN_UUID, IMAGE_STORE, "SYS.1003"),
        (SEEDED, UNKNOWN_UUID, "SYS.1003"),
        (SEEDED, DR_STORE, "SYS.1006"),  # no copy there
        (SEEDED, CEPH, "SYS.1006"),  # disabled
    ],
)
def test_export_refusals(node: Node, backup: str, storage: str, code: str) -> None:
    assert error_of(node.finish(node.export(backup, storage))) == (503, code)


def test_export_twice_and_delete_exported_of_nothing_are_refused(node: Node) -> None:
    assert error_of(node.finish(node.delete_exported(SEEDED))) == (503, "SYS.1006")
    assert node.finish(node.export(SEEDED)).status == 200
    assert error_of(node.finish(node.export(SEEDED))) == (503, "SYS.1006")


@pytest.mark.parametrize(
    ("backup", "src", "dst", "code"),
    [
        (SEEDED, None, DR_STORE, "SYS.1007"),
        (SEEDED, IMAGE_STORE, None, "SYS.1007"),
        (UNKNOWN_UUID, IMAGE_STORE, DR_STORE, "SYS.1003"),
        (SEEDED, IMAGE_STORE, UNKNOWN_UUID, "SYS.1003"),
        (SEEDED, IMAGE_STORE, CEPH, "SYS.1006"),  # not an image store
        (SEEDED, DR_STORE, IMAGE_STORE, "SYS.1006"),  # the source holds no copy
        (SEEDED, IMAGE_STORE, IMAGE_STORE, "SYS.1006"),  # the destination already holds one
    ],
)
def test_sync_refusals(node: Node, backup: str, src: str | None, dst: str | None, code: str) -> None:
    before = node.app.store.list(family.DATABASE_BACKUP)
    assert error_of(node.finish(node.sync(backup, src, dst))) == (503, code)
    assert node.app.store.list(family.DATABASE_BACKUP) == before


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"uuid": SEEDED}, "SYS.1007"),  # no mysqlRootPassword
        ({"uuid": UNKNOWN_UUID, "mysqlRootPassword": "p"}, "SYS.1003"),
        ({"uuid": CREATING, "mysqlRootPassword": "p"}, "SYS.1006"),  # not Ready
        ({"mysqlRootPassword": "p"}, "SYS.1007"),  # neither a uuid nor a url and path
        ({"backupStorageUrl": "ssh://root:p@bs.invalid/zstack_bs", "mysqlRootPassword": "p"}, "SYS.1007"),
    ],
)
def test_recover_refusals(node: Node, params: dict[str, str], code: str) -> None:
    assert error_of(node.finish(node.recover(**params))) == (503, code)


def test_recover_from_a_file_changes_nothing(node: Node) -> None:
    before = copy.deepcopy(node.app.store.list(family.DATABASE_BACKUP))
    final = node.finish(
        node.recover(
            backupStorageUrl="ssh://root:p@bs.invalid/zstack_bs",
            backupInstallPath="zstore://zsbak/0123",
            mysqlRootPassword="p",
        )
    )
    assert (final.status, final.body) == (200, {"logListenPort": LOG_LISTEN_PORT})
    assert node.app.store.list(family.DATABASE_BACKUP) == before


# Routing on the shared paths (protocol notes §1).


def test_single_api_paths_take_any_method(node: Node) -> None:
    # RestServer never checks the method on a path only one API serves: GET reads the query string.
    answer = node.call("GET", f"{BACKUPS}/actions", query=[("uuid", SEEDED), ("mysqlRootPassword", "p")])
    assert node.finish(answer).body == {"logListenPort": LOG_LISTEN_PORT}
    # PUT without the action key still reaches the API, whose fields are then all null.
    without_key = node.call("PUT", f"{BACKUPS}/{SEEDED}/actions", json_body={})
    assert error_of(node.finish(without_key)) == (503, "SYS.1007")


SEEDED_PATH = f"database-backups/{SEEDED}"


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("PUT", f"{BACKUPS}/{SEEDED}", 400, f"the body doesn't contain action mapping to the URL[/v1/{SEEDED_PATH}]"),
        ("POST", f"{BACKUPS}/{SEEDED}", 500, f"No creational API found for the path[{BACKUPS}/{SEEDED}]"),
        ("DELETE", BACKUPS, 500, f"No delete API found for the path[{BACKUPS}]"),
    ],
)
def test_shared_paths_without_an_api_for_the_method(node: Node, method: str, path: str, status: int, text: str) -> None:
    answer = node.call(method, path, json_body={"other": {}})
    assert (answer.status, answer.body) == (status, text)


def test_the_query_short_form_still_answers_get(node: Node) -> None:
    assert [item["uuid"] for item in node.listed(SEEDED)] == [SEEDED]
    assert node.call("GET", f"{BACKUPS}/image-store", query=[("url", "sftp://x.invalid/p")]).status == 200


# Store.wait_for.


def test_wait_for_returns_at_once_when_the_predicate_holds(node: Node) -> None:
    assert node.app.store.wait_for(lambda store: bool(store.list(family.ZONE)), timeout=0)


def test_wait_for_times_out_when_nothing_changes(node: Node) -> None:
    assert not node.app.store.wait_for(lambda store: not store.list(family.ZONE), timeout=0.01)


def test_wait_for_wakes_on_a_change_made_by_another_thread(node: Node) -> None:
    go = threading.Event()

    def create_later() -> None:
        go.wait(10)
        node.created("zstack-contract-t-waited")

    worker = threading.Thread(target=create_later)
    worker.start()
    go.set()
    try:
        found = node.app.store.wait_for(
            lambda store: any(r["name"] == "zstack-contract-t-waited" for r in store.list(family.DATABASE_BACKUP)),
            timeout=10,
        )
    finally:
        worker.join(10)
    assert found


# Each async deviation: a direct probe, what it observes on a conforming node and on the deviant one.


def _submit_status(node: Node) -> object:
    return node.create().status


def _has_location(node: Node) -> object:
    first = node.create()
    return "location" in first.body if first.status == 202 else first.status


def _location(node: Node) -> object:
    first = node.create(headers={"Host": "mn.example:8080", "X-Job-UUID": JOB_UUID})
    return first.body.get("location", "<none>") if first.status == 202 else first.status


def _polls_until_end(node: Node) -> object:
    """The statuses of up to three polls, the clock moved past the delay after the first."""
    first = node.create(headers={"X-Job-UUID": JOB_UUID})
    if first.status != 202:
        return [first.status]
    statuses = [node.poll(JOB_UUID).status]
    node.clock.advance(PAST_DELAY)
    while len(statuses) < 3 and statuses[-1] not in (200, 503):
        statuses.append(node.poll(JOB_UUID).status)
    return statuses


def _failure_body_keys(node: Node) -> object:
    final = node.finish(node.call("POST", BACKUPS, json_body={"params": {"backupStorageUuid": IMAGE_STORE}}))
    return (final.status, sorted(final.body))


def _listed_after_delete(node: Node) -> object:
    backup = node.created()["uuid"]
    deleted = node.finish(node.delete(backup))
    return (deleted.status, len(node.listed(backup)))


def _create_minus_query(node: Node) -> object:
    inventory = node.created()
    listed = node.listed(inventory["uuid"])[0]
    return sorted(key for key in inventory.keys() & listed.keys() if inventory[key] != listed[key])


def _second_submit(node: Node) -> object:
    node.create("zstack-contract-t-once", headers={"X-Job-UUID": JOB_UUID})
    again = node.create("zstack-contract-t-twice", headers={"X-Job-UUID": JOB_UUID})
    return (again.status, "zstack-contract-t-twice" in node.names())


def _export_url_listed(node: Node) -> object:
    backup = node.created()["uuid"]
    answer = node.finish(node.export(backup)).body.get("databaseBackupUrl")
    return (answer is not None, ref_on(node.listed(backup)[0], IMAGE_STORE).get("exportUrl") == answer)


@dataclass(frozen=True)
class Probe:
    run: Any  # Callable[[Node], object]
    conforming: object
    deviant: object


PROBES: dict[str, Probe] = {
    "async-answered-200": Probe(_submit_status, 202, 200),
    "job-location-missing": Probe(_has_location, True, False),
    "job-location-other-host": Probe(
        _location, f"http://mn.example:8080{JOBS}{JOB_UUID}", f"http://10.255.0.1:8080{JOBS}{JOB_UUID}"
    ),
    "job-never-ends": Probe(_polls_until_end, [202, 200], [202, 202, 202]),
    "job-404-before-end": Probe(_polls_until_end, [202, 200], [404, 200]),
    "job-failure-unwrapped": Probe(_failure_body_keys, (503, ["error"]), (503, ["code", "description", "details"])),
    "delete-leaves-backup": Probe(_listed_after_delete, (200, 0), (200, 1)),
    "create-disagrees-with-query": Probe(_create_minus_query, [], ["size"]),
    "duplicate-job-uuid-accepted": Probe(_second_submit, (400, False), (202, True)),
    "export-sets-no-export-url": Probe(_export_url_listed, (True, True), (True, False)),
}

# Deviations whose probes also see another async deviation, because one defect implies the other's symptom.
OVERLAPS: dict[str, set[str]] = {
    # A location that is missing names no host either.
    "job-location-missing": {"job-location-other-host"},
    # No job at all: no 202 to carry a location, no polls, and no job uuid for a second submit to clash with.
    "async-answered-200": {
        "job-location-missing",
        "job-location-other-host",
        "job-never-ends",
        "job-404-before-end",
        "duplicate-job-uuid-accepted",
    },
    # Results never arrive, so nothing that reads a job's result can see it.
    "job-never-ends": {
        "job-404-before-end",
        "job-failure-unwrapped",
        "delete-leaves-backup",
        "create-disagrees-with-query",
        "export-sets-no-export-url",
    },
    # The probes' helper gives up on the first 404 like a client would, so results behind it are lost.
    "job-404-before-end": {
        "job-never-ends",
        "job-failure-unwrapped",
        "delete-leaves-backup",
        "create-disagrees-with-query",
        "export-sets-no-export-url",
    },
}


def _observe(name: str, deviations: Iterable[str]) -> object:
    try:
        return PROBES[name].run(Node(deviations))
    except (AssertionError, KeyError, StopIteration, TypeError, AttributeError) as broken:
        # A probe that cannot complete on this node (no result to read) has observed something else.
        return f"probe broke: {type(broken).__name__}"


def test_every_async_deviation_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(ASYNC_DEVIATIONS)
    assert set(ASYNC_DEVIATIONS) <= set(DEVIATIONS)
    assert DEVIATIONS["job-location-other-host"].level == "tolerated"
    assert all(DEVIATIONS[name].level == "must" for name in ASYNC_DEVIATIONS if name != "job-location-other-host")
    assert all(DEVIATIONS[name].reached_by == "example" for name in ASYNC_DEVIATIONS)


@pytest.mark.parametrize("name", ASYNC_DEVIATIONS)
def test_async_deviation_changes_what_it_claims(name: str) -> None:
    probe = PROBES[name]
    assert probe.run(Node()) == probe.conforming
    assert probe.run(Node([name])) == probe.deviant


@pytest.mark.parametrize("name", ASYNC_DEVIATIONS)
def test_async_deviation_changes_no_other_async_probe(name: str) -> None:
    changed = {other for other in PROBES if other != name and _observe(other, [name]) != PROBES[other].conforming}
    assert changed == OVERLAPS.get(name, set())
