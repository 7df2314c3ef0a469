"""Where the doc page disagrees with itself, with the SDK or with the wire: documentation findings.

These never blame the server under test. The suite shows them (as ``doc`` findings, in records of family
``docs`` built by :func:`doc_records`, outside pytest's test outcomes) instead of quietly loosening a schema to
make them go away. Only the documented example against the must schema is a test (it can fail).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from zstack_contract.engine.findings import CheckRecord, Family, Finding, Level
from zstack_contract.engine.validation import dedupe, schema_findings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.specs.derive import is_null_by_design, null_by_design, page_value
from zstack_contract.specs.spec import Field

EXAMPLE_CASE = "documented-example"


def example_must_findings(api: ApiContract) -> list[Finding]:
    """The documented response example against the must schema: a failure here is a real contract problem."""
    body = api.spec.response_example_body
    findings = schema_findings(body, api.response_validator, api=api.name, rule="response.shape", level=Level.MUST)
    return [_as(f, f.level, EXAMPLE_CASE) for f in dedupe(findings)]


def _as(f: Finding, level: Level, case: str, note: str | None = None) -> Finding:
    return replace(f, level=level, case=case, note=f.note if note is None else note)


def example_should(api: ApiContract) -> list[Finding]:
    """Fields the page marks Required that its own example leaves out."""
    body = api.spec.response_example_body
    findings = schema_findings(body, api.should_validator, api=api.name, rule="doc.example-required", level=Level.DOC)
    note = "the page marks this field Required, but its own response example omits it"
    return [_as(f, Level.DOC, EXAMPLE_CASE, note=note) for f in dedupe(findings)]


def _walk(
    fields: tuple[Field, ...], prefix: str = "$", in_error_code: bool = False
) -> Iterator[tuple[str, Field, bool]]:
    """Every documented field with its JSON path and whether it is a member of an ErrorCode."""
    for f in fields:
        path = f"{prefix}.{f.name}"
        yield path, f, in_error_code
        if f.type != "ErrorCode" or prefix == "$":
            children_path = path + ("[*]" if f.type in ("List", "Set") else "")
            yield from _walk(f.children, children_path, f.type == "ErrorCode")


def required_but_null(api: ApiContract) -> list[Finding]:
    """Fields marked Required that are null by design in ZStack (absent on the wire: Gson omits nulls).

    Decided by ZStack's semantics (ErrorCode-typed fields, ErrorCode members other than code, description and
    details), and for other fields by the page's own wording: pages word the same fact differently.
    """
    return [
        Finding(
            api=api.name,
            rule="doc.required-but-null",
            level=Level.DOC,
            path=path,
            expected="a Required field is always present",
            actual=f"described as {f.description!r}",
            note="Gson omits nulls, so the suite treats this field as optional at both levels"
            + ("" if is_null_by_design(f) else " (ZStack sets it only when something fills it)"),
            case="field-table",
        )
        for path, f, in_error_code in _walk(api.spec.response_fields)
        if f.required and null_by_design(f, in_error_code)
    ]


def result_key_aliases(api: ApiContract) -> list[Finding]:
    """Result fields that the SDKs (and real servers) name differently from the page."""
    return [
        Finding(
            api=api.name,
            rule="doc.sdk-disagrees",
            level=Level.DOC,
            path=f"$.{documented}",
            expected=f"the page's name {documented!r}",
            actual=f"the SDK reads {alias.get('wireName')!r}",
            note=f"{alias.get('source', '')}. The suite gates on the page ({documented!r}); a server answering "
            f"{alias.get('wireName')!r} fails rule response.shape with this note",
            case="sdk",
        )
        for documented, alias in sorted(api.overlay.aliases.items())
    ]


_FLOAT_LITERAL = re.compile(r'"(?P<key>\w+)"\s*:\s*(?P<value>-?\d+(?:\.\d+)?[eE][+-]?\d+|-?\d+\.0)\b')


def example_number_format(api: ApiContract) -> list[Finding]:
    """Integer fields the example prints as floats (7995392.0, 1.268224E7): the doc generator's Gson artifact."""
    integer_fields = {
        f.name for _, f, _ in _walk(api.spec.response_fields) if f.type in ("int", "Integer", "long", "Long")
    }
    return [
        Finding(
            api=api.name,
            rule="doc.example-number-format",
            level=Level.DOC,
            path=f"$..{m.group('key')}",
            expected="an integer literal for an integer field",
            actual=m.group("value"),
            note="the doc generator re-parsed the example through untyped Gson (protocol notes §4); typed fields "
            "are integers on the wire, and the schema accepts integral floats from older servers too",
            case=EXAMPLE_CASE,
        )
        for m in _FLOAT_LITERAL.finditer(api.spec.example.response_text)
        if m.group("key") in integer_fields
    ]


