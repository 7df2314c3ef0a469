"""The committed contract of each API, loaded once: spec, overlay, derived schemas and their validators."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from zstack_contract.specs.derive import (
    Correction,
    DeriveError,
    Overlay,
    OverlayError,
    api_dirs,
    corrected_spec,
    derive_files,
)
from zstack_contract.specs.formats import format_checker
from zstack_contract.specs.spec import ApiSpec, load_spec

T = TypeVar("T")


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # No metaschema check here: load_contract checked every schema it did not derive itself.
    return Draft202012Validator(schema, format_checker=format_checker())


@dataclass(frozen=True)
class ApiContract:
    spec: ApiSpec
    overlay: Overlay
    request_schema: dict[str, Any]
    response_schema: dict[str, Any]
    should_schema: dict[str, Any]
    error_schema: dict[str, Any]
    digest: str  # of the committed schema files, shown in the report header

    @property
    def name(self) -> str:
        return self.spec.operation_id

    @cached_property
    def wire(self) -> ApiSpec:
        """The page's facts with the overlay's corrections applied (``spec`` stays what the page says)."""
        return corrected_spec(self.spec, self.overlay)

    @property
    def auth_required(self) -> bool:
        """Whether the API needs a session (``@SuppressCredentialCheck`` APIs do not), corrected by the overlay."""
        return self.wire.auth_required

    @property
    def is_async(self) -> bool:
        """Whether the API answers 202 and runs as a job (the SDK's ``needPoll``), corrected by the overlay.

        The portal labels every API "Synchronous"; the overlay carries the SDK's fact where the page is wrong.
        """
        return not self.wire.sync

    @property
    def alternate_paths(self) -> tuple[str, ...]:
        """Further paths the API serves for its method (a Query API's short form), the page's plus the overlay's."""
        return self.wire.alternate_paths

    @property
    def corrections(self) -> tuple[Correction, ...]:
        """The page facts the overlay corrects, each with its source (each is also a doc finding)."""
        return self.overlay.corrections

    @cached_property
    def response_validator(self) -> Draft202012Validator:
        return _validator(self.response_schema)

    @cached_property
    def should_validator(self) -> Draft202012Validator:
        return _validator(self.should_schema)

    @cached_property
    def error_validator(self) -> Draft202012Validator:
        return _validator(self.error_schema)

    @cached_property
    def request_validator(self) -> Draft202012Validator:
        return _validator(self.request_schema)

    @property
    def result_fields(self) -> list[str]:
        """The top-level fields the must schema requires: what a success must carry."""
        return list(self.response_schema.get("required", []))

    @property
    def is_read_only(self) -> bool:
        return self.spec.method == "GET"

    @cached_property
    def _own_path(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(self.spec.path)) + "$")

    def is_own_path(self, path: str) -> bool:
        """Whether a request path is this API's own path (``{params}`` filled in), not one of its alternates."""
        return self._own_path.match(path) is not None

    @property
    def is_query(self) -> bool:
        """A ZStack Query API (protocol notes section 6): a GET whose result key is ``inventories``."""
        properties = self.response_schema.get("properties", {})
        return self.is_read_only and "inventories" in properties


class ContractLoadError(ValueError):
    """A committed contract file cannot be used; the message names the file and the problem."""


def _problem(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc})"
    if isinstance(exc, SchemaError):
        return f"not a valid JSON Schema (draft 2020-12): {exc.message} at {exc.json_path}"
    return f"{type(exc).__name__}: {exc}"


def _compact(data: Any) -> str:
    # The C encoder (no indent): a tenth of dump_json's cost, and as exact: 1, 1.0 and true stay apart.
    return json.dumps(data, ensure_ascii=False)


def _derived_texts(spec: ApiSpec, overlay: Overlay) -> dict[str, str]:
    """What the deriver makes of this API, to recognise committed files whose JSON is exactly its output."""
    try:
        return {name: _compact(schema) for name, schema in derive_files(spec, overlay).items()}
    except (DeriveError, OverlayError):
        return {}  # nothing is recognised: every file gets the full check


def load_contract(api_dir: Path) -> ApiContract:
    """Load and check every file of one API eagerly: a broken file is one clear error before any test runs.

    A schema file whose JSON is exactly what the deriver makes of the spec and overlay is valid by construction
    (the deriver's output is checked against the Draft 2020-12 metaschema by the self-tests, overlay constraints
    when the overlay loads); every other file (hand-edited, stale, from another version) is checked against the
    metaschema here. That check is the costly part of loading a big catalogue (about 25 ms a file).
    """
    spec: ApiSpec = parsed_file(api_dir / "spec.json", load_spec)
    overlay: Overlay = parsed_file(api_dir / "overlay.json", Overlay.load)
    derived = _derived_texts(spec, overlay)

    def read(name: str) -> dict[str, Any]:
        path = api_dir / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ContractLoadError(
                f"{path} is missing: run 'python -m zstack_contract derive' to derive it from {api_dir / 'spec.json'}"
            ) from None
        except (OSError, ValueError) as exc:
            raise ContractLoadError(f"{path}: {_problem(exc)}") from None
        if not isinstance(data, dict):
            raise ContractLoadError(f"{path}: expected a JSON object (a JSON Schema), got {type(data).__name__}")
        if _compact(data) != derived.get(name):
            try:
                # Eagerly: a schema that is not a schema would otherwise surface as a crash inside some test.
                Draft202012Validator.check_schema(data)
            except SchemaError as exc:
                raise ContractLoadError(f"{path}: {_problem(exc)}") from None
        return data

    digest = hashlib.sha256()
    for name in (
        "spec.json",
        "overlay.json",
        "request.schema.json",
        "response.schema.json",
        "response.should.schema.json",
        "error.schema.json",
    ):
        path = api_dir / name
        if path.is_file():
            digest.update(path.read_bytes())
    return ApiContract(
        spec=spec,
        overlay=overlay,
        request_schema=read("request.schema.json"),
        response_schema=read("response.schema.json"),
        should_schema=read("response.should.schema.json"),
        error_schema=read("error.schema.json"),
        digest=digest.hexdigest()[:12],
    )


def parsed_file(path: Path, load: Callable[[Path], T]) -> T:
    try:
        return load(path)
    # The spec and overlay loaders trust their input; any way they break is a broken file, named here.
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # A loader's own error that already names the file is clear as it is.
        problem = str(exc) if str(path) in str(exc) else f"{path}: {_problem(exc)}"
        raise ContractLoadError(problem) from None


def load_catalog(schemas_dir: Path) -> list[ApiContract]:
    """Every API under ``schemas_dir``; an empty folder is an error, not an empty (passing) suite."""
    if schemas_dir.exists() and not schemas_dir.is_dir():
        raise ContractLoadError(f"--zstack-schemas {schemas_dir} is a file: give the schema folder")
    dirs = api_dirs(schemas_dir)
    if not dirs:
        raise ContractLoadError(
            f"no API specs under {schemas_dir}: import a doc page with "
            "'python -m zstack_contract import <page.txt>' or point --zstack-schemas at the schema folder"
        )
    return [load_contract(d) for d in dirs]
