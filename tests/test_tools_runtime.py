"""The runner, its cache and the LangChain adapter as LangGraph's ToolNode uses them."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pydicom.data
import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.framework.adapters import to_langchain
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolUnavailable
from mimir.tools.framework.registry import Registry
from mimir.tools.framework.runner import ToolRunner

TIMEPOINTS = [{"timepoint": "2024-01", "sum_diameters_mm": 50}, {"timepoint": "2024-06", "sum_diameters_mm": 30}]


class _Args(BaseModel):
    image_index: int = Field(description="Image")


class _Out(BaseModel):
    n: int


def _registry(settings: Settings, calls: list[int]) -> Registry:
    registry = build_registry(settings, plugins=False)

    @registry.tool
    def count_calls(args: _Args, ctx: ToolContext) -> _Out:
        """Counts how often it really runs."""
        calls.append(args.image_index)
        return _Out(n=len(calls))

    @registry.tool
    def broken(args: _Args, ctx: ToolContext) -> _Out:
        """Always fails with a bug."""
        raise RuntimeError("a bug in the tool")

    @registry.tool(availability=lambda s: "weights missing in /nowhere")
    def needs_weights(args: _Args, ctx: ToolContext) -> _Out:
        """Never available."""
        raise AssertionError("must not run")

    return registry


@pytest.fixture
def ct(tmp_path: Path) -> Path:
    """pydicom's real CT slice, copied."""
    p = tmp_path / "ct.dcm"
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), p)
    return p


def test_in_memory_cache_follows_file_content(settings: Settings, ct: Path) -> None:
    calls: list[int] = []
    runner = ToolRunner(_registry(settings, calls), ToolContext(settings, images=[CaseImage(path=str(ct))]))
    first, second = runner.call("count_calls", {"image_index": 0}), runner.call("count_calls", {"image_index": 0})
    assert calls == [0] and second.cached and second.tool_run_id == first.tool_run_id
    ct.write_bytes(ct.read_bytes() + b"\0")  # different content, same path: runs again
    assert not runner.call("count_calls", {"image_index": 0}).cached
    assert calls == [0, 0]


def test_unavailable_tool_says_why(settings: Settings, ct: Path) -> None:
    runner = ToolRunner(_registry(settings, []), ToolContext(settings, images=[CaseImage(path=str(ct))]))
    with pytest.raises(ToolUnavailable, match="weights missing in /nowhere"):
        runner.call("needs_weights", {"image_index": 0})


def _node(settings: Settings, ct: Path) -> ToolNode:
    runner = ToolRunner(_registry(settings, []), ToolContext(settings, images=[CaseImage(path=str(ct))]))
    return ToolNode([to_langchain(spec, runner) for spec in runner.registry])


def _call(node: ToolNode, name: str, args: dict[str, object]) -> ToolMessage:
    """Run one tool call through a one-node LangGraph graph, as the planner's graph does."""
    graph = StateGraph(MessagesState)
    graph.add_node("tools", node)
    graph.add_edge(START, "tools")
    msg = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": "c1", "type": "tool_call"}])
    out = graph.compile().invoke({"messages": [msg]})
    return out["messages"][-1]


def test_tool_node_gets_compact_content_and_artifact(settings: Settings, ct: Path) -> None:
    message = _call(_node(settings, ct), "compare", {"timepoints": TIMEPOINTS})
    content = json.loads(message.content)
    assert content["changes"][0]["category"] == "PR" and "findings" not in content
    assert message.artifact["tool_run_id"] == content["tool_run_id"] == 1


def test_tool_node_returns_argument_and_cannot_handle_errors_as_messages(settings: Settings, ct: Path) -> None:
    node = _node(settings, ct)
    bad = _call(node, "compare", {"timepoints": TIMEPOINTS[:1]})
    assert bad.status == "error" and "at least 2" in bad.content
    out_of_range = _call(node, "measure", {"image_index": 5, "mask_path": "x.nii.gz"})
    assert out_of_range.status == "error" and "image_index 5 is out of range" in out_of_range.content
    cannot = _call(node, "measure", {"image_index": 0, "mask_path": str(ct.parent / "missing.nii.gz")})
    assert cannot.status == "error" and "cannot handle this input" in cannot.content
    assert "missing.nii.gz does not exist" in cannot.content


