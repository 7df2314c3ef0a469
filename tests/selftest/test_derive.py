from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.selftest.conftest import REPO, SCHEMAS
from zstack_contract.specs.derive import (
    OVERLAY_KEYS,
    DeriveError,
    Overlay,
    OverlayError,
    _type_schema,
    derive_all,
    is_null_by_design,
    null_by_design,
    response_schema,
    stale_files,
)
from zstack_contract.specs.formats import is_gson_date
from zstack_contract.specs.spec import ApiSpec, Example, Field, load_spec

SPEC = load_spec(SCHEMAS / "GetDatabaseBackupFromImageStore" / "spec.json")


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param(Field("a", "String", True, ""), {"type": "string"}, id="String"),
        pytest.param(Field("a", "int", True, ""), {"type": "integer", "format": "int32"}, id="int"),
        pytest.param(Field("a", "Long", True, ""), {"type": "integer", "format": "int64"}, id="Long"),
        pytest.param(Field("a", "boolean", True, ""), {"type": "boolean"}, id="boolean"),
        pytest.param(Field("a", "double", True, ""), {"type": "number"}, id="double"),
        pytest.param(
            Field("a", "Timestamp", True, ""), {"type": "string", "format": "zstack-gson-date"}, id="Timestamp"
        ),
        pytest.param(Field("a", "LinkedHashMap", True, ""), {"type": "object"}, id="LinkedHashMap"),
        pytest.param(Field("a", "ErrorCode", True, ""), {"$ref": "#/$defs/ZStackErrorCode"}, id="ErrorCode"),
        pytest.param(Field("a", "List", True, ""), {"type": "array"}, id="List-untyped"),
    ],
)
def test_type_mapping(field: Field, expected: dict[str, object]) -> None:
    assert _type_schema("Api", field, "must", "#/$defs/", None) == expected


def test_unknown_type_is_a_derive_error() -> None:
    with pytest.raises(DeriveError, match="Api: field 'a' has type 'Gizmo'"):
        _type_schema("Api", Field("a", "Gizmo", True, ""), "must", "#/$defs/", None)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Reserved field. Default is null", True),
        ("The error code. If not null, the operation failed. This field is null on success.", True),
        ("The root error. This field is null if there is no root error", True),
        ("Image hash", False),
        ("If not null, the operation failed.", False),
    ],
)
def test_null_by_design(description: str, expected: bool) -> None:
    assert is_null_by_design(Field("f", "String", True, description)) is expected


@pytest.mark.parametrize(
    ("field", "in_error_code", "expected"),
    [
        # ErrorCode semantics, whatever the wording (QueryDatabaseBackup: "Reserved, null by default").
        pytest.param(Field("error", "ErrorCode", True, "See error"), False, True, id="error-any-wording"),
        pytest.param(Field("cause", "ErrorCode", True, "The error that caused this one"), True, True, id="cause"),
        pytest.param(Field("elaboration", "String", True, "Reserved, null by default"), True, True, id="elaboration"),
        pytest.param(Field("opaque", "LinkedHashMap", True, "Reserved"), True, True, id="opaque"),
        pytest.param(Field("location", "String", True, "Where"), True, True, id="other-error-member"),
        pytest.param(Field("code", "String", True, "Default is null"), True, False, id="code-never"),
        pytest.param(Field("details", "String", True, "Full error details"), True, False, id="details-never"),
        # Outside an ErrorCode only the page's wording counts.
        pytest.param(Field("opaque", "LinkedHashMap", True, "Reserved"), False, False, id="opaque-outside-error"),
        pytest.param(Field("x", "String", True, "Default is null"), False, True, id="wording-outside-error"),
    ],
)
def test_null_by_design_follows_zstack_semantics(field: Field, in_error_code: bool, expected: bool) -> None:
    assert null_by_design(field, in_error_code) is expected


def _spec(fields: tuple[Field, ...], example: str) -> ApiSpec:
    return ApiSpec(
        "Api",
        "t",
        "c",
        "g",
        "GET",
        "/zstack/v1/x",
        "1.0",
        True,
        True,
        (),
        200,
        "",
        fields,
        Example("curl x", 200, example),
        "",
        "x.txt",
        "0" * 64,
    )


ITEMS = Field(
    "items",
    "List",
    True,
    "",
    (Field("a", "String", True, ""), Field("b", "Long", True, ""), Field("c", "String", True, "Default is null")),
)


@pytest.mark.parametrize(
    ("level", "example", "top_required", "item_required"),
    [
        pytest.param("must", '{"items": [{"a": "x"}]}', ["items"], ["a"], id="must-follows-example"),
        pytest.param("must", '{"items": [{"a": "x", "b": 1}, {"a": "y"}]}', ["items"], ["a"], id="must-every-item"),
        # Not in the example, but the result key (the one field besides success/error): required anyway.
        pytest.param("must", "{}", ["items"], None, id="must-empty-example-result-key"),
        pytest.param("should", '{"items": [{"a": "x"}]}', ["items"], ["a", "b"], id="should-follows-required"),
    ],
)
def test_required_fields_per_level(
    level: str, example: str, top_required: list[str] | None, item_required: list[str] | None
) -> None:
    schema = response_schema(_spec((ITEMS,), example), level)
    assert schema.get("required") == top_required
    items = schema["properties"]["items"]
    list_schema = items if top_required else items["anyOf"][0]  # not required: nullable
    assert list_schema["items"].get("required") == item_required


