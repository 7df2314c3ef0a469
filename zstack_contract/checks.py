"""The contract rules applied to one exchange: what was expected of the answer, and what broke.

Every rule has an id and a level. ``must`` rules come from the doc page, ZStack's envelope and the statuses and
error codes clients branch on (where the protocol notes mark them verified); ``should`` rules come from the
protocol notes' exact texts and from plain HTTP hygiene. What each kind of request is expected to get lives in
:mod:`zstack_contract.expectations`. :func:`check_exchange` never raises on a bad answer; it returns findings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zstack_contract.client import Auth, Exchange
from zstack_contract.contract import ApiContract
from zstack_contract.doccheck import DOC_RULES
from zstack_contract.expectations import API_FAILURE, Expectation, Outcome
from zstack_contract.findings import Finding, Level, excerpt
from zstack_contract.validation import dedupe, schema_findings

__all__ = ["RULES", "Expectation", "Outcome", "body_findings", "check_exchange", "error_code", "finding"]

SYNC_SUCCESS = 200
NOT_FOUND = 404
NOT_SERVED_PREFIX = "no api mapping"

RULES: dict[str, tuple[Level, str]] = {
    "response.shape": (Level.MUST, "a 200 body passes the derived must schema (result fields, documented types)"),
    "response.required-fields": (Level.SHOULD, "a 200 body has every field the page marks Required, non-null"),
    "response.json": (Level.MUST, "200 and 503 bodies are JSON objects"),
    "response.content-type": (Level.SHOULD, "a Content-Type header, when sent, names JSON for a JSON body"),
    "response.sync-status": (Level.MUST, "a synchronous API answers 200 or an error, never another 2xx"),
    "error.envelope": (Level.MUST, "a 503 body is ZStack's envelope {error: {code, description, details, ...}}"),
    "request.accepted": (Level.MUST, "a valid request is answered 200 (or 503 with an envelope where allowed)"),
    "request.no-server-error": (Level.MUST, "a valid request never gets a 5xx other than ZStack's 503 envelope"),
    "request.refused": (Level.MUST, "an invalid or unauthenticated request gets no 2xx and no result data"),
    "request.refusal-class": (
        Level.MUST,
        "a refusal carries the HTTP status and error code clients branch on, where the protocol notes mark them "
        "[V]: 503 ID.1001 bad session, 503 ID.1000 wrong credentials, 503 SYS.1007 invalid argument, 400 for a "
        "missing or non-OAuth Authorization header or a scalar given twice",
    ),
    "request.zstack-error": (
        Level.SHOULD,
        "a refusal carries the exact status, code and text ZStack answers (protocol notes)",
    ),
    "request.authenticated": (
        Level.MUST,
        "a request sent with the run's valid session that should succeed is not refused as unauthenticated "
        "(503 with an ID.* code)",
    ),
    "api.not-served": (Level.MUST, "the target serves the API (no 404 'no api mapping' for its path)"),
    "response.unjudgeable": (
        Level.MUST,
        "the answer can be judged: a body within the size cap, JSON nested within the depth limit",
    ),
    "request.no-plain-500": (Level.SHOULD, "bad input is answered with a ZStack error, not HTTP 500 plain text"),
    "request.should-accept": (Level.SHOULD, "an input ZStack accepts (protocol notes) is answered 200"),
    "query.limit": (Level.MUST, "a Query API given limit=N answers at most N inventories (protocol notes section 6)"),
    "query.paging": (
        Level.MUST,
        "start/limit pages of a sorted listing are disjoint, in order, and together equal the whole listing",
    ),
    "query.count": (
        Level.MUST,
        "count=true answers a total equal to the listing's length; replyWithCount=true answers the same "
        "inventories plus that total",
    ),
    "query.filter": (
        Level.MUST,
        "a q= condition selects exactly the items its operator means (f=v only items with f=v, f!=v the "
        "complement, and so on for every operator)",
    ),
    "query.uuid": (Level.MUST, "q=uuid=X and the short form GET /<resources>/X both answer exactly the item X"),
    "query.fields": (Level.MUST, "fields=a,b answers items carrying no keys other than a and b"),
    "query.sort": (Level.MUST, "sort=+f answers items in ascending order of f, sort=-f in descending order"),
    "session.validate": (
        Level.MUST,
        "ValidateSession answers {valid: true} for a live session and {valid: false} after its logout",
    ),
    "session.no-auth": (
        Level.MUST,
        "an API ZStack marks @SuppressCredentialCheck (login, logout, ValidateSession, GetVersion) works with no "
        "Authorization header",
    ),
    "request.list-encodings-agree": (
        Level.SHOULD,
        "a list sent as repeated keys (k=a&k=b) and as indexed keys (k.0=a&k.1=b) gets the same answer",
    ),
}

# Documentation rules are reported, never gating; they are listed here so that every rule has one entry.
RULES.update(DOC_RULES)


def finding(api: str, case: str, rule: str, path: str, expected: str, actual: str, note: str = "") -> Finding:
    level = RULES[rule][0]
    return Finding(api=api, rule=rule, level=level, path=path, expected=expected, actual=actual, note=note, case=case)


def _alias_note(api: ApiContract, body: Any, f: Finding) -> Finding:
    """A missing documented field that the server sends under the name the SDK uses is a known disagreement."""
    if not isinstance(body, dict):
        return f
    for documented, alias in api.overlay.aliases.items():
        if f.path == f"$.{documented}" and alias.get("wireName") in body:
            return replace(f, note=f"the server sends '{alias['wireName']}' instead: {alias.get('source', '')}")
    return f


def body_findings(api: ApiContract, case: str, ex: Exchange) -> list[Finding]:
    """Shape rules for whatever came back, whatever was expected."""
    name = api.name
    out: list[Finding] = []
    is_json, body = ex.parsed
    if ex.status in (SYNC_SUCCESS, API_FAILURE):
        if not is_json or not isinstance(body, dict):
            out.append(
                finding(name, case, "response.json", "$", "a JSON object", excerpt(ex.text, 160) or "(empty body)")
            )
            return out
        content_type = ex.content_type
        if content_type is not None and "json" not in content_type.lower():
            out.append(
                finding(
                    name,
                    case,
                    "response.content-type",
                    "$",
                    "no Content-Type (as ZStack builds) or a JSON one",
                    f"Content-Type: {content_type}",
                )
            )
    if ex.status == SYNC_SUCCESS:
        must = schema_findings(
            body, api.response_validator, api=name, rule="response.shape", level=Level.MUST, case=case
        )
        out += [_alias_note(api, body, f) for f in dedupe(must)]
        if not must:
            out += dedupe(
                schema_findings(
                    body, api.should_validator, api=name, rule="response.required-fields", level=Level.SHOULD, case=case
                )
            )
    elif ex.status == API_FAILURE:
        out += dedupe(
            schema_findings(body, api.error_validator, api=name, rule="error.envelope", level=Level.MUST, case=case)
        )
    elif 200 <= ex.status < 300 and not api.is_async:
        out.append(
            finding(name, case, "response.sync-status", "$", "HTTP 200 for a synchronous API", f"HTTP {ex.status}")
        )
    return out


def _carries_result(api: ApiContract, ex: Exchange) -> bool:
    is_json, body = ex.parsed
    return is_json and isinstance(body, dict) and any(k in body for k in api.result_fields)


def error_code(ex: Exchange) -> str | None:
    """The ZStack error code of an answer (wrapped or bare envelope), if it carries one."""
    is_json, body = ex.parsed
    if is_json and isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return None


def exchange_problem(ex: Exchange) -> str | None:
    """Why the answer's body cannot be judged (over the size cap, nested too deep), or None."""
    return ex.problem or None


