"""Every contract rule by name, each with its level: one enum, so a misspelt rule is an error where it is named.

``RULES`` gives each its level and what it asks of the server (or, for ``doc.*`` rules, of the page).
"""

from __future__ import annotations

from enum import StrEnum

from zstack_contract.engine.findings import Level


class Rule(StrEnum):
    RESPONSE_SHAPE = "response.shape"
    RESPONSE_REQUIRED_FIELDS = "response.required-fields"
    RESPONSE_JSON = "response.json"
    RESPONSE_CONTENT_TYPE = "response.content-type"
    RESPONSE_SYNC_STATUS = "response.sync-status"
    ERROR_ENVELOPE = "error.envelope"
    REQUEST_ACCEPTED = "request.accepted"
    REQUEST_NO_SERVER_ERROR = "request.no-server-error"
    REQUEST_REFUSED = "request.refused"
    REQUEST_REFUSAL_CLASS = "request.refusal-class"
    REQUEST_ZSTACK_ERROR = "request.zstack-error"
    REQUEST_AUTHENTICATED = "request.authenticated"
    API_NOT_SERVED = "api.not-served"
    RESPONSE_UNJUDGEABLE = "response.unjudgeable"
    REQUEST_NO_PLAIN_500 = "request.no-plain-500"
    REQUEST_SHOULD_ACCEPT = "request.should-accept"
    QUERY_LIMIT = "query.limit"
    QUERY_PAGING = "query.paging"
    QUERY_COUNT = "query.count"
    QUERY_FILTER = "query.filter"
    QUERY_UUID = "query.uuid"
    QUERY_FIELDS = "query.fields"
    QUERY_SORT = "query.sort"
    SESSION_VALIDATE = "session.validate"
    SESSION_NO_AUTH = "session.no-auth"
    REQUEST_LIST_ENCODINGS_AGREE = "request.list-encodings-agree"
    ASYNC_ACCEPTED = "async.accepted"
    ASYNC_LOCATION = "async.location"
    ASYNC_API_TIMEOUT = "async.api-timeout"
    ASYNC_POLL = "async.poll"
    ASYNC_RUNNING_BODY = "async.running-body"
    ASYNC_COMPLETES = "async.completes"
    LIFECYCLE_QUERY_AGREES = "lifecycle.query-agrees"
    LIFECYCLE_EXPORT_URL = "lifecycle.export-url"
    LIFECYCLE_SYNC = "lifecycle.sync"
    LIFECYCLE_DELETED = "lifecycle.deleted"
    DOC_EXAMPLE_REQUIRED = "doc.example-required"
    DOC_REQUIRED_BUT_NULL = "doc.required-but-null"
    DOC_SDK_DISAGREES = "doc.sdk-disagrees"
    DOC_EXAMPLE_NUMBER_FORMAT = "doc.example-number-format"
    DOC_PAGE_CORRECTED = "doc.page-corrected"
    DOC_PARAMETER_LOCATION = "doc.parameter-location"

    @property
    def level(self) -> Level:
        return RULES[self][0]

    @property
    def description(self) -> str:
        return RULES[self][1]


