"""Loading a catalogue: files the deriver wrote are trusted as schemas, every other file is checked eagerly.

The metaschema check costs about 25 ms a file, and dominated collecting a 200-API catalogue (benchmarks/
catalogue.py); skipping it for the deriver's own output must not let a broken file through.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.selftest.conftest import SCHEMAS
from zstack_contract.specs.contract import ContractLoadError, load_catalog, load_contract
from zstack_contract.specs.derive import Overlay, OverlayError

API = "GetDatabaseBackupFromImageStore"
FILES = ("request.schema.json", "response.schema.json", "response.should.schema.json", "error.schema.json")


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The schema documents (not the overlay's constraint fragments) given to the metaschema check, in order."""
    seen: list[object] = []
    original = Draft202012Validator.check_schema.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Draft202012Validator], schema: object, /, *args: object, **kwargs: object) -> None:
        if isinstance(schema, dict) and "$schema" in schema:
            seen.append(schema)
        original(cls, schema, *args, **kwargs)

    monkeypatch.setattr(Draft202012Validator, "check_schema", classmethod(counting))
    return seen


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(SCHEMAS / API, tmp_path / API)
    return tmp_path / API


def test_the_deriver_s_own_files_skip_the_metaschema_check(checks: list[object]) -> None:
    catalog = load_catalog(SCHEMAS)
    assert len(catalog) == 15
    assert checks == []
    # Validators come without a second check, and still know ZStack's formats.
    api = next(a for a in catalog if a.name == API)
    body = api.spec.response_example_body
    assert api.response_validator.is_valid(body)
    iso = {"infos": [{**item, "created": "2017-11-14T22:20:57"} for item in body["infos"]]}
    assert not api.response_validator.is_valid(iso)
    assert checks == []


@pytest.mark.parametrize("name", FILES)
def test_an_edited_file_is_checked_and_a_broken_one_refused(tmp_path: Path, checks: list[object], name: str) -> None:
    folder = _copy(tmp_path)
    data = json.loads((folder / name).read_text(encoding="utf-8"))
    data["title"] = "edited by hand"
    (folder / name).write_text(json.dumps(data), encoding="utf-8")
    load_contract(folder)
    assert checks == [data]
    data["type"] = 5
    (folder / name).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ContractLoadError, match="not a valid JSON Schema") as info:
        load_contract(folder)
    assert str(folder / name) in str(info.value)


def test_a_stale_file_is_checked(tmp_path: Path, checks: list[object]) -> None:
    folder = _copy(tmp_path)
    overlay = json.loads((folder / "overlay.json").read_text(encoding="utf-8"))
    overlay["parameters"]["registryPort"]["maximum"] = 9999  # request.schema.json now differs from its derivation
    (folder / "overlay.json").write_text(json.dumps(overlay), encoding="utf-8")
    load_contract(folder)
    assert [c["title"] for c in checks if isinstance(c, dict)] == [f"{API} request parameters"]


def test_an_overlay_constraint_that_is_not_a_schema_is_an_overlay_error(tmp_path: Path) -> None:
    path = tmp_path / "overlay.json"
    path.write_text(json.dumps({"parameters": {"registryPort": {"minimum": "one", "source": "s"}}}), encoding="utf-8")
    with pytest.raises(OverlayError, match=r"parameters\.registryPort is not a set of JSON Schema keywords") as info:
        Overlay.load(path)
    assert str(path) in str(info.value)


def test_a_value_equal_in_python_but_not_in_json_is_not_taken_for_the_derivation(tmp_path: Path) -> None:
    # 1 == True in Python; "minimum": true is no JSON Schema, and must not pass for the derived "minimum": 1.
    folder = _copy(tmp_path)
    path = folder / "request.schema.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["properties"]["registryPort"]["minimum"] == 1
    data["properties"]["registryPort"]["minimum"] = True
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(ContractLoadError, match="not a valid JSON Schema"):
        load_contract(folder)


@pytest.mark.parametrize(
    ("api_name", "path", "own"),
    [
        ("QueryZone", "/zstack/v1/zones", True),
        ("QueryZone", "/zstack/v1/zones/0b9a7d4e2f1c4a6b8d3e5f7a9c1b2d4e", False),  # the short form: an alternate
        ("ValidateSession", "/zstack/v1/accounts/sessions/0b9a7d4e2f1c4a6b8d3e5f7a9c1b2d4e/valid", True),
        ("ValidateSession", "/zstack/v1/accounts/sessions/a/b/valid", False),
    ],
)
def test_own_path_fills_each_parameter_with_one_segment(api_name: str, path: str, own: bool) -> None:
    # Only a 404 on an API's own path makes it "not served" (a Query short form's 404 is query.uuid's).
    catalog = {contract.name: contract for contract in load_catalog(SCHEMAS)}
    assert catalog[api_name].is_own_path(path) is own