_PAGE_WORDING: dict[str, Callable[[Any], str]] = {
    "sync": lambda v: "Synchronous" if v else "Asynchronous (answers 202 and runs as a job)",
    "authRequired": lambda v: "Auth Required" if v else "No Auth Required",
    "alternatePaths": lambda v: "also " + ", ".join(v) if v else "no other path",
}


def page_corrections(api: ApiContract) -> list[Finding]:
    """Page facts the overlay corrects (the portal's "Synchronous" where the SDK polls, a missing short form).

    The suite follows the wire, so each correction is a documentation finding: the page, the fact, what the page
    says against what the wire does, and where the wire fact was read.
    """
    out = []
    for c in api.corrections:
        word = _PAGE_WORDING[c.fact]
        page, wire = page_value(api.spec, c.fact), c.value
        if c.fact == "alternatePaths":
            page_says = f"{api.spec.method} {api.spec.path}" + (f", {', '.join(page)}" if page else " only")
            wire_does = f"{api.spec.method} {', '.join(wire)} too"
        else:
            page_says, wire_does = word(page), word(wire)
        out.append(
            Finding(
                api=api.name,
                rule="doc.page-corrected",
                level=Level.DOC,
                path=c.fact,
                expected=f"the page says what the wire does: {wire_does}",
                actual=f"{api.spec.source_file} says {page_says}",
                note=f"{c.source}. The suite follows the wire (overlay.json corrections.{c.fact})",
                case="overlay",
            )
        )
    return out


_QUERY_STRING_METHODS = ("GET", "DELETE")


def parameter_locations(api: ApiContract) -> list[Finding]:
    """Parameters the page lists in another place than the server reads them.

    ZStack's REST server reads only the query string for GET and DELETE (protocol notes §1), so "Body Fields" on
    such a page are query parameters on the wire; and a ``?name={name}`` of the endpoint listed under "Path
    Parameters" is a query parameter too. The schemas put each where the server reads it.
    """
    out = []
    for p in api.spec.parameters:
        if p.location == "body" and api.spec.method.upper() in _QUERY_STRING_METHODS:
            documented, where = "Body Fields", f"the query string (ZStack reads no body on a {api.spec.method})"
        elif p.documented_in is not None and p.documented_in != p.location:
            documented = f"{p.documented_in.capitalize()} Parameters"
            where = f"the query string (the endpoint's ?{p.name}=)" if p.location == "query" else f"the {p.location}"
        else:
            continue
        out.append(
            Finding(
                api=api.name,
                rule="doc.parameter-location",
                level=Level.DOC,
                path=p.name,
                expected=f"{p.name!r} documented where the server reads it: {where}",
                actual=f"{api.spec.source_file} lists it under {documented!r} of {api.spec.method} {api.spec.path}",
                note="protocol notes section 1 ('GET / DELETE query string'); the suite sends it as a query "
                "parameter, where the server reads it",
                case="parameter-table",
            )
        )
    return out


# Every documentation rule, with what it checks: one name each, the same in the finding, the record and the
# report. checks.RULES holds the wire rules; doc rules are listed here, where they are made.

DOC_CHECKS: dict[str, Callable[[ApiContract], list[Finding]]] = {
    "doc.example-required": example_should,
    "doc.required-but-null": required_but_null,
    "doc.sdk-disagrees": result_key_aliases,
    "doc.example-number-format": example_number_format,
    "doc.page-corrected": page_corrections,
    "doc.parameter-location": parameter_locations,
}


DOC_FAMILY = Family.DOCS
DOC_OUTCOME = "doc-finding"


def doc_records(catalog: Iterable[ApiContract]) -> list[CheckRecord]:
    """Documentation findings as result records, one per API and check that found something.

    They are produced outside pytest's test outcomes on purpose: a documentation finding never blames the
    server, so it can neither pass nor fail a test (a test that can only pass or xfail checks nothing).
    """
    records = []
    for api in catalog:
        for rule, run in sorted(DOC_CHECKS.items()):
            findings = run(api)
            if not findings:
                continue
            records.append(
                CheckRecord(
                    test=f"docs::{api.name}::{rule}",
                    api=api.name,
                    family=DOC_FAMILY,
                    case=rule.removeprefix("doc."),
                    rule=rule,
                    level=Level.DOC.value,
                    outcome=DOC_OUTCOME,
                    message="\n".join(f.describe() for f in findings),
                    findings=findings,
                )
            )
    return records
