"""Tool registration: the documented example works as an entry-point plug-in; bad tools are refused."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.context import ToolContext
from mimir.tools.errors import RegistrationError
from mimir.tools.registry import Registry
from mimir.tools.runner import ToolRunner

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tools.md"


def _doc_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/tools.md must hold exactly one python example"
    return blocks[0]


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The docs example installed as a distribution with a ``mimir.tools`` entry point."""
    (tmp_path / "mimir_doc_example.py").write_text(_doc_example())
    dist = tmp_path / "mimir_doc_example-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mimir-doc-example\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mimir.tools]\ndoc-example = mimir_doc_example:toolset\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("mimir_doc_example", None)


def test_documented_example_is_a_working_plugin(plugin_dir: Path, settings: Settings) -> None:
    registry = build_registry(settings)
    assert "file_size" in registry
    assert "segment" in registry and "measure" in registry
    image = plugin_dir / "scan.bin"
    image.write_bytes(b"x" * 1234)
    runner = ToolRunner(registry, ToolContext(settings, images=[CaseImage(path=str(image))]))
    outcome = runner.call("file_size", {"image_index": 0})
    assert outcome.result.model_dump() == {"image_index": 0, "size_bytes": 1234}
    assert registry.get("file_size").description == "Size in bytes of one case image's file."


class _In(BaseModel):
    x: int


class _Out(BaseModel):
    y: int


def test_registration_refuses_missing_hints() -> None:
    registry = Registry("t")

    def untyped(args, ctx):  # type: ignore[no-untyped-def]
        """Has a docstring but no hints."""
        return _Out(y=1)

    with pytest.raises(RegistrationError, match="typed first parameter"):
        registry.tool(untyped)


def test_registration_refuses_missing_docstring() -> None:
    registry = Registry("t")

    def nodoc(args: _In, ctx: ToolContext) -> _Out:
        return _Out(y=args.x)

    with pytest.raises(RegistrationError, match="no docstring"):
        registry.tool(nodoc)


def test_registration_refuses_duplicate_names(settings: Settings) -> None:
    registry = build_registry(settings, plugins=False)

    def measure(args: _In, ctx: ToolContext) -> _Out:
        """A second tool called measure."""
        return _Out(y=args.x)

    with pytest.raises(RegistrationError, match="already registered"):
        registry.tool(measure)
