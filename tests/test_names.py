"""Every module and every public class of mimir has a name no other one has.

Two modules called ``service`` or two classes called ``Change`` leave a reader to guess which one a
traceback, an import or a document means. A subpackage's ``base.py``, each part's ``cli.py`` and
``__init__.py`` are the only names that repeat, by convention.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("mimir", "agent", "tools", "memory", "prompts", "evals", "app", "results")
REPEATABLE = {"base", "cli", "__init__"}


def _sources() -> list[Path]:
    return sorted(p for part in PARTS for p in (ROOT / part).rglob("*.py")
                  if "migrations" not in p.parts and "node_modules" not in p.parts)


def _repeated(names: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: where for name, where in sorted(names.items()) if len(where) > 1}


def test_the_sources_are_found() -> None:
    files = _sources()
    assert len(files) > 200
    assert ROOT / "agent" / "graph.py" in files


def test_no_two_modules_share_a_name() -> None:
    modules: dict[str, list[str]] = defaultdict(list)
    for p in _sources():
        if p.stem not in REPEATABLE:
            modules[p.stem].append(str(p.relative_to(ROOT)))
    assert _repeated(modules) == {}


def test_no_two_public_classes_share_a_name() -> None:
    classes: dict[str, list[str]] = defaultdict(list)
    for p in _sources():
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                classes[node.name].append(str(p.relative_to(ROOT)))
    assert _repeated(classes) == {}
