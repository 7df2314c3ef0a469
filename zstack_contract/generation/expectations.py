"""The one table of what the contract expects of each kind of request, citing the protocol notes.

The example cases (:mod:`zstack_contract.generation.cases`), the wire oracle for generated queries
(:mod:`zstack_contract.engine.oracle`) and the list-encodings property all take their expectations from here, so
the same request cannot be judged two ways. This module imports nothing of the suite's own, which is what
keeps checks, cases and oracle free of import cycles.

Levels follow what clients branch on. Where the notes mark a status or an error code **[V]** (verified in
ZStack's source), the status and the code are ``must``: SDKs re-login on ``ID.1001``, report bad credentials
on ``ID.1000``, give up on ``SYS.1007``, and treat a bare 400 as a malformed request. The exact wording
(plain texts, descriptions) is ``should``. Where real ZStack itself answers otherwise (HTTP 500 on a
non-numeric integer), only the refusal is ``must``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    SUCCESS = "success"  # 200 and a body that passes the must schema
    SUCCESS_OR_API_ERROR = "success-or-api-error"  # that, or 503 with a valid ZStack envelope
    REFUSED = "refused"  # no 2xx, no result data
    ANY = "any"  # the contract does not say; whatever comes must still be well-formed


@dataclass(frozen=True)
class Expectation:
    """What an answer must be (gating) and should be (reported; gates with --zstack-strict)."""

    must: Outcome
    must_status: int | None = None  # the HTTP status clients branch on (only with must=REFUSED)
    must_code: str | None = None  # the ZStack error code clients branch on (only with must=REFUSED)
    should_status: int | None = None
    should_code: str | None = None
    should_text: str | None = None
    should_succeed: bool = False
    basis: str = ""  # where the expectation comes from, shown with every finding
    # For an async API: the answer judged may be the job's final answer (202, then the poll's 200 or 503)
    # rather than the first one; a refusal answered at once (4xx/503) is judged as it is.
    by_job: bool = False

    def describe_must(self) -> str:
        parts = []
        if self.must_status is not None:
            parts.append(f"HTTP {self.must_status}")
        if self.must_code:
            parts.append(f"error code {self.must_code}")
        return ", ".join(parts) or "a refusal"

    def describe_should(self) -> str:
        if self.should_succeed:
            return "HTTP 200 with a valid body"
        parts = []
        status = self.should_status if self.should_status is not None else self.must_status
        if status is not None:
            parts.append(f"HTTP {status}")
        code = self.should_code or self.must_code
        if code:
            parts.append(f"error code {code}")
        if self.should_text:
            parts.append(f"plain text {self.should_text!r}")
        return ", ".join(parts) or "a ZStack error"


API_FAILURE = 503
BAD_REQUEST = 400
INVALID_ARGUMENT = "SYS.1007"
INVALID_SESSION = "ID.1001"
AUTHENTICATION_ERROR = "ID.1000"
MISSING_AUTH_TEXT = "missing header 'Authorization'"
WRONG_SCHEME_TEXT = "Authorization type must be 'OAuth'"

NOTES_QUERY = "protocol notes §1 'GET / DELETE query string → message fields'"
VALIDATION_BASIS = "protocol notes §1 'Parameter validation' [V]: argerr → HTTP 503 SYS.1007"
_SESSION_BASIS = "protocol notes §2 'Invalid or expired session' [V]: sync API → HTTP 503 ID.1001"
_NON_NUMERIC_BASIS = (
    "protocol notes §1 'Number parsing': real ZStack answers HTTP 500 plain text 'For input string' here "
    "(NumberFormatException escapes), so only the refusal is must; 503 SYS.1007 is should"
)


# Requests that should succeed.


def positive_call(basis: str = "a valid request with the configured positive values") -> Expectation:
    """A valid request with real values: 200 and a valid body."""
    return Expectation(Outcome.SUCCESS, basis=basis)


def valid_request(
    basis: str = "a valid request (per the derived request schema): 200 with a valid body, or a 503 ZStack "
    "envelope (e.g. the store cannot be reached)",
) -> Expectation:
    """A valid request whose values may not exist on the node: 200, or a 503 envelope (not an ID.* one)."""
    return Expectation(Outcome.SUCCESS_OR_API_ERROR, basis=basis)


def repeated_list_keys() -> Expectation:
    """Lists as repeated keys, what the SDKs send: a valid request."""
    return valid_request(f"{NOTES_QUERY} [V]: lists as repeated keys k=a&k=b (what the SDKs send)")


def indexed_list_keys() -> Expectation:
    """Lists as indexed keys: ZStack accepts them, but no SDK sends them, so a refusal breaks no client."""
    return Expectation(
        Outcome.ANY, should_succeed=True, basis=f"{NOTES_QUERY}: lists as indexed keys k.0=a&k.1=b (no SDK sends them)"
    )


def unknown_parameter() -> Expectation:
    return Expectation(Outcome.ANY, should_succeed=True, basis=f"{NOTES_QUERY}: unknown query keys are ignored")


def loosely_numeric() -> Expectation:
    """8000.9, 8e3, ' 8000 ': ZStack truncates through Double.valueOf; a stricter server may refuse."""
    return Expectation(
        Outcome.ANY, basis=f"{NOTES_QUERY}: 'Number parsing' accepts and truncates non-integer forms"
    )


def blank_string() -> Expectation:
    # Whether a blank string is "empty" depends on the server's trim; the contract does not say.
    return Expectation(Outcome.ANY, basis=f"{NOTES_QUERY}: a blank (not empty) string is not specified")


# Requests that must be refused.


def invalid_argument(basis: str = VALIDATION_BASIS) -> Expectation:
    """Missing, empty or out-of-range input: refused with 503 SYS.1007 (must: clients do not retry it)."""
    return Expectation(
        Outcome.REFUSED,
        must_status=API_FAILURE,
        must_code=INVALID_ARGUMENT,
        basis=basis,
    )


def out_of_range(source: str) -> Expectation:
    return invalid_argument(f"{VALIDATION_BASIS}; range from {source}")


def non_numeric() -> Expectation:
    """A non-numeric value for an integer: refused (must); 503 SYS.1007 only should (real ZStack: HTTP 500)."""
    return Expectation(
        Outcome.REFUSED, should_status=API_FAILURE, should_code=INVALID_ARGUMENT, basis=_NON_NUMERIC_BASIS
    )


def loosely_numeric_out_of_range() -> Expectation:
    """NaN, 1e400: Double.valueOf accepts them and the range check refuses the int; a stricter parser may refuse
    them earlier and differently, so only the refusal is must."""
    return Expectation(
        Outcome.REFUSED,
        should_status=API_FAILURE,
        should_code=INVALID_ARGUMENT,
        basis=f"{NOTES_QUERY}: 'Number parsing' then {VALIDATION_BASIS}",
    )


def duplicate_scalar(name: str) -> Expectation:
    """A scalar given twice: ZStack's REST layer answers 400 (must), with its plain text (should)."""
    return Expectation(
        Outcome.REFUSED,
        must_status=BAD_REQUEST,
        should_text=f"Invalid query parameter[{name}], only one value is allowed for the parameter but multiple "
        "values found",
        basis=f"{NOTES_QUERY} [V]: a scalar given twice → HTTP 400 plain text",
    )