@pytest.mark.parametrize(
    ("instance", "valid"),
    [
        ({"items": [{"a": "x", "b": 7995392}]}, True),
        ({"items": [{"a": "x", "b": 7995392.0}]}, True),  # integral float, as the doc generator prints
        ({"items": [{"a": "x", "b": 7995392.5}]}, False),
        ({"items": [{"a": "x", "b": "7995392"}]}, False),
        ({"items": [{"a": "x", "b": None}]}, True),  # present-but-null tolerated at must level
        ({"items": [{"a": None}]}, False),  # ...but not for a field the example shows
        ({"items": [{"b": 1}]}, False),
        ({"items": None}, False),
        ({"items": [], "success": True}, True),  # extra keys allowed
    ],
)
def test_must_schema_semantics(instance: object, valid: bool) -> None:
    schema = response_schema(_spec((ITEMS,), '{"items": [{"a": "x"}]}'), "must")
    assert Draft202012Validator(schema).is_valid(instance) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("Nov 14, 2017 10:20:57 PM", True),
        ("Nov 14, 2017, 10:20:57 PM", True),  # newer JDK: comma after the year
        ("Nov 14, 2017, 10:20:57\u202fPM", True),  # ...and U+202F before AM/PM
        ("Jan 1, 2020 1:02:03 AM", True),
        ("2017-11-14T22:20:57Z", False),
        ("Nov 31, 2017 10:20:57 PM", False),  # no such day
        ("Nov 14, 2017 13:20:57 PM", False),  # 12-hour clock
        ("Nov 14 2017 10:20:57 PM", False),
        ("1510669257141", False),
        ("Feb 29, 2020 12:00:00 AM", True),  # leap day; 12 AM is midnight
        ("Feb 29, 2019 12:00:00 PM", False),
        ("Nov 14, 2017 0:20:57 AM", False),  # the 12-hour clock has no hour 0
        ("Nov 14, 2017 10:60:57 PM", False),
        ("Dez 14, 2017 10:20:57 PM", False),  # German month name: Gson writes Locale.US
        ("Mai 14, 2017 10:20:57 PM", False),
        ("Nov 14, 2017 10:20:57 pm", False),
        ("Nov \u0661\u0664, 2017 10:20:57 PM", False),  # Arabic-Indic digits: int() reads them, Gson never writes them
        ("Nov 14, \uff12\uff10\uff11\uff17 10:20:57 PM", False),  # fullwidth digits
        ("Nov 14, 2017 10:20:57 PM\n", False),
    ],
)
def test_gson_date_format(value: str, valid: bool) -> None:
    assert is_gson_date(value) is valid


# Every English abbreviation whose German one differs (Mär, Mai, Okt, Dez), both halves of the day.
_LOCALE_PROBES = (
    "Mar 3, 2017 1:02:03 AM",
    "May 14, 2017 10:20:57 PM",
    "Oct 1, 2020, 9:00:00 AM",
    "Dec 24, 2019 11:59:59 PM",
)


