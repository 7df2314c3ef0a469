from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.selftest.conftest import SCHEMAS, docs_dir
from zstack_contract.importer import DocPageError, import_doc_page, parse_doc_page, split_label
from zstack_contract.spec import ApiSpec, dump_json

PAGE = docs_dir() / "GetDatabaseBackupFromImageStore.txt"


@pytest.fixture(scope="module")
def page_text() -> str:
    if not PAGE.exists():
        pytest.skip(f"{PAGE} not found: the published pages live in ../shared/api-docs (or set ZSTACK_CONTRACT_DOCS)")
    return PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        pytest.param("urlStringRequired", ("url", "String", True), id="string-required"),
        pytest.param("registryPortint", ("registryPort", "int", False), id="primitive-int"),
        pytest.param("infosListRequired", ("infos", "List", True), id="list"),
        pytest.param("opaqueLinkedHashMapRequired", ("opaque", "LinkedHashMap", True), id="longest-type-wins"),
        pytest.param("createdTimestampRequired", ("created", "Timestamp", True), id="timestamp"),
        pytest.param("causeErrorCodeRequired", ("cause", "ErrorCode", True), id="error-code"),
        pytest.param("inventoryVmInstanceInventory", ("inventory", "VmInstanceInventory", False), id="class-type"),
        pytest.param("sizeLongRequired", ("size", "Long", True), id="long"),
    ],
)
def test_split_label(label: str, expected: tuple[str, str, bool]) -> None:
    assert split_label(label) == expected


@pytest.mark.parametrize("label", ["Required", "urlWidget", "String", "9lives"])
def test_split_label_refuses_unknown_shapes(label: str) -> None:
    assert split_label(label) is None


def test_import_reads_the_published_page(page_text: str) -> None:
    spec = parse_doc_page(page_text, str(PAGE))
    assert (spec.method, spec.path, spec.operation_id) == (
        "GET",
        "/zstack/v1/database-backups/image-store",
        "GetDatabaseBackupFromImageStore",
    )
    assert (spec.since, spec.sync, spec.auth_required) == ("3.0.0", True, True)
    assert spec.category == "Data Protection/Backup Management Interfaces"
    assert [(p.name, p.type, p.required, p.location) for p in spec.parameters] == [
        ("url", "String", True, "query"),
        ("registryPort", "int", False, "query"),
        ("systemTags", "List", False, "query"),
        ("userTags", "List", False, "query"),
    ]
    error, infos = spec.response_fields
    assert (error.name, error.type, infos.name, infos.type) == ("error", "ErrorCode", "infos", "List")
    assert [c.name for c in error.children] == ["code", "description", "details", "elaboration", "opaque", "cause"]
    assert [(c.name, c.type) for c in infos.children] == [
        ("id", "String"),
        ("parent", "String"),
        ("blobsum", "String"),
        ("created", "Timestamp"),
        ("author", "String"),
        ("arch", "String"),
        ("desc", "String"),
        ("size", "Long"),
        ("virtualsize", "Long"),
        ("name", "String"),
    ]
    assert all(c.required for c in infos.children)
    assert spec.example.request_curl.startswith("curl -X GET 'http://{host}/zstack/v1/database-backups/image-store?")
    assert spec.example.response_status == 200
    assert '"size": 7995392.0' in spec.example.response_text  # kept verbatim, float artifact and all


def test_committed_spec_is_what_the_page_imports_to(page_text: str) -> None:
    committed = (SCHEMAS / "GetDatabaseBackupFromImageStore" / "spec.json").read_text(encoding="utf-8")
    assert dump_json(parse_doc_page(page_text, str(PAGE)).to_json()) == committed, (
        "schemas/GetDatabaseBackupFromImageStore/spec.json is stale: run "
        "python -m zstack_contract import ../shared/api-docs/GetDatabaseBackupFromImageStore.txt"
    )


def test_spec_json_round_trips(page_text: str) -> None:
    spec = parse_doc_page(page_text, str(PAGE))
    assert ApiSpec.from_json(json.loads(dump_json(spec.to_json()))) == spec


def _break(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param(
            "GETBackup Management InterfacesSince 3.0.0SynchronousAuth Required",
            "Backup",
            None,
            "expected a heading line",
            id="no-heading",
        ),
        pytest.param(
            "  \u2022 registryPortint",
            "  \u2022 registryPortWidget",
            25,
            "cannot split 'registryPortWidget' into a field name and a type",
            id="unknown-type",
        ),
        pytest.param(
            "  \u2022 registryPortint", "  registryPort int", 25, "expected a parameter bullet", id="no-bullet"
        ),
        pytest.param(
            "GET/zstack/v1/database-backups/image-store\n",
            "POST/zstack/v1/database-backups/image-store\n",
            None,
            "differs from the heading's GET",
            id="method-mismatch",
        ),
        pytest.param(
            '"name": "78b6afbc9da73932a000fb9a75947962" } ] }',
            '"name": } ] }',
            None,
            "the response example is not valid JSON",
            id="bad-json",
        ),
        pytest.param("Operation ID", "Operation", None, "expected a line 'Operation ID'", id="no-operation-id"),
    ],
)
def test_unreadable_page_names_file_line_and_expectation(
    page_text: str, old: str, new: str, line: int | None, message: str
) -> None:
    with pytest.raises(DocPageError) as info:
        parse_doc_page(_break(page_text, old, new), "page.txt")
    assert message in str(info.value)
    assert str(info.value).startswith(f"page.txt:{line}: " if line else "page.txt")
    assert info.value.line == line or line is None


def test_missing_file_is_a_doc_page_error(tmp_path: Path) -> None:
    with pytest.raises(DocPageError, match="cannot read the page"):
        import_doc_page(tmp_path / "nope.txt")


def test_empty_page_is_refused() -> None:
    with pytest.raises(DocPageError, match="the page is empty"):
        parse_doc_page("", "empty.txt")


def test_cli_import_of_an_unreadable_page_exits_2_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zstack_contract.cli import main

    page = tmp_path / "Broken.txt"
    page.write_text("Skip to main content\nnothing else\n", encoding="utf-8")
    assert main(["--schemas", str(tmp_path / "schemas"), "import", str(page)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {page}: expected a heading line")
    assert not (tmp_path / "schemas").exists()


def test_cli_import_then_check_round_trip(page_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zstack_contract.cli import main

    page = tmp_path / "GetDatabaseBackupFromImageStore.txt"
    page.write_text(page_text, encoding="utf-8")
    schemas = tmp_path / "schemas"
    assert main(["--schemas", str(schemas), "import", str(page)]) == 0
    assert main(["--schemas", str(schemas), "check"]) == 0
    (schemas / "GetDatabaseBackupFromImageStore" / "response.schema.json").write_text("{}\n", encoding="utf-8")
    assert main(["--schemas", str(schemas), "check"]) == 1
    assert "stale:" in capsys.readouterr().err
