"""The async protocol (protocol notes §1, §3) judged on one :class:`JobRun`, plus the final answer's own rules.

The call is answered 202 ``{location, apiTimeout}``; polling the location answers 202 ``{}`` while the job runs,
then 200 (the API's result: its must schema applies) or 503 (ZStack's envelope). Which answer the ordinary rules
of :func:`check_exchange` judge: the job's final one when the call was accepted as a job, the call's own answer
when it was not (a refusal answered at once, or an async API answering 200 directly).
"""

from __future__ import annotations

from typing import Any

from zstack_contract.engine.checks import check_exchange, finding
from zstack_contract.engine.findings import Finding
from zstack_contract.generation.expectations import Expectation, Outcome
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.client import Exchange
from zstack_contract.transport.jobs import JOBS_PREFIX, RUNNING, JobRun, job_path
from zstack_contract.transport.safejson import excerpt

_SUCCESS = (Outcome.SUCCESS, Outcome.SUCCESS_OR_API_ERROR)
_NO_END_RULES = frozenset({"async.location", "async.poll", "async.completes"})  # each explains a job with no end


def job_findings(api: ApiContract, case: str, run: JobRun, expectation: Expectation) -> list[Finding]:
    """Every finding for one async call and its job against what was expected of it."""
    first = run.first
    if first.status != RUNNING:
        out = []
        if expectation.must in _SUCCESS and 200 <= first.status < 300:
            out.append(_accepted(api, case, first, expectation))
        return out + check_exchange(api, case, first, expectation)
    if expectation.must is Outcome.REFUSED and not expectation.by_job:
        # A refusal ZStack answers at once (a bad X-Job-UUID): a 202 is the request accepted, which it must not be.
        return check_exchange(api, case, first, expectation)
    out = _protocol_findings(api, case, run, expectation)
    if run.final is not None:
        out += check_exchange(api, case, run.final, expectation)
    return out


def _accepted(api: ApiContract, case: str, first: Exchange, expectation: Expectation) -> Finding:
    return finding(
        api.name,
        case,
        "async.accepted",
        "$",
        "HTTP 202 {location, apiTimeout}: the request accepted as a job",
        _got(first),
        f"{expectation.basis}; {api.name} is asynchronous (the SDK polls it): clients wait for a 202 and poll. "
        f"request: {first.as_curl()}",
    )


def _protocol_findings(api: ApiContract, case: str, run: JobRun, expectation: Expectation) -> list[Finding]:
    name = api.name
    basis = expectation.basis
    request = f"request: {run.first.as_curl()}"
    body = _object(run.first)
    out: list[Finding] = []
    location_problem = _location_problem(run, body)
    if location_problem is not None:
        path, actual = location_problem
        wanted = f"a string URL whose path is {JOBS_PREFIX}<id>"
        if run.job_uuid is not None:
            wanted += f", <id> being the X-Job-UUID sent ({run.job_uuid})"
        out.append(finding(name, case, "async.location", path, wanted, actual, f"{basis}; {request}"))
    api_timeout = body.get("apiTimeout") if body is not None else None
    if body is not None and not _positive_integer(api_timeout):
        actual = "absent" if "apiTimeout" not in body else f"{excerpt(api_timeout, 80)}"
        out.append(
            finding(
                name,
                case,
                "async.api-timeout",
                "$.apiTimeout",
                "a positive integer (milliseconds)",
                f"{actual} (202 body: {excerpt(run.first.text, 200)})",
                f"{basis}; the suite polled for {run.bound:g} s at most (--zstack-job-timeout); {request}",
            )
        )
    out += _poll_findings(api, case, run, basis)
    if run.final is None and not {f.rule for f in out} & _NO_END_RULES:
        # Every way polling stops without an answer is named above; this keeps an unexplained stop from passing.
        out.append(
            finding(name, case, "async.poll", "$", "a final answer (200 or 503)", run.gave_up or "no answer", basis)
        )
    return out


def _poll_findings(api: ApiContract, case: str, run: JobRun, basis: str) -> list[Finding]:
    name = api.name
    out: list[Finding] = []
    where = f"polled GET {run.poll_path} on the configured base URL"
    if run.host_note:
        where += f" ({run.host_note})"
    where += f"; request: {run.first.as_curl()}"
    running = [p for p in run.polls if p.status == RUNNING]
    if running:
        odd = [(i, p) for i, p in enumerate(run.polls, 1) if p.status == RUNNING and not _is_empty_object(p)]
        if odd:
            index, poll = odd[0]
            out.append(
                finding(
                    name,
                    case,
                    "async.running-body",
                    "$",
                    "an empty body or {} (a running job's poll answer)",
                    f"poll {index} of {len(run.polls)}: HTTP 202: {excerpt(poll.text, 200) or '(empty body)'}"
                    + (f" ({len(odd)} polls like it)" if len(odd) > 1 else ""),
                    f"{basis}; {where}",
                )
            )
    if run.final is None and run.polls:
        last = run.polls[-1]
        if last.status == RUNNING:
            out.append(
                finding(
                    name,
                    case,
                    "async.completes",
                    "$",
                    f"a final answer (200 or 503) within {run.bound:g} s (the smaller of --zstack-job-timeout and "
                    "the 202's apiTimeout plus --zstack-timeout)",
                    f"still HTTP 202 after {run.elapsed:.2f} s and {len(run.polls)} polls "
                    f"({run.polling_seconds:.2f} s polling): {excerpt(last.text, 120)}",
                    f"{basis}; raise --zstack-job-timeout if the node is just slow; {where}",
                )
            )
        else:
            out.append(
                finding(
                    name,
                    case,
                    "async.poll",
                    "$",
                    "HTTP 202 while the job runs, then 200 or 503",
                    f"poll {len(run.polls)} of {len(run.polls)} ({run.elapsed:.2f} s after the call): {_got(last)}",
                    f"{basis}; {len(running)} polls answered 202 before it; {where}",
                )
            )
    return out


def _location_problem(run: JobRun, body: dict[str, Any] | None) -> tuple[str, str] | None:
    """(JSON path, what was there) when the 202 body's location is not the job's, else None."""
    if body is None:
        return "$", f"a body that is not a JSON object: {excerpt(run.first.text, 200) or '(empty body)'}"
    location = body.get("location")
    if not isinstance(location, str):
        if "location" not in body:
            return "$.location", f"absent (keys present: {excerpt(sorted(body), 120)})"
        return "$.location", f"{excerpt(location, 120)} (not a string)"
    path, why = job_path(location)
    if path is None:
        return "$.location", f"{excerpt(location, 200)} ({why})"
    job_id = path[len(JOBS_PREFIX) :]
    if run.job_uuid is not None and job_id != run.job_uuid:
        return "$.location", f"{excerpt(location, 200)} (job id {job_id!r}, not the X-Job-UUID sent)"
    return None


def _object(ex: Exchange) -> dict[str, Any] | None:
    is_json, value = ex.parsed
    return value if is_json and isinstance(value, dict) else None


def _is_empty_object(ex: Exchange) -> bool:
    # RestServer writes an empty ApiResponse as "" (sendResponse: response.isEmpty() ? "" : toJson), so the real
    # server's running poll has no body at all where the protocol notes print {}: both are the empty answer.
    return not ex.text.strip() or _object(ex) == {}


def _positive_integer(value: Any) -> bool:
    """A positive whole number; 1800000.0 too (a Gson map may print a long as a float, protocol notes §4)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value > 0 and float(value).is_integer()


def _got(ex: Exchange) -> str:
    return f"HTTP {ex.status}: {excerpt(ex.text, 200) or '(empty body)'}"