@pytest.fixture(scope="module")
def german_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A de_DE.UTF-8 locale compiled into a temporary LOCPATH (machines often have only C/POSIX installed)."""
    localedef = shutil.which("localedef")
    if localedef is None or not Path("/usr/share/i18n/locales/de_DE").exists():
        pytest.skip("localedef or the de_DE locale source is missing (Debian: the locales package)")
    folder = tmp_path_factory.mktemp("locales")
    proc = subprocess.run(
        [localedef, "-i", "de_DE", "-f", "UTF-8", str(folder / "de_DE.UTF-8")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # localedef exits 1 on mere warnings; the compiled locale is what counts.
    if not (folder / "de_DE.UTF-8").exists():
        pytest.skip(f"localedef could not compile de_DE.UTF-8: {proc.stderr[-300:]}")
    return folder


def test_gson_date_ignores_the_process_locale(german_locale: Path) -> None:
    # A suite run on a German CI machine must judge Gson's (US) dates as it does anywhere else.
    code = (
        "import locale, sys\n"
        "locale.setlocale(locale.LC_ALL, 'de_DE.UTF-8')\n"
        "assert locale.nl_langinfo(locale.ABMON_12) == 'Dez', 'the locale did not take'\n"
        "from zstack_contract.specs.formats import is_gson_date\n"
        "print([is_gson_date(v) for v in sys.argv[1:]])\n"
    )
    env = {**os.environ, "LOCPATH": str(german_locale), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *_LOCALE_PROBES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str([True] * len(_LOCALE_PROBES))


def test_overlay_constraints_reach_the_request_schema() -> None:
    request = json.loads((SCHEMAS / "GetDatabaseBackupFromImageStore" / "request.schema.json").read_text())
    assert request["required"] == ["url"]
    assert request["properties"]["url"] == {"type": "string", "minLength": 1}
    port = request["properties"]["registryPort"]
    assert (port["type"], port["minimum"], port["maximum"], port["default"]) == ("integer", 1, 65535, 8000)
    assert request["properties"]["systemTags"]["items"] == {"type": "string"}


def test_missing_overlay_is_empty(tmp_path: Path) -> None:
    assert Overlay.load(tmp_path / "overlay.json") == Overlay.empty()


def _overlay(folder: Path, data: object) -> Path:
    path = folder / "overlay.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "named"),
    [
        pytest.param({"parameter": {"url": {"minLength": 1}}}, "'parameter'", id="misspelt-top-level"),
        pytest.param({"source": "s", "knownAlias": {}, "Parameters": {}}, "'Parameters', 'knownAlias'", id="two"),
        pytest.param({"knownAliases": {"infos": {"wirename": "backups"}}}, "'wirename'", id="misspelt-alias-key"),
    ],
)
def test_overlay_rejects_unknown_keys(tmp_path: Path, data: object, named: str) -> None:
    path = _overlay(tmp_path, data)
    with pytest.raises(OverlayError) as info:
        Overlay.load(path)
    message = str(info.value)
    assert str(path) in message
    assert f"unknown key{'s' if ',' in named else ''} {named}" in message
    known = ("wireName", "source") if named == "'wirename'" else OVERLAY_KEYS
    assert all(repr(k) in message for k in known)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "cannot read the overlay", id="not-json"),
        pytest.param("[]", "an overlay is a JSON object", id="list"),
        pytest.param('{"parameters": {"url": 1}}', "'parameters' maps each parameter name", id="parameters"),
        pytest.param('{"knownAliases": {"infos": {}}}', "needs 'wireName'", id="alias-without-name"),
        pytest.param('{"source": 3}', "'source' is text", id="source"),
    ],
)
def test_overlay_that_cannot_be_used_is_an_overlay_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "overlay.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OverlayError, match=message) as info:
        Overlay.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_committed_overlay_loads() -> None:
    overlay = Overlay.load(SCHEMAS / "GetDatabaseBackupFromImageStore" / "overlay.json")
    assert set(overlay.parameters) == {"url", "registryPort"}
    assert overlay.aliases["infos"]["wireName"] == "backups"


def test_overlay_constraint_for_an_unknown_parameter_is_an_error(tmp_path: Path) -> None:
    api = tmp_path / "GetDatabaseBackupFromImageStore"
    api.mkdir()
    shutil.copy(SCHEMAS / "GetDatabaseBackupFromImageStore" / "spec.json", api / "spec.json")
    path = _overlay(api, {"parameters": {"registyPort": {"minimum": 1}}})
    with pytest.raises(OverlayError) as info:
        derive_all(tmp_path)
    assert "'registyPort'" in str(info.value)
    assert "'registryPort'" in str(info.value)  # the names the spec does have
    assert str(path) in str(info.value)


def test_committed_schemas_are_what_the_specs_derive() -> None:
    stale = [str(p.relative_to(SCHEMAS)) for p in stale_files(SCHEMAS)]
    assert not stale, f"stale derived schemas {stale}: run python -m zstack_contract derive"


@pytest.mark.parametrize("hash_seed", ["0", "1", "4242"])
def test_derivation_reproduces_the_committed_bytes_in_a_fresh_process(tmp_path: Path, hash_seed: str) -> None:
    # The oracle is the committed files, written by earlier processes: a fresh interpreter with another set
    # order (PYTHONHASHSEED) must derive them byte for byte, through the command a developer runs.
    copy = tmp_path / "schemas"
    for source in (*SCHEMAS.glob("*/spec.json"), *SCHEMAS.glob("*/overlay.json")):
        target = copy / source.relative_to(SCHEMAS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "zstack_contract", "--schemas", str(copy), "derive"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    committed = {p.relative_to(SCHEMAS): p.read_bytes() for p in SCHEMAS.rglob("*.json")}
    derived = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*.json")}
    assert sorted(derived) == sorted(committed)
    assert [name for name in committed if derived[name] != committed[name]] == []


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*/*.schema.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_schema_is_valid_draft_2020_12(path: Path) -> None:
    Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_openapi_document_loads_in_schemathesis() -> None:
    import schemathesis
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_path(SCHEMAS / "openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    document = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
    expected = [(m.upper(), path) for path, item in document["paths"].items() for m in item]
    assert sorted((op.method.upper(), op.path) for op in operations) == sorted(expected)
    assert len(expected) == 15 + 3  # every API, plus the three Query APIs' short forms
