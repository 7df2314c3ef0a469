"""The deriver over the whole API family: the 15 fixture pages, derived into a temp dir (not into schemas/).

Table-driven with literal expectations: the OpenAPI 3.1 document (every operation, its parameters and its
request body, APIs sharing one path and method side by side) and the response levels from ZStack's semantics.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from zstack_contract.specs.derive import ERROR_CORE, Overlay, derive_all, openapi_document, response_schema
from zstack_contract.specs.importer import import_doc_pages
from zstack_contract.specs.spec import ApiSpec, Param, dump_json

PAGES = Path(__file__).parent / "pages"
SPECS = {s.operation_id: s for s in import_doc_pages(sorted(PAGES.glob("*.txt")))}
FAMILY = sorted(SPECS)


def _document(specs: list[ApiSpec]) -> dict[str, Any]:
    return openapi_document([(s, Overlay.empty()) for s in specs], "test")


DOCUMENT = _document(list(SPECS.values()))


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def test_all_fifteen_pages_are_in_the_family() -> None:
    assert len(FAMILY) == 15


def test_openapi_document_passes_the_openapi_3_1_validator() -> None:
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)


def test_derivation_is_deterministic_whatever_the_input_order(tmp_path: Path) -> None:
    forward = dump_json(_document(list(SPECS.values())))
    backward = dump_json(_document(list(reversed(SPECS.values()))))
    assert forward == backward
    # Through the files the CLI writes: every API folder and openapi.json, twice, byte for byte.
    for spec in SPECS.values():
        (tmp_path / spec.operation_id).mkdir()
        (tmp_path / spec.operation_id / "spec.json").write_text(dump_json(spec.to_json()), encoding="utf-8")
    first = derive_all(tmp_path)
    assert derive_all(tmp_path) == first
    assert len(first) == 15 * 4 + 1


def _operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), p): op for p, item in DOCUMENT["paths"].items() for m, op in item.items()}


# operation id → (method, path, [(parameter, in, required)], request body top-level keys and required keys)
OPERATIONS: dict[str, tuple[str, str, list[tuple[str, str, bool]], tuple[list[str], list[str]] | None]] = {
    "CreateDatabaseBackup": (
        "POST",
        "/zstack/v1/database-backups",
        [],
        (["params", "systemTags", "userTags"], ["params"]),
    ),
    "DeleteDatabaseBackup": (
        "DELETE",
        "/zstack/v1/database-backups/{uuid}",
        # The page's body fields are read from the query string on a DELETE.
        [
            ("uuid", "path", True),
            ("backupStorageUuids", "query", False),
            ("systemTags", "query", False),
            ("userTags", "query", False),
        ],
        None,
    ),
    "DeleteExportedDatabaseBackupFromBackupStorage": (
        "DELETE",
        "/zstack/v1/exported-database-backup/{databaseBackupUuid}/backup-storage/{backupStorageUuid}",
        [
            ("databaseBackupUuid", "path", True),
            ("backupStorageUuid", "path", True),
            ("systemTags", "query", False),
            ("userTags", "query", False),
        ],
        None,
    ),
    "ExportDatabaseBackupFromBackupStorage": (
        "PUT",
        "/zstack/v1/database-backups/{databaseBackupUuid}/backup-storage/{backupStorageUuid}/actions",
        [("databaseBackupUuid", "path", True), ("backupStorageUuid", "path", True)],
        (
            ["exportDatabaseBackupFromBackupStorage", "systemTags", "userTags"],
            ["exportDatabaseBackupFromBackupStorage"],
        ),
    ),
    "GetBackupStorageCapacity": (
        "GET",
        "/zstack/v1/backup-storage/capacities",
        [
            ("zoneUuids", "query", False),
            ("backupStorageUuids", "query", False),
            ("all", "query", False),
            ("systemTags", "query", False),
            ("userTags", "query", False),
        ],
        None,
    ),
    "GetDatabaseBackupFromImageStore": (
        "GET",
        "/zstack/v1/database-backups/image-store",
        [
            ("url", "query", True),
            ("registryPort", "query", False),
            ("systemTags", "query", False),
            ("userTags", "query", False),
        ],
        None,
    ),
    "GetVersion": (
        "PUT",
        "/zstack/v1/management-nodes/actions",
        [],
        (["getVersion", "systemTags", "userTags"], ["getVersion"]),
    ),
    "LogInByAccount": (
        "PUT",
        "/zstack/v1/accounts/login",
        [],
        (["logInByAccount", "systemTags", "userTags"], ["logInByAccount"]),
    ),
    "LogOut": (
        "DELETE",
        "/zstack/v1/accounts/sessions/{sessionUuid}",
        [
            ("sessionUuid", "path", True),
            ("clientInfo", "query", False),
            ("systemTags", "query", False),
            ("userTags", "query", False),
        ],
        None,
    ),
    "QueryBackupStorage": (
        "GET",
        "/zstack/v1/backup-storage",
        [(n, "query", False) for n in ("q", "limit", "start", "count", "replyWithCount", "sort", "fields", "groupBy")],
        None,
    ),
    "QueryDatabaseBackup": ("GET", "/zstack/v1/database-backups", [], None),
    "QueryZone": ("GET", "/zstack/v1/zones", [], None),
    "RecoverDatabaseFromBackup": (
        "PUT",
        "/zstack/v1/database-backups/actions",
        [],
        (["recoverDatabaseFromBackup", "systemTags", "userTags"], ["recoverDatabaseFromBackup"]),
    ),
    "SyncDatabaseBackupFromImageStoreBackupStorage": (
        "PUT",
        "/zstack/v1/database-backups/{uuid}/actions",
        [("uuid", "path", True)],
        (
            ["syncDatabaseBackupFromImageStoreBackupStorage", "systemTags", "userTags"],
            ["syncDatabaseBackupFromImageStoreBackupStorage"],
        ),
    ),
    "ValidateSession": (
        "GET",
        "/zstack/v1/accounts/sessions/{sessionUuid}/valid",
        [("sessionUuid", "path", True), ("systemTags", "query", False), ("userTags", "query", False)],
        None,
    ),
}


@pytest.mark.parametrize("api_name", FAMILY)
def test_every_operation_with_its_parameters_and_body(api_name: str) -> None:
    method, path, parameters, body = OPERATIONS[api_name]
    operation = _operations()[(method, path)]
    assert operation["operationId"] == api_name
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == parameters
    if body is None:
        assert "requestBody" not in operation
        return
    schema = _resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    assert (list(schema["properties"]), schema["required"]) == body


@pytest.mark.parametrize(
    ("api_name", "key", "fields", "required"),
    [
        (
            "CreateDatabaseBackup",
            "params",
            ["name", "description", "backupStorageUuid", "resourceUuid", "tagUuids"],
            ["name", "backupStorageUuid"],
        ),
        (
            "LogInByAccount",
            "logInByAccount",
            ["accountName", "password", "accountType", "captchaUuid", "verifyCode", "clientInfo"],
            ["accountName", "password"],
        ),
        (
            "RecoverDatabaseFromBackup",
            "recoverDatabaseFromBackup",
            ["uuid", "backupStorageUrl", "backupInstallPath", "mysqlRootPassword"],
            ["mysqlRootPassword"],
        ),
        (
            "SyncDatabaseBackupFromImageStoreBackupStorage",
            "syncDatabaseBackupFromImageStoreBackupStorage",
            ["srcBackupStorageUuid", "dstBackupStorageUuid"],
            ["srcBackupStorageUuid", "dstBackupStorageUuid"],
        ),
        ("GetVersion", "getVersion", [], None),
    ],
)
def test_nested_body_fields_keep_the_page_nesting(
    api_name: str, key: str, fields: list[str], required: list[str] | None
) -> None:
    body = DOCUMENT["components"]["schemas"][f"{api_name}Request"]
    nested = body["properties"][key]
    assert nested["type"] == "object"
    assert (list(nested["properties"]), nested.get("required")) == (fields, required)


@pytest.mark.parametrize(
    ("alternate", "operation_id", "api_name", "path_parameters"),
    [
        ("/zstack/v1/zones/{uuid}", "QueryZoneByUuid", "QueryZone", ["uuid"]),
        ("/zstack/v1/backup-storage/{uuid}", "QueryBackupStorageByUuid", "QueryBackupStorage", ["uuid"]),
    ],
)
def test_alternate_paths_get_their_own_path_item(
    alternate: str, operation_id: str, api_name: str, path_parameters: list[str]
) -> None:
    operation = _operations()[("GET", alternate)]
    assert operation["operationId"] == operation_id
    assert operation["x-zstack"]["api"] == api_name
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == path_parameters
    main = _operations()[("GET", SPECS[api_name].path)]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == [
        p["name"] for p in main["parameters"] if p["in"] == "query"
    ]


def _sibling(spec: ApiSpec, operation_id: str, key: str, auth: bool) -> ApiSpec:
    """Another action on the same path and method, picked by its own body key (crafted: the 15 have none)."""
    old = spec.body_key
    parameters = tuple(dataclasses.replace(p, name=key) if p.name == old else p for p in spec.parameters)
    return dataclasses.replace(spec, operation_id=operation_id, parameters=parameters, auth_required=auth)


@pytest.mark.parametrize(
    ("api_name", "sibling", "key"),
    [
        ("GetVersion", "GetCurrentTime", "getCurrentTime"),
        ("SyncDatabaseBackupFromImageStoreBackupStorage", "ChangeDatabaseBackupState", "changeDatabaseBackupState"),
    ],
)
def test_apis_sharing_a_path_and_method_are_side_by_side(api_name: str, sibling: str, key: str) -> None:
    spec = SPECS[api_name]
    specs = [*SPECS.values(), _sibling(spec, sibling, key, auth=not spec.auth_required)]
    document = _document(specs)
    validate(document, cls=OpenAPIV31SpecValidator)
    operation = document["paths"][spec.path][spec.method.lower()]
    assert operation["operationId"] == "|".join(sorted([api_name, sibling]))
    listed = [(o["operationId"], o["bodyKey"]) for o in operation["x-zstack-operations"]]
    assert listed == sorted([(api_name, spec.body_key), (sibling, key)])
    assert operation["security"] == [{"session": []}, {}]  # one of the two needs no session
    branches = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert sorted(b["$ref"] for b in branches) == sorted(
        f"#/components/schemas/{n}Request" for n in (api_name, sibling)
    )
    # Each body picks exactly one API: the oneOf is decided by the body key.
    schema = {"oneOf": branches, "$defs": document["components"]["schemas"]}
    schema = json.loads(json.dumps(schema).replace("#/components/schemas/", "#/$defs/"))
    validator = Draft202012Validator(schema)
    nested = document["components"]["schemas"][f"{api_name}Request"]["properties"][spec.body_key]
    value = dict.fromkeys(nested.get("required", []), "x")
    assert validator.is_valid({spec.body_key: value})
    assert validator.is_valid({key: value})
    assert not validator.is_valid({spec.body_key: value, key: value})  # ambiguous: matches both
    # Neither response overwrote the other.
    responses = operation["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    assert sorted(r["$ref"] for r in responses) == sorted(
        f"#/components/schemas/{n}Response" for n in (api_name, sibling)
    )


def _levels(schema: dict[str, Any]) -> dict[str, list[str]]:
    """JSON path of every object in a response schema → its required keys (the error tree is left out)."""
    out: dict[str, list[str]] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        node = node["anyOf"][0] if "anyOf" in node else node
        node = node.get("items", node) if node.get("type") == "array" else node
        if "properties" in node:
            out[path] = node.get("required", [])
            for name, child in node["properties"].items():
                if name != "error":
                    walk(child, f"{path}.{name}")

    walk(schema, "$")
    return out


_INVENTORY = [
    "uuid",
    "name",
    "state",
    "status",
    "size",
    "metadata",
    "createDate",
    "lastOpDate",
    "backupStorageRefs",
]
# ``exportUrl`` is set only while a backup is exported and ``description`` only when a user gave one: null by
# ZStack's semantics at both levels (derive._NULLABLE_COLUMNS), whatever the pages mark Required.
_REFS = ["databaseBackupUuid", "backupStorageUuid", "installPath", "status", "createDate", "lastOpDate"]

# operation id → (must: path → required, should: path → required). Must: what the example shows, or the result
# key; should: what the page marks Required, minus the null by design. ``error`` is never required.
LEVELS: dict[str, tuple[dict[str, list[str]], dict[str, list[str]]]] = {
    "CreateDatabaseBackup": (
        {"$": ["inventory"], "$.inventory": _INVENTORY, "$.inventory.backupStorageRefs": _REFS},
        {"$": ["inventory"], "$.inventory": _INVENTORY, "$.inventory.backupStorageRefs": _REFS},
    ),
    "DeleteDatabaseBackup": ({"$": []}, {"$": []}),
    "DeleteExportedDatabaseBackupFromBackupStorage": ({"$": []}, {"$": []}),
    "ExportDatabaseBackupFromBackupStorage": ({"$": ["databaseBackupUrl"]}, {"$": ["databaseBackupUrl"]}),
    "GetBackupStorageCapacity": (
        {"$": ["totalCapacity", "availableCapacity"]},
        {"$": ["totalCapacity", "availableCapacity", "success"]},
    ),
    "GetDatabaseBackupFromImageStore": (
        {"$": ["infos"], "$.infos": ["id", "created", "author", "arch", "size", "virtualsize", "name"]},
        {
            "$": ["infos"],
            "$.infos": ["id", "parent", "blobsum", "created", "author", "arch", "desc", "size", "virtualsize", "name"],
        },
    ),
    "GetVersion": ({"$": ["version"]}, {"$": ["version", "success"]}),
    "LogInByAccount": (
        {"$": ["inventory"], "$.inventory": ["uuid", "accountUuid", "userUuid", "expiredDate", "createDate"]},
        {"$": ["inventory"], "$.inventory": ["uuid", "accountUuid", "userUuid", "expiredDate", "createDate"]},
    ),
    "LogOut": ({"$": []}, {"$": []}),
    "QueryBackupStorage": (
        {
            "$": ["inventories"],
            "$.inventories": [
                "uuid",
                "name",
                "totalCapacity",
                "availableCapacity",
                "type",
                "state",
                "status",
                "createDate",
                "lastOpDate",
                "attachedZoneUuids",
            ],
        },
        {
            "$": ["inventories"],
            "$.inventories": [
                "uuid",
                "name",
                "url",
                "totalCapacity",
                "availableCapacity",
                "type",
                "state",
                "status",
                "createDate",
                "lastOpDate",
                "attachedZoneUuids",
            ],
        },
    ),
    "QueryDatabaseBackup": (
        {
            "$": ["inventories"],
            "$.inventories": ["uuid", "name", "size"],
            "$.inventories.backupStorageRefs": [],
        },
        {"$": ["inventories"], "$.inventories": _INVENTORY, "$.inventories.backupStorageRefs": _REFS},
    ),
    "QueryZone": (
        {
            "$": ["inventories"],
            "$.inventories": ["uuid", "name", "state", "type", "createDate", "lastOpDate"],
        },
        {
            "$": ["inventories"],
            "$.inventories": ["uuid", "name", "state", "type", "createDate", "lastOpDate"],
        },
    ),
    "RecoverDatabaseFromBackup": ({"$": ["logListenPort"]}, {"$": ["logListenPort"]}),
    "SyncDatabaseBackupFromImageStoreBackupStorage": (
        {"$": ["inventory"], "$.inventory": _INVENTORY, "$.inventory.backupStorageRefs": _REFS},
        {"$": ["inventory"], "$.inventory": _INVENTORY, "$.inventory.backupStorageRefs": _REFS},
    ),
    "ValidateSession": ({"$": ["valid"]}, {"$": ["valid"]}),
}


@pytest.mark.parametrize("api_name", FAMILY)
@pytest.mark.parametrize("level", ["must", "should"])
def test_required_fields_per_level_over_the_family(api_name: str, level: str) -> None:
    must, should = LEVELS[api_name]
    assert _levels(response_schema(SPECS[api_name], level)) == (must if level == "must" else should)


def _validator(api_name: str, level: str) -> Draft202012Validator:
    from zstack_contract.specs.derive import error_code_schema

    schema = {
        **response_schema(SPECS[api_name], level),
        "$defs": {"ZStackErrorCode": error_code_schema(SPECS[api_name], "#/$defs/")},
    }
    return Draft202012Validator(schema)


def _minimal_success(api_name: str) -> dict[str, Any]:
    return dict(json.loads(SPECS[api_name].example.response_text))


@pytest.mark.parametrize("api_name", FAMILY)
@pytest.mark.parametrize("level", ["must", "should"])
def test_a_200_may_carry_error_null_or_leave_it_out(api_name: str, level: str) -> None:
    # Prism answered "error": null and was flagged at should level: null is how Gson's absent looks elsewhere.
    body = _minimal_success(api_name)
    validator = _validator(api_name, level)
    base_errors = sorted(e.message for e in validator.iter_errors(body))
    assert sorted(e.message for e in validator.iter_errors({**body, "error": None})) == base_errors
    assert "error" not in response_schema(SPECS[api_name], level).get("required", [])


@pytest.mark.parametrize("api_name", FAMILY)
def test_error_envelope_must_part_is_exactly_code_description_details(api_name: str) -> None:
    from zstack_contract.specs.derive import error_code_schema

    error = error_code_schema(SPECS[api_name], "#/$defs/")
    assert error["required"] == list(ERROR_CORE)
    envelope = Draft202012Validator({"$ref": "#/$defs/ZStackErrorCode", "$defs": {"ZStackErrorCode": error}})
    core = {"code": "SYS.1000", "description": "d", "details": "x"}
    assert envelope.is_valid(core)
    assert envelope.is_valid({**core, "elaboration": "e", "opaque": {}})
    assert envelope.is_valid({**core, "cause": {**core, "cause": core}})  # nested cause, same must part
    for name in ERROR_CORE:
        assert not envelope.is_valid({k: v for k, v in core.items() if k != name})
        assert not envelope.is_valid({**core, "cause": {k: v for k, v in core.items() if k != name}})


def test_query_database_backup_error_members_are_not_required_whatever_the_wording() -> None:
    # The page words them "Reserved, null by default" / "null when there is none": not the phrases of the
    # English regex, yet ZStack's ErrorCode leaves them null unless something fills them.
    from zstack_contract.specs.derive import error_code_schema

    spec = SPECS["QueryDatabaseBackup"]
    error = error_code_schema(spec, "#/$defs/")
    assert not {"elaboration", "opaque", "cause"} & set(error["required"])
    assert {"elaboration", "opaque", "cause"} <= set(error["properties"])
    for level in ("must", "should"):
        assert "error" not in response_schema(spec, level).get("required", [])


def test_body_fields_of_a_delete_are_query_parameters_not_a_request_body() -> None:
    spec = SPECS["DeleteDatabaseBackup"]
    assert {p.name for p in spec.parameters if p.location == "body"} == {"systemTags", "userTags"}
    assert "DeleteDatabaseBackupRequest" not in DOCUMENT["components"]["schemas"]


def test_a_page_param_of_a_post_without_body_fields_has_no_request_body() -> None:
    spec = dataclasses.replace(
        SPECS["CreateDatabaseBackup"],
        parameters=(Param("limit", "query", "int", False, "page size"),),
    )
    operation = _document([spec])["paths"][spec.path]["post"]
    assert "requestBody" not in operation
    assert [p["name"] for p in operation["parameters"]] == ["limit"]


def test_family_document_loads_in_schemathesis(tmp_path: Path) -> None:
    import schemathesis
    from schemathesis.core.result import Ok

    path = tmp_path / "openapi.json"
    path.write_text(dump_json(DOCUMENT), encoding="utf-8")
    loaded = []
    for result in schemathesis.openapi.from_path(path).get_all_operations():
        assert isinstance(result, Ok), result
        loaded.append((result.ok().method.upper(), result.ok().path))
    expected = [(m, p) for m, p, _, _ in OPERATIONS.values()]
    expected += [("GET", "/zstack/v1/zones/{uuid}"), ("GET", "/zstack/v1/backup-storage/{uuid}")]
    assert sorted(loaded) == sorted(expected)


@pytest.mark.parametrize(
    ("operation", "body", "expected"),
    [
        pytest.param({"operationId": "QueryZone", "x-zstack": {"since": "1.0"}}, None, "QueryZone", id="plain"),
        pytest.param(
            {"operationId": "QueryZoneByUuid", "x-zstack": {"api": "QueryZone"}}, None, "QueryZone", id="short-form"
        ),
        pytest.param(
            {
                "operationId": "A|B",
                "x-zstack-operations": [{"operationId": "A", "bodyKey": "a"}, {"operationId": "B", "bodyKey": "b"}],
            },
            {"b": {}},
            "B",
            id="shared-picked-by-body-key",
        ),
        pytest.param(
            {
                "operationId": "A|B",
                "x-zstack-operations": [{"operationId": "A", "bodyKey": "a"}, {"operationId": "B", "bodyKey": "b"}],
            },
            {"a": {}, "b": {}},
            None,
            id="shared-two-keys-is-none",
        ),
    ],
)
def test_generated_case_finds_the_api_its_operation_stands_for(
    operation: dict[str, Any], body: Any, expected: str | None
) -> None:
    from zstack_contract.pytest.generated import api_name_for

    assert api_name_for(operation, body) == expected
