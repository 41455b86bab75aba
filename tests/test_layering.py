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
