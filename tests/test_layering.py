"""The parts import one way (docs/architecture.md): core (``mimir/``, the demo generator included)
imports nothing above it; memory imports only core; tools import memory and core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Folder -> the parts of mimir its modules may import (besides itself).
ALLOWED = {
    "mimir": {"mimir"},
    "memory": {"mimir", "memory"},
    "tools": {"mimir", "memory", "tools", "prompts"},
}
PARTS = {"memory", "tools", "agent", "evals", "app", "results", "prompts"}


def _imported_parts(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "mimir":
                found.add(parts[1] if len(parts) > 1 and parts[1] in PARTS else "mimir")
    return found


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_a_part_imports_nothing_above_it(folder: str) -> None:
    wrong = {str(p.relative_to(ROOT)): sorted(_imported_parts(p) - ALLOWED[folder])
             for p in (ROOT / folder).rglob("*.py")}
    assert {k: v for k, v in wrong.items() if v} == {}



def _changes_environment_at_import(path: Path) -> list[int]:
    """Lines of module-level statements (outside functions and classes) that change ``os.environ``."""
    lines = []
    for stmt in ast.parse(path.read_text()).body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(stmt):
            target = node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
                target = node.value
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.putenv", "os.unsetenv"):
                lines.append(node.lineno)
            elif target is not None and ast.unparse(target) == "os.environ" and (
                    not isinstance(node, ast.Call) or getattr(node.func, "attr", "") in ("setdefault", "update", "pop", "clear")):
                lines.append(node.lineno)
    return lines


def test_importing_a_module_leaves_the_environment_alone() -> None:
    folders = ("mimir", "agent", "tools", "memory", "prompts", "evals", "app", "results")
    found = {str(p.relative_to(ROOT)): _changes_environment_at_import(p) for f in folders for p in (ROOT / f).rglob("*.py")}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_environment_check_sees_a_change_at_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('import os\nos.environ.setdefault("X", "1")\nos.environ["Y"] = "2"\n'
                   'def fine() -> None:\n    os.environ["Z"] = "3"\n')
    assert _changes_environment_at_import(bad) == [2, 3]
