"""The contract rules applied to one exchange: what was expected of the answer, and what broke.

Every rule has an id and a level. ``must`` rules come from the doc page and ZStack's envelope; ``should``
rules come from the protocol notes (the exact status and code real ZStack answers) and from plain HTTP
hygiene. :func:`check_exchange` never raises on a bad answer; it returns findings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from zstack_contract.client import Exchange
from zstack_contract.contract import ApiContract
from zstack_contract.findings import Finding, Level, excerpt
from zstack_contract.validation import dedupe, schema_findings

SYNC_SUCCESS = 200
API_FAILURE = 503


class Outcome(StrEnum):
    SUCCESS = "success"  # 200 and a body that passes the must schema
    SUCCESS_OR_API_ERROR = "success-or-api-error"  # that, or 503 with a valid ZStack envelope
    REFUSED = "refused"  # no 2xx, no result data
    ANY = "any"  # the contract does not say; whatever comes must still be well-formed


@dataclass(frozen=True)
class Expectation:
    must: Outcome
    should_status: int | None = None
    should_code: str | None = None
    should_text: str | None = None
    should_succeed: bool = False
    basis: str = ""  # where the expectation comes from, shown with every finding

    def describe_should(self) -> str:
        if self.should_succeed:
            return "HTTP 200 with a valid body"
        parts = []
        if self.should_status is not None:
            parts.append(f"HTTP {self.should_status}")
        if self.should_code:
            parts.append(f"error code {self.should_code}")
        if self.should_text:
            parts.append(f"plain text {self.should_text!r}")
        return ", ".join(parts) or "a ZStack error"


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
    "request.zstack-error": (Level.SHOULD, "a refusal carries the status and code ZStack answers (protocol notes)"),
    "request.no-plain-500": (Level.SHOULD, "bad input is answered with a ZStack error, not HTTP 500 plain text"),
    "request.should-accept": (Level.SHOULD, "an input ZStack accepts (protocol notes) is answered 200"),
    "request.list-encodings-agree": (
        Level.SHOULD,
        "a list sent as repeated keys (k=a&k=b) and as indexed keys (k.0=a&k.1=b) gets the same answer",
    ),
}


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
    elif 200 <= ex.status < 300 and api.spec.sync:
        out.append(
            finding(name, case, "response.sync-status", "$", "HTTP 200 for a synchronous API", f"HTTP {ex.status}")
        )
    return out


def _carries_result(api: ApiContract, ex: Exchange) -> bool:
    is_json, body = ex.parsed
    return is_json and isinstance(body, dict) and any(k in body for k in api.result_fields)


def _error_code(ex: Exchange) -> str | None:
    is_json, body = ex.parsed
    if is_json and isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return None


def check_exchange(api: ApiContract, case: str, ex: Exchange, expectation: Expectation) -> list[Finding]:
    """Every finding for one exchange against what was expected of it."""
    name = api.name
    basis = expectation.basis
    out: list[Finding] = []
    got = f"HTTP {ex.status}: {excerpt(ex.text, 200)}"
    if expectation.must in (Outcome.SUCCESS, Outcome.SUCCESS_OR_API_ERROR):
        allowed = {SYNC_SUCCESS} | ({API_FAILURE} if expectation.must is Outcome.SUCCESS_OR_API_ERROR else set())
        if ex.status >= 500 and ex.status != API_FAILURE:
            out.append(finding(name, case, "request.no-server-error", "$", "no 5xx other than 503", got, basis))
        elif ex.status not in allowed:
            wanted = " or ".join(f"HTTP {s}" for s in sorted(allowed))
            out.append(finding(name, case, "request.accepted", "$", wanted, got, basis))
    elif expectation.must is Outcome.REFUSED:
        if 200 <= ex.status < 300 or _carries_result(api, ex):
            out.append(finding(name, case, "request.refused", "$", "a refusal (no 2xx, no result data)", got, basis))
        elif ex.status >= 500 and ex.status != API_FAILURE:
            out.append(
                finding(
                    name,
                    case,
                    "request.no-plain-500",
                    "$",
                    f"a ZStack error ({expectation.describe_should()})",
                    got,
                    basis,
                )
            )
        else:
            out += _zstack_error_findings(name, case, ex, expectation, got)
    if expectation.should_succeed and ex.status != SYNC_SUCCESS:
        out.append(finding(name, case, "request.should-accept", "$", "HTTP 200 with a valid body", got, basis))
    if expectation.must is Outcome.ANY and not expectation.should_succeed and expectation.should_status is not None:
        out += _zstack_error_findings(name, case, ex, expectation, got)
    out += body_findings(api, case, ex)
    return out


def _zstack_error_findings(name: str, case: str, ex: Exchange, expectation: Expectation, got: str) -> list[Finding]:
    wanted = expectation.describe_should()
    mismatch = (
        (expectation.should_status is not None and ex.status != expectation.should_status)
        or (expectation.should_code is not None and _error_code(ex) != expectation.should_code)
        or (expectation.should_text is not None and ex.text.strip() != expectation.should_text)
    )
    if mismatch:
        return [finding(name, case, "request.zstack-error", "$", wanted, got, expectation.basis)]
    return []