RULES: dict[Rule, tuple[Level, str]] = {
    Rule.RESPONSE_SHAPE: (Level.MUST, "a 200 body passes the derived must schema (result fields, documented types)"),
    Rule.RESPONSE_REQUIRED_FIELDS: (Level.SHOULD, "a 200 body has every field the page marks Required, non-null"),
    Rule.RESPONSE_JSON: (Level.MUST, "200 and 503 bodies are JSON objects"),
    Rule.RESPONSE_CONTENT_TYPE: (Level.SHOULD, "a Content-Type header, when sent, names JSON for a JSON body"),
    Rule.RESPONSE_SYNC_STATUS: (Level.MUST, "a synchronous API answers 200 or an error, never another 2xx"),
    Rule.ERROR_ENVELOPE: (Level.MUST, "a 503 body is ZStack's envelope {error: {code, description, details, ...}}"),
    Rule.REQUEST_ACCEPTED: (Level.MUST, "a valid request is answered 200 (or 503 with an envelope where allowed)"),
    Rule.REQUEST_NO_SERVER_ERROR: (Level.MUST, "a valid request never gets a 5xx other than ZStack's 503 envelope"),
    Rule.REQUEST_REFUSED: (Level.MUST, "an invalid or unauthenticated request gets no 2xx and no result data"),
    Rule.REQUEST_REFUSAL_CLASS: (
        Level.MUST,
        "a refusal carries the HTTP status and error code clients branch on, where the protocol notes mark them "
        "[V]: 503 ID.1001 bad session, 503 ID.1000 wrong credentials, 503 SYS.1007 invalid argument, 400 for a "
        "missing or non-OAuth Authorization header or a scalar given twice",
    ),
    Rule.REQUEST_ZSTACK_ERROR: (
        Level.SHOULD,
        "a refusal carries the exact status, code and text ZStack answers (protocol notes)",
    ),
    Rule.REQUEST_AUTHENTICATED: (
        Level.MUST,
        "a request sent with the run's valid session that should succeed is not refused as unauthenticated "
        "(503 with an ID.* code)",
    ),
    Rule.API_NOT_SERVED: (Level.MUST, "the target serves the API (no 404 'no api mapping' for its path)"),
    Rule.RESPONSE_UNJUDGEABLE: (
        Level.MUST,
        "the answer can be judged: a body within the size cap, JSON nested within the depth limit",
    ),
    Rule.REQUEST_NO_PLAIN_500: (Level.SHOULD, "bad input is answered with a ZStack error, not HTTP 500 plain text"),
    Rule.REQUEST_SHOULD_ACCEPT: (Level.SHOULD, "an input ZStack accepts (protocol notes) is answered 200"),
    Rule.QUERY_LIMIT: (
        Level.MUST,
        "a Query API given limit=N answers at most N inventories (protocol notes section 6)",
    ),
    Rule.QUERY_PAGING: (
        Level.MUST,
        "start/limit pages of a sorted listing are disjoint, in order, and together equal the whole listing",
    ),
    Rule.QUERY_COUNT: (
        Level.MUST,
        "count=true answers a total equal to the listing's length; replyWithCount=true answers the same "
        "inventories plus that total",
    ),
    Rule.QUERY_FILTER: (
        Level.MUST,
        "a q= condition selects exactly the items its operator means (f=v only items with f=v, f!=v the "
        "complement, and so on for every operator)",
    ),
    Rule.QUERY_UUID: (Level.MUST, "q=uuid=X and the short form GET /<resources>/X both answer exactly the item X"),
    Rule.QUERY_FIELDS: (Level.MUST, "fields=a,b answers items carrying no keys other than a and b"),
    Rule.QUERY_SORT: (Level.MUST, "sort=+f answers items in ascending order of f, sort=-f in descending order"),
    Rule.SESSION_VALIDATE: (
        Level.MUST,
        "ValidateSession answers {valid: true} for a live session and {valid: false} after its logout",
    ),
    Rule.SESSION_NO_AUTH: (
        Level.MUST,
        "an API ZStack marks @SuppressCredentialCheck (login, logout, ValidateSession, GetVersion) works with no "
        "Authorization header",
    ),
    Rule.REQUEST_LIST_ENCODINGS_AGREE: (
        Level.SHOULD,
        "a list sent as repeated keys (k=a&k=b) and as indexed keys (k.0=a&k.1=b) gets the same answer",
    ),
    Rule.ASYNC_ACCEPTED: (
        Level.MUST,
        "a valid request to an async API is answered 202 with a job (not 200 with the result, not another 2xx) "
        "(protocol notes §1, §3)",
    ),
    Rule.ASYNC_LOCATION: (
        Level.MUST,
        "the 202 body is JSON with a string 'location' whose path is /zstack/v1/api-jobs/<id>, <id> being the "
        "X-Job-UUID the suite sent",
    ),
    Rule.ASYNC_API_TIMEOUT: (Level.SHOULD, "the 202 body carries 'apiTimeout', a positive integer (milliseconds)"),
    Rule.ASYNC_POLL: (
        Level.MUST,
        "polling the job answers 202 while it runs and then 200 (result) or 503 (error envelope), never 404 or "
        "anything else first",
    ),
    Rule.ASYNC_RUNNING_BODY: (Level.SHOULD, "a running job's poll answer is 202 with the body {}"),
    Rule.ASYNC_COMPLETES: (
        Level.MUST,
        "the job ends (200 or 503) within the bound: the smaller of --zstack-job-timeout and the job's apiTimeout "
        "plus --zstack-timeout",
    ),
    Rule.LIFECYCLE_QUERY_AGREES: (
        Level.MUST,
        "the Query API lists the created resource, and every field present in both the create result and the "
        "Query item has the same value",
    ),
    Rule.LIFECYCLE_EXPORT_URL: (
        Level.MUST,
        "after Export the backup-storage ref carries exportUrl (and Export answers databaseBackupUrl); after "
        "DeleteExported it carries none",
    ),
    Rule.LIFECYCLE_SYNC: (Level.MUST, "after Sync the backup has a ref on the destination backup storage"),
    Rule.LIFECYCLE_DELETED: (Level.MUST, "after Delete's job succeeds, the Query API no longer lists the resource"),
}

DOC_RULES: dict[Rule, tuple[Level, str]] = {
    Rule.DOC_EXAMPLE_REQUIRED: (Level.DOC, "the page's response example has every field the page marks Required"),
    Rule.DOC_REQUIRED_BUT_NULL: (
        Level.DOC,
        "a field the page marks Required is not null by design (Gson omits nulls: ErrorCode members other than "
        "code/description/details, fields the page itself calls null)",
    ),
    Rule.DOC_SDK_DISAGREES: (Level.DOC, "the page names a result field the way the SDKs (and servers) read it"),
    Rule.DOC_EXAMPLE_NUMBER_FORMAT: (Level.DOC, "the response example prints integer fields as integer literals"),
    Rule.DOC_PAGE_CORRECTED: (
        Level.DOC,
        "the page's facts (synchronous or not, auth required, the paths served) agree with the SDK and server; "
        "each overlay correction is one finding",
    ),
    Rule.DOC_PARAMETER_LOCATION: (
        Level.DOC,
        "the page lists each parameter where the server reads it (GET and DELETE read only the query string)",
    ),
}

# Documentation rules are reported, never gating; every rule has one entry.
RULES.update(DOC_RULES)