def test_tool_node_records_a_fault_as_a_failed_call_with_its_error(settings: Settings, ct: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    from mimir.tools.framework.adapters import error_status

    with caplog.at_level(logging.ERROR, logger="mimir.tools.framework.adapters"):
        failed = _call(_node(settings, ct), "broken", {"image_index": 0})
    assert failed.status == "error" and error_status(str(failed.content)) == "failed"
    assert "RuntimeError: a bug in the tool" in failed.content and "do not guess" in failed.content
    assert "Traceback" in caplog.text and "a bug in the tool" in caplog.text  # the fault stays visible
    unavailable = _call(_node(settings, ct), "needs_weights", {"image_index": 0})
    assert error_status(str(unavailable.content)) == "unavailable" and "weights missing" in unavailable.content


def test_cli_lists_and_runs_tools(settings: Settings, ct: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from mimir.tools.cli import register

    app = typer.Typer()
    register(app)
    monkeypatch.setenv("MIMIR_DATA_DIR", str(settings.data_dir))
    listed = CliRunner().invoke(app, ["tools", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    by_name = {t["name"]: t for t in json.loads(listed.stdout)}
    assert by_name["measure"]["available"] and "image_index" in json.dumps(by_name["measure"]["input_schema"])
    case = ct.parent / "case.json"
    case.write_text(json.dumps({"question": "q", "images": [{"path": ct.name}]}))
    args = json.dumps({"timepoints": TIMEPOINTS})
    runs = [CliRunner().invoke(app, ["tools", "run", "compare", "--case", str(case), "--args", args, "--json"])
            for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["result"]["changes"][0]["category"] == "PR" and second["cached"] is True
    bad = CliRunner().invoke(app, ["tools", "run", "compare", "--case", str(case), "--args", "{}"])
    assert bad.exit_code == 2 and "timepoints" in bad.output


def test_recording_a_key_twice_keeps_one_tool_run(settings: Settings) -> None:
    from sqlalchemy import func, select

    from mimir.memory.db import open_database
    from mimir.memory.models import ToolRun
    from mimir.tools.framework.cache import SessionStore, StoredRun

    db = open_database(settings)

    def run() -> StoredRun:
        return StoredRun(id=0, tool="compare", version="1", cache_key="k" * 64, arguments={}, output={"a": 1},
                         artifacts=[], duration_s=0.1)

    with db.session() as s:
        first = SessionStore(s).record(run(), None)
    with db.session() as s:  # e.g. a parallel call that missed the lookup
        assert SessionStore(s).record(run(), None) == first
        assert s.scalar(select(func.count()).select_from(ToolRun)) == 1


def test_tool_runs_do_not_hold_a_database_connection(settings: Settings, ct: Path) -> None:
    """Parallel tool calls, each with its own timeline session, share a pool of one connection.

    A session that held its connection while its tool ran would starve the other call's cache lookup
    (the pool times out); the runner hands the connection back before the tool runs.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine

    from mimir.memory.db import open_database

    db = open_database(settings)
    db.engine = create_engine(db.url, pool_size=1, max_overflow=0, pool_timeout=3)
    db._factory.configure(bind=db.engine)
    both_running = threading.Barrier(2, timeout=10)
    registry = build_registry(settings, plugins=False)

    @registry.tool
    def waits_for_the_other(args: _Args, ctx: ToolContext) -> _Out:
        """Runs only while the other call's tool runs too."""
        both_running.wait()
        return _Out(n=args.image_index)

    def call(i: int) -> int:
        with db.session() as s:
            ctx = ToolContext(settings, images=[CaseImage(path=str(ct), modality="CT")] * 2, session=s)
            return ToolRunner(registry, ctx).call("waits_for_the_other", {"image_index": i}).result.n  # type: ignore[attr-defined]

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(call, [0, 1])) == [0, 1]
