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
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import RegistrationError
from mimir.tools.framework.registry import Registry
from mimir.tools.framework.runner import ToolRunner

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


class _OneImage(BaseModel):
    image_index: int


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


def _ask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, question: str) -> dict:
    """A default ``mimir ask --json`` over two PNGs of different file sizes (the real CLI and registry)."""
    import json

    import numpy as np
    import typer
    from PIL import Image
    from typer.testing import CliRunner

    from mimir.agent import cli

    monkeypatch.setenv("MIMIR_DATA_DIR", str(tmp_path / "data"))
    rng = np.random.default_rng(0)
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(small)
    Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(large)
    app = typer.Typer()
    cli.register(app)
    app.command("version")(lambda: None)
    result = CliRunner().invoke(app, ["ask", "--json", "--images", str(large), str(small), question],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


QUESTION = "Which image has the larger file size?\nA: the first image\nB: the second image"


def test_declared_plugin_answers_through_default_ask(plugin_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _ask(tmp_path, monkeypatch, QUESTION)
    assert (answer["status"], answer["letter"]) == ("ok", "A")
    assert [s["tool"] for s in answer["steps"]] == ["file_size", "file_size"]
    sizes = [e["values"]["value"] for e in answer["evidence"]]
    assert sizes[0] > sizes[1] and answer["evidence"][0]["values"]["unit"] == "bytes"


def test_without_the_plugin_the_question_abstains_naming_the_capability(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _ask(tmp_path, monkeypatch, QUESTION)
    assert answer["status"] == "abstained" and answer["letter"] is None and not answer["steps"]
    assert "measures 'file size'" in answer["abstain_reason"]


def test_registration_refuses_a_declaration_the_tool_cannot_keep() -> None:
    from mimir.tools.framework.capabilities import measures, segments

    registry = Registry("t")

    def count(args: _OneImage, ctx: ToolContext) -> _Out:
        """Counts."""
        return _Out(y=args.image_index)

    def count_any(args: _In, ctx: ToolContext) -> _Out:
        """Counts without an image."""
        return _Out(y=args.x)

    with pytest.raises(RegistrationError, match="result model _Out lacks image_index, shape, measurements"):
        registry.tool(count, capabilities=(segments("lesion"),))
    with pytest.raises(RegistrationError, match="in field 'z'"):
        registry.tool(count, capabilities=(measures("count", field="z"),))
    with pytest.raises(RegistrationError, match="input model _In lacks image_index"):
        registry.tool(count_any, capabilities=(measures("count", field="y"),))
    registry.tool(count, capabilities=(measures("count", field="y"),))
    assert registry.get("count").declared(Settings())[0].field == "y"


def test_bundles_declare_their_capabilities_in_metadata(settings: Settings) -> None:
    registry = build_registry(settings, plugins=False)
    declared = {(c.kind, c.target, c.modalities, c.dims, c.arguments.get("expert"))
                for name in ("segment", "classify") for c in registry.get(name).declared(settings)}
    # 2D experts take slices, and volumes slice by slice
    assert ("segments", "brain tumour", ("MR",), (2, 3), "brain_mri_lesion_seg") in declared
    assert ("segments", "intracranial haemorrhage", ("CT",), (2, 3), "head_ct_haemorrhage_seg") in declared
    assert ("classifies", "sequence", ("MR",), (2, 3), "mr_sequence_classifier") in declared
    assert ("classifies", "laterality", ("OP",), (2, 3), "fundus_laterality_classifier") in declared
    described = registry.get("compare").describe(settings)
    assert described["capabilities"] == [{"kind": "compares_over_time", "target": "lesion size"}]