def sent_with_session(ex: Exchange) -> bool:
    """Whether the request carried the run's own session."""
    return ex.auth == Auth.SESSION.value


def is_not_served(ex: Exchange) -> bool:
    """ZStack's answer for a path no API is mapped to (protocol notes §1 status table)."""
    return ex.status == NOT_FOUND and ex.text.lstrip().lower().startswith(NOT_SERVED_PREFIX)


def check_exchange(api: ApiContract, case: str, ex: Exchange, expectation: Expectation) -> list[Finding]:
    """Every finding for one exchange against what was expected of it."""
    name = api.name
    basis = expectation.basis
    got = f"HTTP {ex.status}: {excerpt(ex.text, 200)}"
    if is_not_served(ex):
        # Nothing about the API can be judged, and no refusal test may count this 404 as a refusal.
        return [
            finding(
                name,
                case,
                "api.not-served",
                "$",
                f"the target serves {api.spec.method} {api.spec.path}",
                got,
                "the target has no such API: a wrong --zstack-url, another ZStack edition, or an API removed",
            )
        ]
    problem = exchange_problem(ex)
    if problem is not None:
        return [
            finding(
                name,
                case,
                "response.unjudgeable",
                "$",
                "a body the suite can judge",
                f"HTTP {ex.status}: {problem}",
                "the body was not judged; nothing about it is known to be right",
            )
        ]
    out: list[Finding] = []
    if expectation.must in (Outcome.SUCCESS, Outcome.SUCCESS_OR_API_ERROR):
        out += _success_findings(name, case, ex, expectation, got)
    elif expectation.must is Outcome.REFUSED:
        out += _refusal_findings(api, case, ex, expectation, got)
    if expectation.should_succeed and ex.status != SYNC_SUCCESS:
        out.append(finding(name, case, "request.should-accept", "$", "HTTP 200 with a valid body", got, basis))
    if expectation.must is Outcome.ANY and not expectation.should_succeed and expectation.should_status is not None:
        out += _zstack_error_findings(name, case, ex, expectation, got)
    out += body_findings(api, case, ex)
    return out