def missing_authorization() -> Expectation:
    return Expectation(
        Outcome.REFUSED,
        must_status=BAD_REQUEST,
        should_text=MISSING_AUTH_TEXT,
        basis="protocol notes §1 status table [V]: missing Authorization → HTTP 400 plain text",
    )


def wrong_scheme() -> Expectation:
    return Expectation(
        Outcome.REFUSED,
        must_status=BAD_REQUEST,
        should_text=WRONG_SCHEME_TEXT,
        basis="protocol notes §1 status table [V]: scheme neither OAuth nor ZStack → HTTP 400 plain text",
    )


def invalid_session(*, arguments_complete: bool = True) -> Expectation:
    """An unknown or logged-out session: 503 ID.1001, on which clients log in again.

    ZStack validates arguments before it checks the session, so a request that lacks required values (no
    positive values configured) may get 503 SYS.1007 instead: then only the status is the contract's.
    """
    if arguments_complete:
        return Expectation(Outcome.REFUSED, must_status=API_FAILURE, must_code=INVALID_SESSION, basis=_SESSION_BASIS)
    return Expectation(
        Outcome.REFUSED,
        must_status=API_FAILURE,
        basis=f"{_SESSION_BASIS}; this request lacks required values, and parameter validation (503 SYS.1007) runs "
        "before the session check, so the code is not judged (pass the missing values to judge it)",
    )


