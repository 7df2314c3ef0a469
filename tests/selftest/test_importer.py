from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.selftest.conftest import SCHEMAS
from zstack_contract.specs.importer import DocPageError, import_doc_page, import_doc_pages, parse_doc_page, split_label
from zstack_contract.specs.spec import ApiSpec, Param, dump_json, load_spec

# The published pages, copied verbatim from ../shared/api-docs so that these tests never depend on a sibling folder.
PAGES = Path(__file__).parent / "pages"
PAGE = PAGES / "GetDatabaseBackupFromImageStore.txt"


def page(name: str) -> str:
    return (PAGES / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page_text() -> str:
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
            134,
            "expected valid JSON as the response example: Expecting value",
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


# ---------------------------------------------------------------------------------------------------------------
# Every published page imports. The facts below are read off each page by eye and written literally: they are the
# oracle, independent of the importer. Parameters are (name, location, required); body children likewise.

R, O = True, False  # Required on the page, or not  # noqa: E741


@dataclass(frozen=True)
class Expected:
    title: str
    method: str
    path: str
    params: tuple[tuple[str, str, bool], ...]
    results: tuple[str, ...]
    auth: bool = True
    alternates: tuple[str, ...] = ()
    children: dict[str, tuple[tuple[str, bool], ...]] = field(default_factory=dict)


TAGS_BODY = (("systemTags", "body", O), ("userTags", "body", O))
TAGS_QUERY = (("systemTags", "query", O), ("userTags", "query", O))
DB_BACKUPS = "/zstack/v1/database-backups"

REAL_PAGES = {
    "CreateDatabaseBackup": Expected(
        "CreateDatabaseBackup",
        "POST",
        DB_BACKUPS,
        (("params", "body", R), *TAGS_BODY),
        ("error", "inventory"),
        children={
            "params": (
                ("name", R),
                ("description", O),
                ("backupStorageUuid", R),
                ("resourceUuid", O),
                ("tagUuids", O),
            )
        },
    ),
    "DeleteDatabaseBackup": Expected(
        "DeleteDatabaseBackup",
        "DELETE",
        DB_BACKUPS + "/{uuid}",
        (("uuid", "path", R), ("backupStorageUuids", "query", O), *TAGS_BODY),
        (),
    ),
    "DeleteExportedDatabaseBackupFromBackupStorage": Expected(
        "DeleteExportedDatabaseBackupFromBackupStorage",
        "DELETE",
        "/zstack/v1/exported-database-backup/{databaseBackupUuid}/backup-storage/{backupStorageUuid}",
        (("databaseBackupUuid", "path", R), ("backupStorageUuid", "path", R), *TAGS_QUERY),
        ("error",),
    ),
    "ExportDatabaseBackupFromBackupStorage": Expected(
        "ExportDatabaseBackupFromBackupStorage",
        "PUT",
        DB_BACKUPS + "/{databaseBackupUuid}/backup-storage/{backupStorageUuid}/actions",
        (
            ("databaseBackupUuid", "path", R),
            ("backupStorageUuid", "path", R),
            ("exportDatabaseBackupFromBackupStorage", "body", R),
            *TAGS_BODY,
        ),
        ("databaseBackupUrl", "error"),
    ),
    "GetBackupStorageCapacity": Expected(
        "GetBackupStorageCapacity",
        "GET",
        "/zstack/v1/backup-storage/capacities",
        (("zoneUuids", "query", O), ("backupStorageUuids", "query", O), ("all", "query", O), *TAGS_QUERY),
        ("totalCapacity", "availableCapacity", "success", "error"),
    ),
    "GetDatabaseBackupFromImageStore": Expected(
        "Get Database Backup",
        "GET",
        DB_BACKUPS + "/image-store",
        (("url", "query", R), ("registryPort", "query", O), *TAGS_QUERY),
        ("error", "infos"),
    ),
    "GetVersion": Expected(
        "GetVersion",
        "PUT",
        "/zstack/v1/management-nodes/actions",
        (("getVersion", "body", R), *TAGS_BODY),
        ("version", "success", "error"),
        auth=False,
    ),
    "LogInByAccount": Expected(
        "LogInByAccount",
        "PUT",
        "/zstack/v1/accounts/login",
        (("logInByAccount", "body", R), *TAGS_BODY),
        ("error", "inventory"),
        auth=False,
        children={
            "logInByAccount": (
                ("accountName", R),
                ("password", R),
                ("accountType", O),
                ("captchaUuid", O),
                ("verifyCode", O),
                ("clientInfo", O),
            )
        },
    ),
    "LogOut": Expected(
        "LogOut",
        "DELETE",
        "/zstack/v1/accounts/sessions/{sessionUuid}",
        (("sessionUuid", "path", R), ("clientInfo", "query", O), *TAGS_QUERY),
        ("error",),
        auth=False,
    ),
    "QueryBackupStorage": Expected(
        "QueryBackupStorage",
        "GET",
        "/zstack/v1/backup-storage",
        tuple(
            (name, "query", O)
            for name in ("q", "limit", "start", "count", "replyWithCount", "sort", "fields", "groupBy")
        ),
        ("error", "inventories"),
        alternates=("/zstack/v1/backup-storage/{uuid}",),
    ),
    "QueryDatabaseBackup": Expected("QueryDatabaseBackup", "GET", DB_BACKUPS, (), ("error", "inventories")),
    "QueryZone": Expected(
        "QueryZone", "GET", "/zstack/v1/zones", (), ("error", "inventories"), alternates=("/zstack/v1/zones/{uuid}",)
    ),
    "RecoverDatabaseFromBackup": Expected(
        "RecoverDatabaseFromBackup",
        "PUT",
        DB_BACKUPS + "/actions",
        (("recoverDatabaseFromBackup", "body", R), *TAGS_BODY),
        ("logListenPort", "error"),
        children={
            "recoverDatabaseFromBackup": (
                ("uuid", O),
                ("backupStorageUrl", O),
                ("backupInstallPath", O),
                ("mysqlRootPassword", R),
            )
        },
    ),
    "SyncDatabaseBackupFromImageStoreBackupStorage": Expected(
        "SyncDatabaseBackupFromImageStoreBackupStorage",
        "PUT",
        DB_BACKUPS + "/{uuid}/actions",
        (("uuid", "path", R), ("syncDatabaseBackupFromImageStoreBackupStorage", "body", R), *TAGS_BODY),
        ("error", "inventory"),
        children={
            "syncDatabaseBackupFromImageStoreBackupStorage": (("srcBackupStorageUuid", R), ("dstBackupStorageUuid", R))
        },
    ),
    "ValidateSession": Expected(
        "ValidateSession",
        "GET",
        "/zstack/v1/accounts/sessions/{sessionUuid}/valid",
        (("sessionUuid", "path", R), *TAGS_QUERY),
        ("valid", "error"),
        auth=False,
    ),
}


def test_every_published_page_is_a_fixture() -> None:
    assert sorted(p.stem for p in PAGES.glob("*.txt")) == sorted(REAL_PAGES)


@pytest.mark.parametrize("name", sorted(REAL_PAGES))
def test_published_page_imports(name: str) -> None:
    expected = REAL_PAGES[name]
    spec = import_doc_page(PAGES / f"{name}.txt")
    assert (spec.operation_id, spec.title, spec.method, spec.path) == (
        name,
        expected.title,
        expected.method,
        expected.path,
    )
    assert spec.alternate_paths == expected.alternates
    assert [(p.name, p.location, p.required) for p in spec.parameters] == list(expected.params)
    assert {p.name: tuple((c.name, c.required) for c in p.children) for p in spec.parameters if p.children} == (
        expected.children
    )
    assert all(c.location == "body" and not c.children for p in spec.parameters for c in p.children)
    assert tuple(f.name for f in spec.response_fields) == expected.results
    # Page facts: the portal labels every API "Synchronous"; the SDK's word comes later, from an overlay.
    assert (spec.sync, spec.auth_required) == (True, expected.auth)
    assert (spec.response_status, spec.example.response_status) == (200, 200)
    assert ApiSpec.from_json(json.loads(dump_json(spec.to_json()))) == spec


def test_delete_page_with_query_string_blocks_and_no_status_line() -> None:
    spec = import_doc_page(PAGES / "DeleteDatabaseBackup.txt")
    by_name = {p.name: p for p in spec.parameters}
    # The page lists it under "Path Parameters"; the endpoint puts it in the query string, which wins.
    assert by_name["backupStorageUuids"] == Param(
        "backupStorageUuids",
        "query",
        "List",
        False,
        "Optional. Backup storage UUIDs to delete from.",
        documented_in="path",
    )
    assert by_name["uuid"].documented_in is None
    assert spec.response_description == (
        "DELETE endpoints return an empty object on success, or a standard error structure on failure."
    )
    assert spec.success_response_text == "{}"
    assert json.loads(spec.error_response_text or "") == {
        "error": {
            "code": "SYS.1001",
            "description": "A message or a operation timeout",
            "details": "Delete resource timeout after 300s",
        }
    }
    out = spec.to_json()
    assert out["examples"]["success"] == {"text": "{}"}
    assert out["parameters"][1]["documentedIn"] == "path"


def test_body_key_names_the_object_that_routes_the_request() -> None:
    keys = {name: import_doc_page(PAGES / f"{name}.txt").body_key for name in REAL_PAGES}
    assert keys == {
        **dict.fromkeys(REAL_PAGES),
        "CreateDatabaseBackup": "params",
        "ExportDatabaseBackupFromBackupStorage": "exportDatabaseBackupFromBackupStorage",
        "GetVersion": "getVersion",
        "LogInByAccount": "logInByAccount",
        "RecoverDatabaseFromBackup": "recoverDatabaseFromBackup",
        "SyncDatabaseBackupFromImageStoreBackupStorage": "syncDatabaseBackupFromImageStoreBackupStorage",
    }


def test_new_spec_fields_stay_out_of_the_json_at_their_default() -> None:
    out = parse_doc_page(page("QueryDatabaseBackup")).to_json()
    assert "alternatePaths" not in out
    assert set(out["examples"]) == {"request", "response"}
    assert out["parameters"] == []
    body = parse_doc_page(page("GetVersion")).to_json()["parameters"]
    assert [set(p) for p in body] == [{"name", "in", "type", "required", "description"}] * 3


# ---------------------------------------------------------------------------------------------------------------
# Crafted variants of real pages: each asserts the exact parse or the exact error.


def endpoint_query(query: str) -> str:
    """DeleteDatabaseBackup's endpoint and its copy line, both with ``query`` as their query string."""
    return f"{{uuid}}{query}\n\n/zstack/v1/database-backups/{{uuid}}{query}\n"


ENDPOINT_QUERY = endpoint_query("?backupStorageUuids={backupStorageUuids}")

KNOWN_REQUEST_HEADINGS = (
    "'Query Parameters', 'Path Parameters', 'Body Parameters', 'Body Fields', "
    "'This API requires no request parameters.'"
)


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        pytest.param(
            "DeleteDatabaseBackup",
            "Body Fields\n",
            "Body Stuff\n",
            "page.txt:29: expected a section heading under 'Request Inputs' "
            f"(one of {KNOWN_REQUEST_HEADINGS}), found unknown heading 'Body Stuff'",
            id="unknown-request-heading",
        ),
        pytest.param(
            "DeleteDatabaseBackup",
            "Success Response\n",
            "Success Reply\n",
            "page.txt:43: expected a section heading under 'Responses' "
            "(one of 'Success Response', 'Error Response'), found unknown heading 'Success Reply'",
            id="unknown-response-heading",
        ),
        pytest.param(
            "DeleteDatabaseBackup",
            '"details": "Delete resource timeout after 300s"',
            '"details": Delete resource timeout',
            "page.txt:53: expected valid JSON under 'Error Response': Expecting value",
            id="error-response-not-json",
        ),
        pytest.param(
            "QueryZone",
            "This API requires no request parameters.\n",
            "This API requires no request parameters.\n\nQuery Parameters\n\n  \u2022 limitInteger\n\n    Max.\n",
            "page.txt:17: expected no parameter section with 'This API requires no request parameters.', "
            "found 'Query Parameters'",
            id="no-parameters-and-a-section",
        ),
        pytest.param(
            "QueryZone",
            "This API requires no request parameters.\n",
            "This API requires no request parameters.\n\n  \u2022 limitInteger\n",
            "page.txt:19: expected nothing after 'This API requires no request parameters.', "
            "found '\u2022 limitInteger'",
            id="bullet-after-no-parameters",
        ),
        pytest.param(
            "GetBackupStorageCapacity",
            "  \u2022 backupStorageUuidsList\n\n    Optional. Backup",
            "      \u2022 backupStorageUuidsList\n\n        Optional. Backup",
            "page.txt:25: expected a flat list under 'Query Parameters' (only body fields nest), "
            "found 'backupStorageUuids' nested under 'zoneUuids'",
            id="nested-query-parameter",
        ),
        pytest.param(
            "DeleteDatabaseBackup",
            ENDPOINT_QUERY,
            endpoint_query(""),
            "page.txt:25: expected {backupStorageUuids} in the endpoint 'DELETE/zstack/v1/database-backups/{uuid}' "
            "for path parameter 'backupStorageUuids', found none",
            id="path-parameter-missing-from-endpoint",
        ),
        pytest.param(
            "DeleteDatabaseBackup",
            ENDPOINT_QUERY,
            endpoint_query("?backupStorageUuids={backupStorageUuids}&force={force}"),
            "page.txt:59: expected a Path or Query Parameters entry for {force} of the endpoint, found none",
            id="query-placeholder-not-listed",
        ),
        pytest.param(
            "DeleteDatabaseBackup",
            ENDPOINT_QUERY,
            endpoint_query("?backupStorageUuids=all"),
            "page.txt:59: expected query pairs like 'name={name}' in the endpoint, found 'backupStorageUuids=all'",
            id="query-pair-not-a-placeholder",
        ),
        pytest.param(
            "QueryZone",
            "GET/zstack/v1/zones/{uuid}\n",
            "DELETE/zstack/v1/zones/{uuid}\n",
            "page.txt:91: endpoint method DELETE differs from the heading's GET",
            id="further-endpoint-method-mismatch",
        ),
        pytest.param(
            "CreateDatabaseBackup",
            "  \u2022 systemTagsList\n",
            "Body Fields\n\n  \u2022 systemTagsList\n",
            "page.txt:43: expected each section once, found 'Body Fields' again (first at line 17)",
            id="section-twice",
        ),
        pytest.param(
            "DeleteDatabaseBackup",
            "Error Response\n",
            "Success Response\n",
            "page.txt:47: expected each block once, found 'Success Response' again",
            id="block-twice",
        ),
        pytest.param(
            "QueryZone",
            "\n/zstack/v1/zones\n",
            "\n/zstack/v1/zone\n",
            "page.txt:89: expected '<METHOD>/zstack/v1/...' after 'Endpoint', found '/zstack/v1/zone'",
            id="endpoint-copy-line-differs",
        ),
        pytest.param(
            "CreateDatabaseBackup",
            "  \u2022 userTagsList\n",
            "  \u2022 systemTagsList\n",
            "page.txt:47: expected each parameter once, found 'systemTags' again (first at line 43)",
            id="parameter-listed-twice",
        ),
    ],
)
def test_crafted_page_error(name: str, old: str, new: str, message: str) -> None:
    with pytest.raises(DocPageError) as info:
        parse_doc_page(_break(page(name), old, new), "page.txt")
    assert str(info.value) == message


