"""The package's folders follow the pipeline, and imports only run forwards along it.

doc pages -> ``specs`` -> ``generation`` (cases) -> ``transport`` (wire) -> ``engine`` (judgement) ->
``reporting`` -> ``pytest`` (the glue). ``settings``, ``cli`` and ``mock`` sit beside them. A module may import
its own stage and earlier ones, never a later one: a backward import is how a stage starts to know its users.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "zstack_contract"
STAGES = ("specs", "generation", "transport", "engine", "reporting", "pytest")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] in STAGES)


def _imported(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zstack_contract."):
            found.append((node.lineno, node.module))
            if node.module in {f"zstack_contract.{s}" for s in STAGES}:
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("zstack_contract.")]
    return found


def backward_imports(path: Path, package: Path = PACKAGE) -> list[str]:
    stage = STAGES.index(path.relative_to(package).parts[0])
    problems = []
    for line, module in _imported(path):
        parts = module.split(".")
        if len(parts) > 1 and parts[1] in STAGES and STAGES.index(parts[1]) > stage:
            problems.append(f"{path.relative_to(package.parent).as_posix()}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_forwards_along_the_pipeline(path: Path) -> None:
    assert backward_imports(path) == []


def test_a_backward_import_is_found(tmp_path: Path) -> None:
    fake = tmp_path / "zstack_contract"
    (fake / "specs").mkdir(parents=True)
    module = fake / "specs" / "bad.py"
    module.write_text("from zstack_contract.engine.findings import Finding\nfrom zstack_contract.specs import spec\n")
    assert backward_imports(module, fake) == ["zstack_contract/specs/bad.py:1 imports zstack_contract.engine.findings"]


def _code_strings(path: Path) -> list[str]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_library_code_does_not_know_the_repo_layout(path: Path) -> None:
    """Which test file checks what is declared by the tests (a family marker), not listed in the library."""
    known = [s for s in _code_strings(path) if "tests/contract" in s or s.startswith("test_")]
    assert known == []
