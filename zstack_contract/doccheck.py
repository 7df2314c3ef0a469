"""Where the doc page disagrees with itself, with the SDK or with the wire: documentation findings.

These never blame the server under test. The suite shows them (as ``doc`` findings, in records of family
``docs`` built by :func:`doc_records`, outside pytest's test outcomes) instead of quietly loosening a schema to
make them go away. Only the documented example against the must schema is a test (it can fail).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from zstack_contract.contract import ApiContract
from zstack_contract.derive import is_null_by_design, null_by_design
from zstack_contract.findings import Finding, Level
from zstack_contract.results import CheckRecord
from zstack_contract.spec import Field
from zstack_contract.validation import dedupe, schema_findings

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


DOC_CHECKS: dict[str, Callable[[ApiContract], list[Finding]]] = {
    "example-omits-required-fields": example_should,
    "required-fields-null-by-design": required_but_null,
    "sdk-result-key": result_key_aliases,
    "example-number-format": example_number_format,
}


DOC_FAMILY = "docs"
DOC_OUTCOME = "doc-finding"


def doc_records(catalog: Iterable[ApiContract]) -> list[CheckRecord]:
    """Documentation findings as result records, one per API and check that found something.

    They are produced outside pytest's test outcomes on purpose: a documentation finding never blames the
    server, so it can neither pass nor fail a test (a test that can only pass or xfail checks nothing).
    """
    records = []
    for api in catalog:
        for check, run in sorted(DOC_CHECKS.items()):
            findings = run(api)
            if not findings:
                continue
            records.append(
                CheckRecord(
                    test=f"docs::{api.name}::{check}",
                    api=api.name,
                    family=DOC_FAMILY,
                    case=check,
                    rule=f"doc.{check}",
                    level=Level.DOC.value,
                    outcome=DOC_OUTCOME,
                    message="\n".join(f.describe() for f in findings),
                    findings=findings,
                )
            )
    return records