def test_nested_body_bullets_two_levels_deep() -> None:
    retention = (
        "    \u2022 retentionObject\n\n      Keep rules.\n\n"
        "      \u2022 daysintRequired\n\n        Days to keep.\n\n"
        "      \u2022 copiesint\n\n        Copies to keep.\n\n"
    )
    text = _break(page("CreateDatabaseBackup"), "    \u2022 tagUuidsList\n", retention + "    \u2022 tagUuidsList\n")
    params = parse_doc_page(text).parameters[0]
    assert [c.name for c in params.children] == [
        "name",
        "description",
        "backupStorageUuid",
        "resourceUuid",
        "retention",
        "tagUuids",
    ]
    assert params.children[4] == Param(
        "retention",
        "body",
        "Object",
        False,
        "Keep rules.",
        children=(
            Param("days", "body", "int", True, "Days to keep."),
            Param("copies", "body", "int", False, "Copies to keep."),
        ),
    )
    out = ApiSpec.from_json(json.loads(dump_json(parse_doc_page(text).to_json())))
    assert out.parameters[0].children[4].children[0].name == "days"


def test_endpoint_query_parameter_is_required_when_the_page_says_so() -> None:
    text = _break(
        page("DeleteDatabaseBackup"), "  \u2022 backupStorageUuidsList\n", "  \u2022 backupStorageUuidsListRequired\n"
    )
    param = parse_doc_page(text).parameters[1]
    assert (param.name, param.location, param.required, param.documented_in) == (
        "backupStorageUuids",
        "query",
        True,
        "path",
    )


