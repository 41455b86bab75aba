"""docs/tools.md's table of built-in tools lists exactly the tools build_registry registers."""

from __future__ import annotations

import re
from pathlib import Path

from mimir.settings import Settings
from mimir.tools import BUILTIN_TOOL_MODULES, build_registry

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tools.md"


def _documented_tools() -> list[str]:
    text = DOCS.read_text()
    table = text[text.index("| tool | what it does | declares |"):].split("\n\n")[0]
    return [name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])]


def test_docs_table_lists_every_registered_tool(settings: Settings) -> None:
    registered = [spec.name for spec in build_registry(settings, plugins=False)]
    assert len(registered) >= 9
    assert _documented_tools() == registered


def test_docs_name_only_module_lists_that_exist() -> None:
    import mimir.tools

    named = set(re.findall(r"`([A-Z_]+_MODULES)`", DOCS.read_text()))
    assert named == {"BUILTIN_TOOL_MODULES"} and all(hasattr(mimir.tools, n) for n in named)
    assert BUILTIN_TOOL_MODULES
