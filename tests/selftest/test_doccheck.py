"""Documentation findings over the committed family: one name per doc rule, one finding per overlay correction,
and the parameters a page lists where the server does not read them."""

from __future__ import annotations

import pytest

from tests.selftest.conftest import SCHEMAS
from zstack_contract.engine.checks import RULES
from zstack_contract.engine.doccheck import DOC_CHECKS, DOC_FAMILY, doc_records
from zstack_contract.engine.findings import Finding, Level
from zstack_contract.engine.rules import DOC_RULES
from zstack_contract.specs.contract import load_catalog

CATALOG = {api.name: api for api in load_catalog(SCHEMAS)}
RECORDS = doc_records(CATALOG.values())


def _findings(rule: str) -> set[tuple[str, str]]:
    return {(f.api, f.path) for r in RECORDS if r.rule == rule for f in r.findings}


def test_every_doc_rule_has_one_name_in_the_finding_the_record_and_the_table() -> None:
    assert set(DOC_CHECKS) == set(DOC_RULES)
    assert all(level is Level.DOC for level, _ in DOC_RULES.values())
    # Every rule has one entry: the doc rules are listed among all rules, at their own level.
    assert all(RULES[name] == entry for name, entry in DOC_RULES.items())
    assert RECORDS
    for record in RECORDS:
        assert record.family == DOC_FAMILY
        assert record.rule in DOC_RULES
        assert record.case == record.rule.removeprefix("doc.")
        assert record.test == f"docs::{record.api}::{record.rule}"
        assert {f.rule for f in record.findings} == {record.rule}


def test_one_doc_finding_per_overlay_correction() -> None:
    expected = {(name, c.fact) for name, api in CATALOG.items() for c in api.corrections}
    assert _findings("doc.page-corrected") == expected
    assert len(expected) == 7  # six async APIs, QueryDatabaseBackup's short form


@pytest.mark.parametrize(
    ("api_name", "fact", "page", "wire", "source"),
    [
        ("CreateDatabaseBackup", "sync", "says Synchronous", "Asynchronous", "CreateDatabaseBackupAction"),
        ("DeleteDatabaseBackup", "sync", "says Synchronous", "Asynchronous", "needPoll = true"),
        (
            "QueryDatabaseBackup",
            "alternatePaths",
            "says GET /zstack/v1/database-backups only",
            "GET /zstack/v1/database-backups/{uuid} too",
            "optionalPaths",
        ),
    ],
)
def test_a_correction_finding_names_page_fact_both_values_and_source(
    api_name: str, fact: str, page: str, wire: str, source: str
) -> None:
    (finding,) = _records(api_name, "doc.page-corrected")
    assert finding.path == fact
    assert finding.actual == f"{api_name}.txt {page}"
    assert wire in finding.expected
    assert source in finding.note
    assert "follows the wire" in finding.note


def _records(api_name: str, rule: str) -> list[Finding]:
    return [f for r in RECORDS if r.api == api_name and r.rule == rule for f in r.findings]


def test_parameters_listed_where_the_server_does_not_read_them() -> None:
    # DeleteDatabaseBackup: "Body Fields" on a DELETE (read from the query string), and the endpoint's
    # ?backupStorageUuids= listed under "Path Parameters".
    assert _findings("doc.parameter-location") == {
        ("DeleteDatabaseBackup", "systemTags"),
        ("DeleteDatabaseBackup", "userTags"),
        ("DeleteDatabaseBackup", "backupStorageUuids"),
    }
    by_name = {f.path: f for f in _records("DeleteDatabaseBackup", "doc.parameter-location")}
    assert "'Body Fields' of DELETE /zstack/v1/database-backups/{uuid}" in by_name["systemTags"].actual
    assert "query string" in by_name["systemTags"].expected
    assert "'Path Parameters'" in by_name["backupStorageUuids"].actual
    assert "?backupStorageUuids=" in by_name["backupStorageUuids"].expected
