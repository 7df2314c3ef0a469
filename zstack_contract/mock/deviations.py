"""The catalogue of ways a ZStack-compatible server can break the contract.

Each deviation is one realistic defect. The mock turns them on by name, so the contract suite can show
it notices each one on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class DeviationName(StrEnum):
    """Every deviation's name: code that switches on a deviation names it through this enum, so a misspelt name
    is a type error (mypy) and an AttributeError, never a branch that silently never runs."""

    AUTH_IGNORED = "auth-ignored"
    AUTH_401 = "auth-401"
    SESSION_NOT_INVALIDATED = "session-not-invalidated"
    LOGIN_ANY_PASSWORD = "login-any-password"
    BACKUPS_KEY = "backups-key"
    SIZE_AS_STRING = "size-as-string"
    ISO_DATES = "iso-dates"
    CREATED_EPOCH_MILLIS = "created-epoch-millis"
    MISSING_AUTHOR = "missing-author"
    INFOS_OMITTED_WHEN_EMPTY = "infos-omitted-when-empty"
    VALIDATION_SKIPPED = "validation-skipped"
    PORT_RANGE_UNCHECKED = "port-range-unchecked"
    ERROR_UNWRAPPED = "error-unwrapped"
    ERROR_AS_200 = "error-as-200"
    ERROR_MISSING_CODE = "error-missing-code"
    CAUSE_AS_STRING = "cause-as-string"
    PLAIN_500_ON_MISSING_URL = "plain-500-on-missing-url"
    MISSING_ARG_AS_SESSION_ERROR = "missing-arg-as-session-error"
    SERVER_ERROR_ON_TAG_CHARS = "server-error-on-tag-chars"
    SERVER_ERROR_NON_ASCII_URL = "server-error-non-ascii-url"
    SIZE_STRING_WHEN_LARGE = "size-string-when-large"
    DUPLICATE_SCALAR_ACCEPTED = "duplicate-scalar-accepted"
    UNKNOWN_PARAM_REJECTED = "unknown-param-rejected"
    INDEXED_LISTS_REJECTED = "indexed-lists-rejected"
    WRONG_SESSION_CODE = "wrong-session-code"
    UNKNOWN_SESSION_400 = "unknown-session-400"
    CONTENT_TYPE_HTML = "content-type-html"
    SIZE_AS_FLOAT = "size-as-float"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    QUERY_LIMIT_IGNORED = "query-limit-ignored"
    QUERY_START_OFF_BY_ONE = "query-start-off-by-one"
    QUERY_COUNT_WRONG = "query-count-wrong"
    QUERY_TOTAL_MISSING = "query-total-missing"
    QUERY_Q_IGNORED = "query-q-ignored"
    QUERY_NE_AS_EQ = "query-ne-as-eq"
    QUERY_FIELDS_IGNORED = "query-fields-ignored"
    QUERY_SORT_REVERSED = "query-sort-reversed"
    QUERY_SHORT_FORM_404 = "query-short-form-404"
    QUERY_LIMIT_NON_INTEGER_ACCEPTED = "query-limit-non-integer-accepted"
    QUERY_CONDITION_WITHOUT_OPERATOR_ACCEPTED = "query-condition-without-operator-accepted"
    QUERY_INVENTORY_WRONG_TYPE = "query-inventory-wrong-type"
    CAPACITY_AS_STRING = "capacity-as-string"
    VALIDATE_SESSION_TRUE_AFTER_LOGOUT = "validate-session-true-after-logout"
    VERSION_REQUIRES_AUTH = "version-requires-auth"
    VALIDATE_REQUIRES_AUTH = "validate-requires-auth"
    LOGIN_INVENTORY_WITHOUT_UUID = "login-inventory-without-uuid"
    LOGIN_MISSING_ACCOUNT_ACCEPTED = "login-missing-account-accepted"
    ASYNC_ANSWERED_200 = "async-answered-200"
    JOB_LOCATION_MISSING = "job-location-missing"
    JOB_NEVER_ENDS = "job-never-ends"
    JOB_404_BEFORE_END = "job-404-before-end"
    JOB_FAILURE_UNWRAPPED = "job-failure-unwrapped"
    DELETE_LEAVES_BACKUP = "delete-leaves-backup"
    CREATE_DISAGREES_WITH_QUERY = "create-disagrees-with-query"
    DUPLICATE_JOB_UUID_ACCEPTED = "duplicate-job-uuid-accepted"
    EXPORT_SETS_NO_EXPORT_URL = "export-sets-no-export-url"
    JOB_LOCATION_OTHER_HOST = "job-location-other-host"
    FOUR_BYTE_NAMES_REFUSED = "four-byte-names-refused"


@dataclass(frozen=True)
class Deviation:
    """One way a server can break the contract.

    ``level`` is the contract level the defect breaks; ``"tolerated"`` marks a variation the contract allows
    (the suite must still pass), kept in the catalogue to prove the suite raises no false failure on it.

    ``reached_by`` says what kind of test input reaches the defect. ``"example"`` means a hand-written
    example request does. ``"generated"`` means only generated inputs do, such as odd characters, an
    empty repository, or sizes above the int32 range.
    """

    name: str
    summary: str
    level: Literal["must", "should", "tolerated"]
    reached_by: Literal["example", "generated"]


class UnknownDeviationError(ValueError):
    """A deviation name that is not in the catalogue."""

    def __init__(self, unknown: Iterable[str]) -> None:
        self.unknown = tuple(unknown)
        self.valid = tuple(DEVIATIONS)
        names = ", ".join(repr(name) for name in self.unknown)
        super().__init__(f"unknown deviation {names}; valid deviations: {', '.join(self.valid)}")


_CATALOGUE = (
    Deviation(
        DeviationName.AUTH_IGNORED,
        "the API serves data with no Authorization header, a non-OAuth scheme, or an unknown or logged-out session",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.AUTH_401,
        "a missing or non-OAuth Authorization header is answered 401 with a JSON error body instead of 400 plain "
        "text, and an unknown session is answered 401 instead of 503 (clients branch on the status)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.SESSION_NOT_INVALIDATED,
        "logout answers 200 {} but the session stays valid and keeps working",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.LOGIN_ANY_PASSWORD,
        "login with a wrong password succeeds for a known account",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.BACKUPS_KEY,
        "the success body lists the images under 'backups' (what the SDKs use) instead of the documented 'infos'",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.SIZE_AS_STRING,
        'every item\'s size is a JSON string ("7995392") instead of an integer',
        "must",
        "example",
    ),
    Deviation(
        DeviationName.ISO_DATES,
        "created is ISO-8601 (2017-11-14T22:20:57Z) instead of Gson's 'MMM d, yyyy h:mm:ss a'",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.CREATED_EPOCH_MILLIS,
        "created is an integer of epoch milliseconds instead of a Gson date string",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.MISSING_AUTHOR,
        "items omit the author field",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.INFOS_OMITTED_WHEN_EMPTY,
        'an empty repository answers {} (Gson dropping a null list) instead of {"infos": []}',
        "must",
        "generated",
    ),
    Deviation(
        DeviationName.VALIDATION_SKIPPED,
        "a missing or empty url is not rejected: 200 with the seeded items instead of 503 SYS.1007",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.PORT_RANGE_UNCHECKED,
        "a registryPort outside 1..65535 is not refused: the server falls back to port 8000 and answers 200 with "
        "data instead of 503 SYS.1007",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.ERROR_UNWRAPPED,
        'failure bodies are the bare ErrorCode {"code", "description", "details"} with no "error" wrapper '
        "(status unchanged)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.ERROR_AS_200,
        'sync API failures (validation, session, login, operation) are answered HTTP 200 with {"error": {...}} '
        "instead of 503",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.ERROR_MISSING_CODE,
        "the error envelope has no code",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.CAUSE_AS_STRING,
        "an error's nested cause is a plain string instead of an ErrorCode object (seen on the unreachable-store 503)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.PLAIN_500_ON_MISSING_URL,
        "a missing url is answered 500 plain text java.lang.NullPointerException instead of 503 SYS.1007",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.MISSING_ARG_AS_SESSION_ERROR,
        "a missing url is answered 503 ID.1001 (invalid session) instead of SYS.1007: the client logs in again and "
        "retries a request that can never succeed",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.SERVER_ERROR_ON_TAG_CHARS,
        "500 plain text when any systemTags/userTags value contains '%', a single quote or a non-ASCII character "
        "(a broken tag parser)",
        "must",
        "generated",
    ),
    Deviation(
        DeviationName.SERVER_ERROR_NON_ASCII_URL,
        "500 plain text when url contains a non-ASCII character",
        "must",
        "generated",
    ),
    Deviation(
        DeviationName.SIZE_STRING_WHEN_LARGE,
        "items whose size is >= 2**31 carry size as a string (an int32 overflow workaround); smaller sizes stay "
        "integers, so the curated seed looks conforming",
        "must",
        "generated",
    ),
    Deviation(
        DeviationName.DUPLICATE_SCALAR_ACCEPTED,
        "a scalar query parameter given twice (registryPort=1&registryPort=2) is accepted, first value wins, "
        "instead of a 400 refusal",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.UNKNOWN_PARAM_REJECTED,
        "an unknown query key is refused with 503 SYS.1007 instead of being ignored",
        "should",
        "example",
    ),
    Deviation(
        DeviationName.INDEXED_LISTS_REJECTED,
        "indexed list keys (systemTags.0=a) are refused with 503 SYS.1007; only repeated keys are understood",
        "should",
        "example",
    ),
    Deviation(
        DeviationName.WRONG_SESSION_CODE,
        "an unknown session is answered 503 with code SYS.1000 instead of ID.1001 (clients never log in again)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.UNKNOWN_SESSION_400,
        "an unknown or logged-out session is answered 400 plain text instead of 503 ID.1001: SDKs see a bare HTTP "
        "error and never log in again",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.CONTENT_TYPE_HTML,
        "JSON responses carry Content-Type: text/html",
        "should",
        "example",
    ),
    Deviation(
        DeviationName.SIZE_AS_FLOAT,
        "size and virtualsize are JSON floats (7995392.0), the documentation-generator artifact, instead of integers",
        "tolerated",
        "example",
    ),
    Deviation(
        DeviationName.METHOD_NOT_ALLOWED,
        "POST/PUT to the image-store path are answered 405 plain text (a generic web framework) instead of "
        "running the API and failing validation with 503 SYS.1007 (the read-only suite never sends them)",
        "tolerated",
        "example",
    ),
    # The Query APIs (QueryZone, QueryBackupStorage, QueryDatabaseBackup) and their shared engine.
    Deviation(
        DeviationName.QUERY_LIMIT_IGNORED,
        "the Query APIs ignore limit and return every match: a client paging with limit=N gets the whole table",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_START_OFF_BY_ONE,
        "the Query APIs read start as a 1-based position (start=N skips N-1 records), so consecutive pages overlap",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_COUNT_WRONG,
        "total (count=true and replyWithCount=true) is one more than the number of matches: deleted rows are counted",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_TOTAL_MISSING,
        "replyWithCount=true answers the inventories without total (count=true still works)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_Q_IGNORED,
        "the Query APIs ignore every q condition and list all records",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_NE_AS_EQ,
        "the q operator != behaves like =, so f!=v returns the records with f=v instead of the complement",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_FIELDS_IGNORED,
        "fields=a,b is ignored: items carry every field instead of only the named ones",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_SORT_REVERSED,
        "sort runs the wrong way: sort=+f is descending and sort=-f ascending",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_SHORT_FORM_404,
        "the short form GET /<resources>/{uuid} is not mapped: 404 plain text instead of the one-item listing",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_LIMIT_NON_INTEGER_ACCEPTED,
        "a non-integer limit (limit=abc) is ignored and answered 200 with the default page instead of 400 plain text",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_CONDITION_WITHOUT_OPERATOR_ACCEPTED,
        "a q condition without an operator (q=name) is silently dropped and answered 200 instead of 400 plain text",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.QUERY_INVENTORY_WRONG_TYPE,
        "QueryZone's createDate is an integer of epoch milliseconds instead of a Gson date string",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.CAPACITY_AS_STRING,
        'GetBackupStorageCapacity\'s totalCapacity is a JSON string ("4398046511104") instead of an integer',
        "must",
        "example",
    ),
    # The session and version APIs.
    Deviation(
        DeviationName.VALIDATE_SESSION_TRUE_AFTER_LOGOUT,
        "ValidateSession answers true for a logged-out session (which no API accepts any more)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.VERSION_REQUIRES_AUTH,
        "GetVersion needs an Authorization header: 400 plain text without one, so a client cannot read the version "
        "before it logs in",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.VALIDATE_REQUIRES_AUTH,
        "ValidateSession needs an Authorization header: 400 plain text without one",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.LOGIN_INVENTORY_WITHOUT_UUID,
        "the login inventory leaves out uuid when the account already has a live session (the first login is "
        "conforming, so a client can still sign in once)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.LOGIN_MISSING_ACCOUNT_ACCEPTED,
        "a login without accountName is answered 503 ID.1000 (wrong credentials) instead of SYS.1007 (invalid "
        "argument)",
        "must",
        "example",
    ),
    # The database-backup family's asynchronous APIs and the job table (issue 9).
    Deviation(
        DeviationName.ASYNC_ANSWERED_200,
        "the asynchronous APIs answer 200 with the result at once (503 {\"error\"} on failure) instead of 202 and a "
        "job: clients that follow the SDKs never poll, and an X-Job-UUID names no job",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.JOB_LOCATION_MISSING,
        "the 202 body carries apiTimeout but no location, so a client cannot find the job to poll",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.JOB_NEVER_ENDS,
        "polling a job answers 202 {} forever: the work is done (the backup exists) but its result never arrives",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.JOB_404_BEFORE_END,
        "polls of a running job answer 404 'the job has been expired' instead of 202 {} (the job table is written "
        "only when the job ends), so SDKs give up on a job that later succeeds",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.JOB_FAILURE_UNWRAPPED,
        "a failed job's 503 poll body is the bare ErrorCode {\"code\", \"description\", \"details\"} without the "
        "\"error\" wrapper (sync failures stay wrapped)",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.DELETE_LEAVES_BACKUP,
        "DeleteDatabaseBackup's job succeeds ({}) but the backup stays in QueryDatabaseBackup's listing",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.CREATE_DISAGREES_WITH_QUERY,
        "CreateDatabaseBackup's result inventory says size 0 (read before the dump's size was recorded) while "
        "QueryDatabaseBackup lists the real size",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.DUPLICATE_JOB_UUID_ACCEPTED,
        "an X-Job-UUID the job table still holds is accepted: a second job replaces the first instead of a 400 "
        "'Duplicate job uuid[...]', so a client's retry runs the work twice",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.EXPORT_SETS_NO_EXPORT_URL,
        "ExportDatabaseBackupFromBackupStorage answers a databaseBackupUrl but the backup storage ref's exportUrl "
        "stays unset in QueryDatabaseBackup",
        "must",
        "example",
    ),
    Deviation(
        DeviationName.JOB_LOCATION_OTHER_HOST,
        "the 202 location names the node's own address (http://10.255.0.1:8080/zstack/v1/api-jobs/<id>, as behind "
        "NAT or a proxy) instead of the host the client called; the suite polls the same path on its configured URL",
        "tolerated",
        "example",
    ),
    Deviation(
        DeviationName.FOUR_BYTE_NAMES_REFUSED,
        "a Create whose name has a character outside the BMP fails its job 503 SYS.1000 'Incorrect string value', as "
        "a node on ZStack's DEFAULT CHARSET=utf8 (three-byte) tables does; the contract holds it at should level only",
        "tolerated",
        "example",
    ),
)

DEVIATIONS: dict[str, Deviation] = {deviation.name: deviation for deviation in _CATALOGUE}


def resolve(names: Iterable[str]) -> frozenset[str]:
    """Check deviation names against the catalogue and return them as a set.

    Raises UnknownDeviationError listing every unknown name and all valid ones.
    """
    # A bare string is an easy slip for a one-element list; iterating it would report single letters.
    chosen = (names,) if isinstance(names, str) else tuple(names)
    unknown = [name for name in chosen if name not in DEVIATIONS]
    if unknown:
        raise UnknownDeviationError(unknown)
    return frozenset(chosen)