def _success_findings(name: str, case: str, ex: Exchange, expectation: Expectation, got: str) -> list[Finding]:
    basis = expectation.basis
    allowed = {SYNC_SUCCESS} | ({API_FAILURE} if expectation.must is Outcome.SUCCESS_OR_API_ERROR else set())
    code = error_code(ex)
    if ex.status == API_FAILURE and code is not None and code.startswith("ID.") and sent_with_session(ex):
        # Not an acceptable "API error": the run's session was refused, so nothing was served authenticated.
        return [
            finding(
                name,
                case,
                "request.authenticated",
                "$",
                "the request served under the run's session ({sessionUuid})",
                got,
                f"{basis}; {code} is an identity (ID.*) refusal: the run's session was not honoured (the server "
                "does not honour a valid session, the session died during the run, or the account lacks permission "
                "for this API); the suite re-checks the session",
            )
        ]
    if ex.status >= 500 and ex.status != API_FAILURE:
        return [finding(name, case, "request.no-server-error", "$", "no 5xx other than 503", got, basis)]
    if ex.status not in allowed:
        wanted = " or ".join(f"HTTP {s}" for s in sorted(allowed))
        return [finding(name, case, "request.accepted", "$", wanted, got, basis)]
    return []


def _refusal_findings(api: ApiContract, case: str, ex: Exchange, expectation: Expectation, got: str) -> list[Finding]:
    name = api.name
    basis = expectation.basis
    if 200 <= ex.status < 300 or _carries_result(api, ex):
        return [finding(name, case, "request.refused", "$", "a refusal (no 2xx, no result data)", got, basis)]
    wrong_status = expectation.must_status is not None and ex.status != expectation.must_status
    wrong_code = expectation.must_code is not None and error_code(ex) != expectation.must_code
    if wrong_status or wrong_code:
        # The class of the refusal is what a client branches on (re-login, give up, fix the request).
        return [finding(name, case, "request.refusal-class", "$", expectation.describe_must(), got, basis)]
    if ex.status >= 500 and ex.status != API_FAILURE:
        return [
            finding(
                name, case, "request.no-plain-500", "$", f"a ZStack error ({expectation.describe_should()})", got, basis
            )
        ]
    return _zstack_error_findings(name, case, ex, expectation, got)


def _zstack_error_findings(name: str, case: str, ex: Exchange, expectation: Expectation, got: str) -> list[Finding]:
    wanted = expectation.describe_should()
    mismatch = (
        (expectation.should_status is not None and ex.status != expectation.should_status)
        or (expectation.should_code is not None and error_code(ex) != expectation.should_code)
        or (expectation.should_text is not None and ex.text.strip() != expectation.should_text)
    )
    if mismatch:
        return [finding(name, case, "request.zstack-error", "$", wanted, got, expectation.basis)]
    return []
