"""The catalogue of ways a ZStack-compatible server can break the contract.

Each deviation is one realistic defect. The mock turns them on by name, so the contract suite can show
it notices each one on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


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
        "auth-ignored",
        "the API serves data with no Authorization header, a non-OAuth scheme, or an unknown or logged-out session",
        "must",
        "example",
    ),
    Deviation(
        "auth-401",
        "a missing or non-OAuth Authorization header is answered 401 with a JSON error body instead of 400 plain "
        "text, and an unknown session is answered 401 instead of 503 (clients branch on the status)",
        "must",
        "example",
    ),
    Deviation(
        "session-not-invalidated",
        "logout answers 200 {} but the session stays valid and keeps working",
        "must",
        "example",
    ),
    Deviation(
        "login-any-password",
        "login with a wrong password succeeds for a known account",
        "must",
        "example",
    ),
    Deviation(
        "backups-key",
        "the success body lists the images under 'backups' (what the SDKs use) instead of the documented 'infos'",
        "must",
        "example",
    ),
    Deviation(
        "size-as-string",
        'every item\'s size is a JSON string ("7995392") instead of an integer',
        "must",
        "example",
    ),
    Deviation(
        "iso-dates",
        "created is ISO-8601 (2017-11-14T22:20:57Z) instead of Gson's 'MMM d, yyyy h:mm:ss a'",
        "must",
        "example",
    ),
    Deviation(
        "created-epoch-millis",
        "created is an integer of epoch milliseconds instead of a Gson date string",
        "must",
        "example",
    ),
    Deviation(
        "missing-author",
        "items omit the author field",
        "must",
        "example",
    ),
    Deviation(
        "infos-omitted-when-empty",
        'an empty repository answers {} (Gson dropping a null list) instead of {"infos": []}',
        "must",
        "generated",
    ),
    Deviation(
        "validation-skipped",
        "a missing or empty url is not rejected: 200 with the seeded items instead of 503 SYS.1007",
        "must",
        "example",
    ),
    Deviation(
        "port-range-unchecked",
        "a registryPort outside 1..65535 is not refused: the server falls back to port 8000 and answers 200 with "
        "data instead of 503 SYS.1007",
        "must",
        "example",
    ),
    Deviation(
        "error-unwrapped",
        'failure bodies are the bare ErrorCode {"code", "description", "details"} with no "error" wrapper '
        "(status unchanged)",
        "must",
        "example",
    ),
    Deviation(
        "error-as-200",
        'sync API failures (validation, session, login, operation) are answered HTTP 200 with {"error": {...}} '
        "instead of 503",
        "must",
        "example",
    ),
    Deviation(
        "error-missing-code",
        "the error envelope has no code",
        "must",
        "example",
    ),
    Deviation(
        "cause-as-string",
        "an error's nested cause is a plain string instead of an ErrorCode object (seen on the unreachable-store 503)",
        "must",
        "example",
    ),
    Deviation(
        "plain-500-on-missing-url",
        "a missing url is answered 500 plain text java.lang.NullPointerException instead of 503 SYS.1007",
        "must",
        "example",
    ),
    Deviation(
        "missing-arg-as-session-error",
        "a missing url is answered 503 ID.1001 (invalid session) instead of SYS.1007: the client logs in again and "
        "retries a request that can never succeed",
        "must",
        "example",
    ),
    Deviation(
        "server-error-on-tag-chars",
        "500 plain text when any systemTags/userTags value contains '%', a single quote or a non-ASCII character "
        "(a broken tag parser)",
        "must",
        "generated",
    ),
    Deviation(
        "server-error-non-ascii-url",
        "500 plain text when url contains a non-ASCII character",
        "must",
        "generated",
    ),
    Deviation(
        "size-string-when-large",
        "items whose size is >= 2**31 carry size as a string (an int32 overflow workaround); smaller sizes stay "
        "integers, so the curated seed looks conforming",
        "must",
        "generated",
    ),
    Deviation(
        "duplicate-scalar-accepted",
        "a scalar query parameter given twice (registryPort=1&registryPort=2) is accepted, first value wins, "
        "instead of a 400 refusal",
        "must",
        "example",
    ),
    Deviation(
        "unknown-param-rejected",
        "an unknown query key is refused with 503 SYS.1007 instead of being ignored",
        "should",
        "example",
    ),
    Deviation(
        "indexed-lists-rejected",
        "indexed list keys (systemTags.0=a) are refused with 503 SYS.1007; only repeated keys are understood",
        "should",
        "example",
    ),
    Deviation(
        "wrong-session-code",
        "an unknown session is answered 503 with code SYS.1000 instead of ID.1001 (clients never log in again)",
        "must",
        "example",
    ),
    Deviation(
        "unknown-session-400",
        "an unknown or logged-out session is answered 400 plain text instead of 503 ID.1001: SDKs see a bare HTTP "
        "error and never log in again",
        "must",
        "example",
    ),
    Deviation(
        "content-type-html",
        "JSON responses carry Content-Type: text/html",
        "should",
        "example",
    ),
    Deviation(
        "size-as-float",
        "size and virtualsize are JSON floats (7995392.0), the documentation-generator artifact, instead of integers",
        "tolerated",
        "example",
    ),
    Deviation(
        "method-not-allowed",
        "POST/PUT to the image-store path are answered 405 plain text (a generic web framework) instead of "
        "running the API and failing validation with 503 SYS.1007 (the read-only suite never sends them)",
        "tolerated",
        "example",
    ),
    # The Query APIs (QueryZone, QueryBackupStorage, QueryDatabaseBackup) and their shared engine.
    Deviation(
        "query-limit-ignored",
        "the Query APIs ignore limit and return every match: a client paging with limit=N gets the whole table",
        "must",
        "example",
    ),
    Deviation(
        "query-start-off-by-one",
        "the Query APIs read start as a 1-based position (start=N skips N-1 records), so consecutive pages overlap",
        "must",
        "example",
    ),
    Deviation(
        "query-count-wrong",
        "total (count=true and replyWithCount=true) is one more than the number of matches: deleted rows are counted",
        "must",
        "example",
    ),
    Deviation(
        "query-total-missing",
        "replyWithCount=true answers the inventories without total (count=true still works)",
        "must",
        "example",
    ),
    Deviation(
        "query-q-ignored",
        "the Query APIs ignore every q condition and list all records",
        "must",
        "example",
    ),
    Deviation(
        "query-ne-as-eq",
        "the q operator != behaves like =, so f!=v returns the records with f=v instead of the complement",
        "must",
        "example",
    ),
    Deviation(
        "query-fields-ignored",
        "fields=a,b is ignored: items carry every field instead of only the named ones",
        "must",
        "example",
    ),
    Deviation(
        "query-sort-reversed",
        "sort runs the wrong way: sort=+f is descending and sort=-f ascending",
        "must",
        "example",
    ),
    Deviation(
        "query-short-form-404",
        "the short form GET /<resources>/{uuid} is not mapped: 404 plain text instead of the one-item listing",
        "must",
        "example",
    ),
    Deviation(
        "query-limit-non-integer-accepted",
        "a non-integer limit (limit=abc) is ignored and answered 200 with the default page instead of 400 plain text",
        "must",
        "example",
    ),
    Deviation(
        "query-condition-without-operator-accepted",
        "a q condition without an operator (q=name) is silently dropped and answered 200 instead of 400 plain text",
        "must",
        "example",
    ),
    Deviation(
        "query-inventory-wrong-type",
        "QueryZone's createDate is an integer of epoch milliseconds instead of a Gson date string",
        "must",
        "example",
    ),
    Deviation(
        "capacity-as-string",
        'GetBackupStorageCapacity\'s totalCapacity is a JSON string ("4398046511104") instead of an integer',
        "must",
        "example",
    ),
    # The session and version APIs.
    Deviation(
        "validate-session-true-after-logout",
        "ValidateSession answers true for a logged-out session (which no API accepts any more)",
        "must",
        "example",
    ),
    Deviation(
        "version-requires-auth",
        "GetVersion needs an Authorization header: 400 plain text without one, so a client cannot read the version "
        "before it logs in",
        "must",
        "example",
    ),
    Deviation(
        "validate-requires-auth",
        "ValidateSession needs an Authorization header: 400 plain text without one",
        "must",
        "example",
    ),
    Deviation(
        "login-inventory-without-uuid",
        "the login inventory leaves out uuid when the account already has a live session (the first login is "
        "conforming, so a client can still sign in once)",
        "must",
        "example",
    ),
    Deviation(
        "login-missing-account-accepted",
        "a login without accountName is answered 503 ID.1000 (wrong credentials) instead of SYS.1007 (invalid "
        "argument)",
        "must",
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
