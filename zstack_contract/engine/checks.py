"""The contract rules applied to one exchange: what was expected of the answer, and what broke.

Every rule has an id and a level. ``must`` rules come from the doc page, ZStack's envelope and the statuses and
error codes clients branch on (where the protocol notes mark them verified); ``should`` rules come from the
protocol notes' exact texts and from plain HTTP hygiene. What each kind of request is expected to get lives in
:mod:`zstack_contract.generation.expectations`. :func:`check_exchange` never raises on a bad answer; it
returns findings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zstack_contract.engine.findings import Finding, Level
from zstack_contract.engine.rules import RULES, Rule
from zstack_contract.engine.validation import dedupe, schema_findings
from zstack_contract.generation.expectations import API_FAILURE, Expectation, Outcome
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.answers import error_code
from zstack_contract.transport.client import Auth, Exchange
from zstack_contract.transport.safejson import excerpt

__all__ = [
    "RULES",
    "Expectation",
    "Outcome",
    "body_findings",
    "check_exchange",
    "empty_result",
    "error_code",
    "finding",
]

SYNC_SUCCESS = 200
NOT_FOUND = 404
NOT_SERVED_PREFIX = "no api mapping"




def finding(api: str, case: str, rule: str, path: str, expected: str, actual: str, note: str = "") -> Finding:
    named = Rule(rule)  # a misspelt rule name is a ValueError here, never a silently unlevelled finding
    level = RULES[named][0]
    return Finding(api=api, rule=named, level=level, path=path, expected=expected, actual=actual, note=note, case=case)


def _alias_note(api: ApiContract, body: Any, f: Finding) -> Finding:
    """A missing documented field that the server sends under the name the SDK uses is a known disagreement."""
    if not isinstance(body, dict):
        return f
    for documented, alias in api.overlay.aliases.items():
        if f.path == f"$.{documented}" and alias.get("wireName") in body:
            return replace(f, note=f"the server sends '{alias['wireName']}' instead: {alias.get('source', '')}")
    return f


def empty_result(api: ApiContract, ex: Exchange) -> bool:
    """A 200 with an empty body from an API whose result has no fields: ZStack's own way of writing ``{}``.

    RestServer writes an ApiResponse with ``response.isEmpty() ? "" : toJson(response)`` (``sendResponse``, read in
    zstackio/zstack ``rest/.../RestServer.java``), so LogOut, DeleteDatabaseBackup and every other API whose
    @RestResponse maps no field answer 200 with no body at all, where the pages and the protocol notes print ``{}``.
    """
    return ex.status == SYNC_SUCCESS and not api.result_fields and not ex.text.strip() and not ex.problem


def body_findings(api: ApiContract, case: str, ex: Exchange) -> list[Finding]:
    """Shape rules for whatever came back, whatever was expected."""
    name = api.name
    out: list[Finding] = []
    is_json, body = ex.parsed
    if empty_result(api, ex):
        return out
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