def test_query_string_on_an_endpoint_under_query_parameters_is_not_a_doc_finding() -> None:
    text = _break(
        page("DeleteDatabaseBackup"),
        "  \u2022 backupStorageUuidsList\n",
        "Query Parameters\n\n  \u2022 backupStorageUuidsList\n",
    )
    param = parse_doc_page(text).parameters[1]
    assert (param.location, param.documented_in) == ("query", None)


@pytest.mark.parametrize(
    ("name", "old_title", "new_title"),
    [
        pytest.param("QueryZone", "QueryZone\n\nQueryZone\n", "Query Zones\n\nQuery Zones\n", id="plain-english"),
        pytest.param(
            "GetDatabaseBackupFromImageStore",
            "Get Database Backup\n\nGet Database Backup\n",
            "GetDatabaseBackupFromImageStore\n\nGetDatabaseBackupFromImageStore\n",
            id="operation-id",
        ),
    ],
)
def test_both_title_styles(name: str, old_title: str, new_title: str) -> None:
    spec = parse_doc_page(_break(page(name), old_title, new_title))
    assert (spec.title, spec.operation_id) == (new_title.split("\n")[0], name)


def test_page_with_no_request_parameters() -> None:
    spec = parse_doc_page(page("QueryZone"))
    assert spec.parameters == ()
    missing = _break(page("QueryZone"), "This API requires no request parameters.\n", "\n")
    with pytest.raises(DocPageError) as info:
        parse_doc_page(missing, "page.txt")
    assert str(info.value) == (
        "page.txt:15: expected a parameter section or 'This API requires no request parameters.', found nothing"
    )


