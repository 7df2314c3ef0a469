"""The committed contract of each API, loaded once: spec, overlay, derived schemas and their validators."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from zstack_contract.derive import Overlay, api_dirs
from zstack_contract.spec import ApiSpec, load_spec
from zstack_contract.validation import validator_for


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
    def response_validator(self) -> Draft202012Validator:
        return validator_for(self.response_schema)

    @cached_property
    def should_validator(self) -> Draft202012Validator:
        return validator_for(self.should_schema)

    @cached_property
    def error_validator(self) -> Draft202012Validator:
        return validator_for(self.error_schema)

    @cached_property
    def request_validator(self) -> Draft202012Validator:
        return validator_for(self.request_schema)

    @property
    def result_fields(self) -> list[str]:
        """The top-level fields the must schema requires: what a success must carry."""
        return list(self.response_schema.get("required", []))

    @property
    def is_read_only(self) -> bool:
        return self.spec.method == "GET"


def load_contract(api_dir: Path) -> ApiContract:
    def read(name: str) -> dict[str, Any]:
        path = api_dir / name
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{path} is missing: run 'python -m zstack_contract derive' to derive it from {api_dir / 'spec.json'}"
            ) from None
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
        if path.exists():
            digest.update(path.read_bytes())
    return ApiContract(
        spec=load_spec(api_dir / "spec.json"),
        overlay=Overlay.load(api_dir / "overlay.json"),
        request_schema=read("request.schema.json"),
        response_schema=read("response.schema.json"),
        should_schema=read("response.should.schema.json"),
        error_schema=read("error.schema.json"),
        digest=digest.hexdigest()[:12],
    )


def load_catalog(schemas_dir: Path) -> list[ApiContract]:
    """Every API under ``schemas_dir``; an empty folder is an error, not an empty (passing) suite."""
    dirs = api_dirs(schemas_dir)
    if not dirs:
        raise FileNotFoundError(
            f"no API specs under {schemas_dir}: import a doc page with "
            "'python -m zstack_contract import <page.txt>' or point --zstack-schemas at the schema folder"
        )
    return [load_contract(d) for d in dirs]
