"""Overlay corrections: hand-kept facts (SDK needPoll, a Query API's short form) that correct what a page says.

Strict like every overlay key: an unknown fact, a correction without its source, a value of the wrong kind or a
correction that restates the page is an OverlayError naming the file. The committed overlays correct exactly the
facts the protocol notes (§5 family table) list, each with the source it was read from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.selftest.conftest import SCHEMAS
from zstack_contract.specs.contract import load_catalog
from zstack_contract.specs.derive import CORRECTABLE, Correction, Overlay, OverlayError, corrected_spec, derive_all
from zstack_contract.specs.spec import load_spec

# Protocol notes §5, family table; verified in the Java SDK's RestInfo blocks (needPoll = true).
ASYNC_APIS = (
    "CreateDatabaseBackup",
    "DeleteDatabaseBackup",
    "DeleteExportedDatabaseBackupFromBackupStorage",
    "ExportDatabaseBackupFromBackupStorage",
    "RecoverDatabaseFromBackup",
    "SyncDatabaseBackupFromImageStoreBackupStorage",
)
SHORT_FORM = ("QueryDatabaseBackup", "/zstack/v1/database-backups/{uuid}")


def _overlay(folder: Path, data: object) -> Path:
    path = folder / "overlay.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _load_error(tmp_path: Path, corrections: object) -> str:
    path = _overlay(tmp_path, {"corrections": corrections})
    with pytest.raises(OverlayError) as info:
        Overlay.load(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_a_correction_loads_with_its_value_and_source(tmp_path: Path) -> None:
    path = _overlay(tmp_path, {"corrections": {"sync": {"value": False, "source": "SDK needPoll = true"}}})
    overlay = Overlay.load(path)
    assert overlay.corrections == (Correction("sync", False, "SDK needPoll = true"),)
    assert overlay.corrected("sync") == Correction("sync", False, "SDK needPoll = true")
    assert overlay.corrected("authRequired") is None


def test_an_unknown_fact_names_the_file_and_the_known_facts(tmp_path: Path) -> None:
    message = _load_error(tmp_path, {"synchronous": {"value": False, "source": "s"}})
    assert "unknown key 'synchronous' in 'corrections'" in message
    assert all(repr(fact) in message for fact in CORRECTABLE)


def test_an_unknown_key_inside_a_correction_is_an_error(tmp_path: Path) -> None:
    message = _load_error(tmp_path, {"sync": {"value": False, "source": "s", "sauce": "x"}})
    assert "'sauce'" in message
    assert "corrections.sync" in message
    assert "'value', 'source'" in message


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"value": False}, id="no-source"),
        pytest.param({"value": False, "source": ""}, id="empty-source"),
        pytest.param({"value": False, "source": "  "}, id="blank-source"),
        pytest.param({"value": False, "source": 7}, id="source-not-text"),
    ],
)
def test_a_correction_without_a_source_is_an_error(tmp_path: Path, entry: dict[str, object]) -> None:
    assert "corrections.sync needs 'source'" in _load_error(tmp_path, {"sync": entry})


@pytest.mark.parametrize(
    ("corrections", "message"),
    [
        pytest.param({"sync": {"value": "false", "source": "s"}}, "sync.value must be true or false", id="str"),
        pytest.param({"sync": {"source": "s"}}, "corrections.sync.value must be", id="no-value"),
        pytest.param({"authRequired": {"value": 0, "source": "s"}}, "authRequired.value must be true", id="int"),
        pytest.param({"alternatePaths": {"value": "/x/{uuid}", "source": "s"}}, "a non-empty list", id="not-list"),
        pytest.param({"alternatePaths": {"value": [], "source": "s"}}, "a non-empty list", id="empty"),
        pytest.param({"alternatePaths": {"value": ["x/{uuid}"], "source": "s"}}, "starting with '/'", id="relative"),
        pytest.param({"sync": False}, "corrections.sync is an object", id="bare-value"),
        pytest.param([], "'corrections' maps each corrected page fact", id="list"),
    ],
)
def test_a_correction_of_the_wrong_kind_is_an_error(tmp_path: Path, corrections: object, message: str) -> None:
    assert message in _load_error(tmp_path, corrections)


@pytest.mark.parametrize(
    ("api_name", "corrections", "restated"),
    [
        pytest.param("QueryZone", {"sync": {"value": True, "source": "s"}}, "[True]", id="sync"),
        pytest.param("LogOut", {"authRequired": {"value": False, "source": "s"}}, "[False]", id="auth"),
        pytest.param(
            "QueryZone",
            {"alternatePaths": {"value": ["/zstack/v1/zones/{uuid}"], "source": "s"}},
            "['/zstack/v1/zones/{uuid}']",
            id="alternate-path",
        ),
    ],
)
def test_a_correction_that_restates_the_page_is_an_error(
    tmp_path: Path, api_name: str, corrections: object, restated: str
) -> None:
    folder = tmp_path / api_name
    folder.mkdir()
    shutil.copy(SCHEMAS / api_name / "spec.json", folder / "spec.json")
    path = _overlay(folder, {"corrections": corrections})
    with pytest.raises(OverlayError) as info:
        derive_all(tmp_path)
    assert str(path) in str(info.value)
    assert f"restates what the page already says ({restated})" in str(info.value)


@pytest.mark.parametrize("api_name", ASYNC_APIS)
def test_the_sdks_async_apis_are_corrected_with_the_sdk_as_source(api_name: str) -> None:
    spec = load_spec(SCHEMAS / api_name / "spec.json")
    overlay = Overlay.load(SCHEMAS / api_name / "overlay.json")
    assert spec.sync is True  # the portal labels every API Synchronous
    correction = overlay.corrected("sync")
    assert correction is not None
    assert correction.value is False
    assert f"{api_name}Action" in correction.source
    assert "needPoll = true" in correction.source
    assert corrected_spec(spec, overlay).sync is False


def test_only_the_sdks_async_apis_are_corrected_to_async() -> None:
    corrected = {
        d.name
        for d in SCHEMAS.iterdir()
        if (d / "overlay.json").is_file() and (c := Overlay.load(d / "overlay.json").corrected("sync")) and not c.value
    }
    assert corrected == set(ASYNC_APIS)


def test_query_database_backup_gains_the_short_form_the_page_lacks() -> None:
    api_name, short_form = SHORT_FORM
    spec = load_spec(SCHEMAS / api_name / "spec.json")
    overlay = Overlay.load(SCHEMAS / api_name / "overlay.json")
    assert spec.alternate_paths == ()
    correction = overlay.corrected("alternatePaths")
    assert correction is not None
    assert "optionalPaths" in correction.source
    assert corrected_spec(spec, overlay).alternate_paths == (short_form,)


@pytest.mark.parametrize(
    ("api_name", "auth_required"),
    [("LogInByAccount", False), ("LogOut", False), ("ValidateSession", False), ("GetVersion", False)]
    + [(api_name, True) for api_name in ("QueryZone", "QueryDatabaseBackup", "GetDatabaseBackupFromImageStore")],
)
def test_auth_required_comes_from_the_page_and_needs_no_correction(api_name: str, auth_required: bool) -> None:
    # @SuppressCredentialCheck APIs (protocol notes §2, §6): the pages say "No Auth Required" themselves.
    assert load_spec(SCHEMAS / api_name / "spec.json").auth_required is auth_required
    assert Overlay.load(SCHEMAS / api_name / "overlay.json").corrected("authRequired") is None


def test_the_get_database_backup_overlay_still_loads_with_its_constraints() -> None:
    overlay = Overlay.load(SCHEMAS / "GetDatabaseBackupFromImageStore" / "overlay.json")
    assert set(overlay.parameters) == {"url", "registryPort"}
    assert overlay.corrections == ()


# What the corrections change: the contract the suite codes against, and the committed openapi.json.

CATALOG = {api.name: api for api in load_catalog(SCHEMAS)}
DOCUMENT = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
SESSION_APIS = {"LogInByAccount", "LogOut", "ValidateSession", "GetVersion"}  # @SuppressCredentialCheck


def test_the_contract_knows_which_apis_are_async_and_need_auth() -> None:
    assert {name for name, api in CATALOG.items() if api.is_async} == set(ASYNC_APIS)
    assert {name for name, api in CATALOG.items() if not api.auth_required} == SESSION_APIS
    assert all(api.spec.sync for api in CATALOG.values())  # spec stays the page's word
    assert (
        CATALOG["CreateDatabaseBackup"].corrections
        == Overlay.load(SCHEMAS / "CreateDatabaseBackup" / "overlay.json").corrections
    )
    assert CATALOG["QueryZone"].corrections == ()


def test_the_contract_carries_the_short_form_the_page_lacks() -> None:
    api_name, short_form = SHORT_FORM
    assert CATALOG[api_name].alternate_paths == (short_form,)
    assert CATALOG["QueryZone"].alternate_paths == ("/zstack/v1/zones/{uuid}",)  # from the page itself


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in DOCUMENT["paths"].items()
        for method, op in item.items()
    }


def test_committed_openapi_document_passes_the_openapi_3_1_validator() -> None:
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)


@pytest.mark.parametrize("api_name", sorted(CATALOG))
def test_async_operations_document_the_202_first_answer(api_name: str) -> None:
    _, _, operation = _operations()[api_name]
    statuses = list(operation["responses"])
    assert operation["x-zstack"]["async"] is CATALOG[api_name].is_async
    if CATALOG[api_name].is_async:
        assert statuses[:2] == ["202", "200"]
        job = operation["responses"]["202"]["content"]["application/json"]["schema"]
        assert job == {"$ref": "#/components/schemas/ZStackAsyncJob"}
        assert DOCUMENT["components"]["schemas"]["ZStackAsyncJob"]["required"] == ["location", "apiTimeout"]
        (correction,) = operation["x-zstack"]["corrections"]
        assert (correction["fact"], correction["page"], correction["value"]) == ("sync", True, False)
        assert "needPoll = true" in correction["source"]
    else:
        # Prism answers with the first response: a GET's (and the session calls') stays the 200.
        assert statuses[0] == "200"
        assert "202" not in statuses


def test_query_database_backup_short_form_has_its_own_path_item() -> None:
    method, path, operation = _operations()["QueryDatabaseBackupByUuid"]
    assert (method, path) == ("GET", SHORT_FORM[1])
    assert operation["x-zstack"]["api"] == "QueryDatabaseBackup"
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["uuid"]
    assert next(iter(operation["responses"])) == "200"
    # DeleteDatabaseBackup shares the path with another method; neither overwrote the other.
    assert _operations()["DeleteDatabaseBackup"][:2] == ("DELETE", SHORT_FORM[1])