def test_two_pages_with_one_operation_id_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "QueryZone.txt", tmp_path / "QueryZoneCopy.txt"
    first.write_text(page("QueryZone"), encoding="utf-8")
    second.write_text(_break(page("QueryZone"), "QueryZone\n\nQueryZone\n", "Zones\n\nZones\n"), encoding="utf-8")
    with pytest.raises(DocPageError) as info:
        import_doc_pages([first, second])
    assert str(info.value) == (
        f"{second}:97: expected an operation id no other page has, found 'QueryZone', already defined at {first}:97"
    )
    assert [s.operation_id for s in import_doc_pages([first, PAGES / "QueryBackupStorage.txt"])] == [
        "QueryZone",
        "QueryBackupStorage",
    ]


def test_cli_imports_all_published_pages_into_a_chosen_folder(tmp_path: Path) -> None:
    from zstack_contract.cli import main

    schemas = tmp_path / "schemas"
    pages = sorted(PAGES.glob("*.txt"))
    assert main(["--schemas", str(schemas), "import", *map(str, pages)]) == 0
    assert sorted(p.parent.name for p in schemas.glob("*/spec.json")) == sorted(REAL_PAGES)
    for spec in import_doc_pages(pages):
        assert load_spec(schemas / spec.operation_id / "spec.json") == spec
    assert main(["--schemas", str(schemas), "check"]) == 0


def test_cli_refuses_two_pages_with_one_operation_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zstack_contract.cli import main

    copy = tmp_path / "Zones.txt"
    copy.write_text(page("QueryZone"), encoding="utf-8")
    assert main(["--schemas", str(tmp_path / "s"), "import", str(PAGES / "QueryZone.txt"), str(copy)]) == 2
    assert "expected an operation id no other page has" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