def wrong_credentials() -> Expectation:
    return Expectation(
        Outcome.REFUSED,
        must_status=API_FAILURE,
        must_code=AUTHENTICATION_ERROR,
        basis="protocol notes §2 'Login' [V]: wrong credentials → HTTP 503 ID.1000",
    )


# Async APIs (protocol notes §1 status table, §3): 202 {location, apiTimeout}, then the job's 200 or 503.

NOT_FOUND = 404
ASYNC_BASIS = "protocol notes §1, §3 [V]: an async API answers 202 {location, apiTimeout}; its job ends 200 or 503"
JOB_EXPIRED_TEXT = "the job has been expired"
MALFORMED_JOB_UUID_TEXT = "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped"


def duplicate_job_uuid_text(job_uuid: str) -> str:
    return f"Duplicate job uuid[{job_uuid}]"


def async_success(basis: str = "a valid request with the configured values") -> Expectation:
    """A valid request to an async API: 202, then the job's 200 whose body passes the API's must schema."""
    return Expectation(Outcome.SUCCESS, basis=f"{basis}; {ASYNC_BASIS}", by_job=True)


def async_success_if_storable(basis: str) -> Expectation:
    """A valid request whose value the node may be unable to store: its job's 200 is should, a 503 envelope is
    allowed at must (a refusal with ZStack's envelope, never a 5xx other than 503 or a malformed answer)."""
    return Expectation(Outcome.SUCCESS_OR_API_ERROR, should_succeed=True, basis=f"{basis}; {ASYNC_BASIS}", by_job=True)


def async_invalid_argument(*, code_is_must: bool) -> Expectation:
    """An invalid body for an async API: validated after the 202, so the job ends 503 SYS.1007.

    ``code_is_must`` False where only the refusal is the contract's (a case ZStack may refuse with another code).
    """
    basis = f"{VALIDATION_BASIS}; an async API validates after the 202, so its job ends 503 SYS.1007"
    if code_is_must:
        return Expectation(
            Outcome.REFUSED, must_status=API_FAILURE, must_code=INVALID_ARGUMENT, basis=basis, by_job=True
        )
    return Expectation(
        Outcome.REFUSED, should_status=API_FAILURE, should_code=INVALID_ARGUMENT, basis=basis, by_job=True
    )


def duplicate_job_uuid(job_uuid: str) -> Expectation:
    """An X-Job-UUID already used: refused at once with 400 (no job), ZStack's plain text should."""
    return Expectation(
        Outcome.REFUSED,
        must_status=BAD_REQUEST,
        should_text=duplicate_job_uuid_text(job_uuid),
        basis="protocol notes §1 status table [V]: a duplicate X-Job-UUID on POST/PUT/DELETE → HTTP 400 plain text, "
        "synchronous (no job)",
    )


def malformed_job_uuid() -> Expectation:
    """An X-Job-UUID that is not 32 characters: refused at once with 400 (no job)."""
    return Expectation(
        Outcome.REFUSED,
        must_status=BAD_REQUEST,
        should_text=MALFORMED_JOB_UUID_TEXT,
        basis="protocol notes §1 status table [V]: an X-Job-UUID whose length is not 32 → HTTP 400 plain text, "
        "synchronous (no job)",
    )


def async_invalid_session() -> Expectation:
    """An unknown session on an async API: 202, then the poll gives 503 ID.1001 (or 503 ID.1001 at once)."""
    return Expectation(
        Outcome.REFUSED,
        must_status=API_FAILURE,
        must_code=INVALID_SESSION,
        basis=f"{_SESSION_BASIS}; an async API answers 202 and its job ends 503 ID.1001 (protocol notes §1 [I] for "
        "the timing)",
        by_job=True,
    )


def unknown_job() -> Expectation:
    """A poll of a job no one submitted: 404, with ZStack's plain text (should)."""
    return Expectation(
        Outcome.REFUSED,
        must_status=NOT_FOUND,
        should_text=JOB_EXPIRED_TEXT,
        basis="protocol notes §3 [V]: GET /zstack/v1/api-jobs/<unknown or expired uuid> → HTTP 404 plain text",
    )
