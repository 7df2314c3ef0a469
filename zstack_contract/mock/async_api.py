"""HTTP for the database-backup family's asynchronous APIs and the job endpoint (protocol notes §1 and §3).

RestServer's order for an async API: parse the body (500 on malformed JSON), check the Authorization header
(400), fill the message from the body or the query string (500 on a type clash), check X-Job-UUID (400 on a
length other than 32 or on a uuid the job table still holds), then answer 202 with the job's location. Parameter
validation and the session check run later, in the job, so their failures come from polling: 503 SYS.1007 /
SYS.1003, or ID.1001.

The mock does the work when the job is submitted and keeps the answer in the job table (jobs.py), which shows it
once the job may end. So a Query sent after the job's 200 always sees the change, and a client interrupted before
it polls still leaves the backup it asked for behind, as on a real node.

Paths served by one API (Recover, Sync, Export, DeleteExported) take any mapped method, as RestServer never
checks the method there: GET and DELETE fill the message from the query string, the others from the body.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Mapping
from typing import Protocol

from werkzeug.wrappers import Request, Response

from zstack_contract.mock import writes
from zstack_contract.mock.deviations import DeviationName
from zstack_contract.mock.family import DATABASE_BACKUP, Kind, Record, Store
from zstack_contract.mock.jobs import API_TIMEOUT_MS, JOB_DELAY, JOB_RETENTION, JobState, JobTable
from zstack_contract.mock.wire import HaltError, JsonObject, error_code, plain_text, server_now, string_param

JOB_HEADER = "X-Job-UUID"
JOBS_PATH = "/zstack/v1/api-jobs/"
# Where job-location-other-host says the node is: an address the client cannot reach (NAT, a proxy).
OTHER_HOST = "http://10.255.0.1:8080"

_QUERY_METHODS = frozenset({"GET", "DELETE"})
_TAG_LISTS = frozenset({"systemTags", "userTags"})
_STRINGS: Callable[[str], object] = str


class JobHost(Protocol):
    """What the async routes use of the application (MockZStackApp)."""

    store: Store

    def deviates(self, name: DeviationName) -> bool: ...
    def read_body(self, request: Request) -> JsonObject | None: ...
    def authorization(self, request: Request) -> str | None: ...
    def session_is_valid(self, session_uuid: str) -> bool: ...
    def object_param(self, body: JsonObject | None, name: str) -> JsonObject: ...
    def query_fields(
        self, request: Request, scalars: Mapping[str, Callable[[str], object]], lists: frozenset[str] = ...
    ) -> dict[str, object]: ...
    def json_answer(self, status: int, payload: JsonObject) -> Response: ...
    def render(self, kind: Kind, record: Record) -> JsonObject: ...


Work = Callable[[JsonObject | None], writes.Outcome]


class AsyncApis:
    """The six asynchronous APIs and GET /zstack/v1/api-jobs/<uuid>, over one job table."""

    def __init__(
        self,
        app: JobHost,
        *,
        job_delay: float = JOB_DELAY,
        job_retention: float = JOB_RETENTION,
        clock: Callable[[], float],
    ) -> None:
        self._app = app
        self.jobs = JobTable(delay=job_delay, retention=job_retention, clock=clock)

    def routes(self) -> tuple[tuple[str, Callable[..., Response]], ...]:
        """(path regex under /v1, handler) for the paths only these APIs serve; exact paths first."""
        return (
            (r"/v1/api-jobs/(.+)", self.poll),
            (r"/v1/database-backups/actions", self.recover),
            (r"/v1/database-backups/([^/]+)/actions", self.sync),
            (r"/v1/database-backups/([^/]+)/backup-storage/([^/]+)/actions", self.export),
            (r"/v1/exported-database-backup/([^/]+)/backup-storage/([^/]+)", self.delete_exported),
        )

    # The job endpoint.

    def poll(self, request: Request, job_uuid: str) -> Response:
        # handleJobQuery runs before the body is read and before any Authorization check.
        if request.method != "GET":
            return plain_text(405, "only GET method is allowed for querying job status")
        answer = self.jobs.poll(job_uuid)
        if answer.state is JobState.UNKNOWN:
            return plain_text(404, "the job has been expired")
        if self._app.deviates(DeviationName.JOB_NEVER_ENDS):
            return self._app.json_answer(202, {})
        if answer.state is JobState.RUNNING:
            if self._app.deviates(DeviationName.JOB_404_BEFORE_END):
                return plain_text(404, "the job has been expired")
            return self._app.json_answer(202, {})
        return self._app.json_answer(answer.status, answer.body)

    # The APIs. Each parses what RestServer parses before the 202, then submits the work.

    def create(self, request: Request) -> Response:
        body = self._app.read_body(request)
        session = self._app.authorization(request)
        params = self._app.object_param(body, "params")
        create = writes.CreateRequest(
            name=string_param(params, "name"),
            description=string_param(params, "description"),
            backup_storage_uuid=string_param(params, "backupStorageUuid"),
            resource_uuid=string_param(params, "resourceUuid"),
        )
        store = self._app.store
        return self._submit(
            request,
            session,
            lambda session_error: writes.create(
                store,
                create,
                session_error=session_error,
                now=server_now(),
                quirks=writes.Quirks(four_byte_names_refused=self._app.deviates(DeviationName.FOUR_BYTE_NAMES_REFUSED)),
            ),
            result=self._create_result,
        )

    def delete(self, request: Request, backup_uuid: str) -> Response:
        self._app.read_body(request)
        session = self._app.authorization(request)
        fields = self._app.query_fields(request, {"deleteMode": _STRINGS}, _TAG_LISTS | {"backupStorageUuids"})
        chosen = fields.get("backupStorageUuids")
        delete = writes.DeleteRequest(backup_uuid, [str(u) for u in chosen] if isinstance(chosen, list) else None)
        store = self._app.store
        quirks = writes.Quirks(delete_leaves_backup=self._app.deviates(DeviationName.DELETE_LEAVES_BACKUP))
        return self._submit(
            request,
            session,
            lambda session_error: writes.delete(store, delete, session_error=session_error, quirks=quirks),
        )

    def export(self, request: Request, backup_uuid: str, storage_uuid: str) -> Response:
        session = self._action_params(request, "exportDatabaseBackupFromBackupStorage", ())[0]
        copy = writes.CopyRequest(backup_uuid, storage_uuid)
        store = self._app.store
        quirks = writes.Quirks(export_sets_no_url=self._app.deviates(DeviationName.EXPORT_SETS_NO_EXPORT_URL))
        return self._submit(
            request,
            session,
            lambda session_error: writes.export(
                store, copy, session_error=session_error, now=server_now(), quirks=quirks
            ),
        )

    def delete_exported(self, request: Request, backup_uuid: str, storage_uuid: str) -> Response:
        session = self._action_params(request, "deleteExportedDatabaseBackupFromBackupStorage", ())[0]
        copy = writes.CopyRequest(backup_uuid, storage_uuid)
        store = self._app.store
        return self._submit(
            request,
            session,
            lambda session_error: writes.delete_exported(store, copy, session_error=session_error, now=server_now()),
        )

    def sync(self, request: Request, backup_uuid: str) -> Response:
        session, params = self._action_params(
            request, "syncDatabaseBackupFromImageStoreBackupStorage", ("srcBackupStorageUuid", "dstBackupStorageUuid")
        )
        sync = writes.SyncRequest(
            backup_uuid, string_param(params, "srcBackupStorageUuid"), string_param(params, "dstBackupStorageUuid")
        )
        store = self._app.store
        return self._submit(
            request,
            session,
            lambda session_error: writes.sync(store, sync, session_error=session_error, now=server_now()),
        )

    def recover(self, request: Request) -> Response:
        session, params = self._action_params(
            request, "recoverDatabaseFromBackup", ("uuid", "backupStorageUrl", "backupInstallPath", "mysqlRootPassword")
        )
        recover = writes.RecoverRequest(
            string_param(params, "uuid"),
            string_param(params, "backupStorageUrl"),
            string_param(params, "backupInstallPath"),
            string_param(params, "mysqlRootPassword"),
        )
        store = self._app.store
        return self._submit(
            request, session, lambda session_error: writes.recover(store, recover, session_error=session_error)
        )

    # Shared steps.

    def _action_params(
        self, request: Request, parameter_name: str, fields: tuple[str, ...]
    ) -> tuple[str | None, Mapping[str, object]]:
        """The session claimed and the message's fields, from the body or (GET, DELETE) the query string."""
        body = self._app.read_body(request)
        session = self._app.authorization(request)
        if request.method in _QUERY_METHODS:
            return session, self._app.query_fields(request, dict.fromkeys(fields, _STRINGS))
        return session, self._app.object_param(body, parameter_name)

    def _job_uuid(self, request: Request) -> str | None:
        """The X-Job-UUID sent, after RestServer's length check; None when none was sent."""
        given = request.headers.get(JOB_HEADER)
        if given is not None and len(given) != 32:
            raise HaltError(plain_text(400, f"Invalid header[{JOB_HEADER}], it must be a UUID with '-' stripped"))
        return given

    def _submit(
        self,
        request: Request,
        session: str | None,
        work: Work,
        result: Callable[[writes.Outcome], JsonObject] | None = None,
    ) -> Response:
        given = self._job_uuid(request)
        job_uuid = given or uuidlib.uuid4().hex
        answered_now = self._app.deviates(DeviationName.ASYNC_ANSWERED_200)
        replace = self._app.deviates(DeviationName.DUPLICATE_JOB_UUID_ACCEPTED)
        if not answered_now and not self.jobs.claim(job_uuid, replace=replace):
            return plain_text(400, f"Duplicate job uuid[{job_uuid}]")
        # An unknown session is not refused here: the job fails with ID.1001 after validation.
        session_error = (
            None
            if session is None or self._app.session_is_valid(session)
            else error_code("ID.1001", "Session expired")
        )
        outcome = work(session_error)
        if outcome.error is not None:
            status, body = 503, self._failure_body(outcome.error, answered_now)
        else:
            status, body = 200, (result or self._result)(outcome)
        if answered_now:
            return self._app.json_answer(status, body)
        self.jobs.finish(job_uuid, status, body)
        return self._app.json_answer(202, self._accepted(request, job_uuid))

    def _failure_body(self, error: JsonObject, answered_now: bool) -> JsonObject:
        if self._app.deviates(DeviationName.JOB_FAILURE_UNWRAPPED) and not answered_now:
            return error
        return {"error": error}

    def _result(self, outcome: writes.Outcome) -> JsonObject:
        body: JsonObject = dict(outcome.fields)
        if outcome.inventory is not None:
            body["inventory"] = self._app.render(DATABASE_BACKUP, outcome.inventory)
        return body

    def _create_result(self, outcome: writes.Outcome) -> JsonObject:
        body = self._result(outcome)
        if self._app.deviates(DeviationName.CREATE_DISAGREES_WITH_QUERY):
            body["inventory"]["size"] = 0
        return body

    def _accepted(self, request: Request, job_uuid: str) -> JsonObject:
        """The 202 body. The location names the host the client called (RestServer builds it from the request)."""
        base = OTHER_HOST if self._app.deviates(DeviationName.JOB_LOCATION_OTHER_HOST) else f"http://{request.host}"
        accepted: JsonObject = {"location": f"{base}{JOBS_PATH}{job_uuid}", "apiTimeout": API_TIMEOUT_MS}
        if self._app.deviates(DeviationName.JOB_LOCATION_MISSING):
            del accepted["location"]
        return accepted
