"""The llm planner's ReAct loop with a scripted tool-calling model (see fixtures/agent_fake_llm.py)."""

from __future__ import annotations

from pathlib import Path

from fixtures.agent_cases import CHANGE_OPTIONS, lesion_case
from fixtures.agent_fake_llm import ScriptedToolModel
from fixtures.agent_tools import stand_in_registry
from langchain_core.messages import AIMessage, ToolMessage

from mimir.agent.entry import Agent
from mimir.agent.planners.llm import LLMPlanner
from mimir.settings import Settings


def _call(name: str, args: dict, cid: str) -> dict:
    return {"name": name, "args": args, "id": cid, "type": "tool_call"}


def _agent(settings: Settings, script: list[AIMessage]) -> tuple[Agent, ScriptedToolModel]:
    model = ScriptedToolModel(responses=script, seen=[])
    return Agent(settings, registry=stand_in_registry(), planner=LLMPlanner(model)), model


def test_bad_argument_returns_to_the_model_as_a_retry_message(settings: Settings, tmp_path: Path) -> None:
    script = [
        AIMessage("", tool_calls=[_call("segment", {"image_index": "first"}, "c1")]),
        AIMessage("", tool_calls=[_call("segment", {"image_index": 0}, "c2"), _call("segment", {"image_index": 1}, "c3")]),
        AIMessage("The lesion grew from 314 to 616 mm2.\nANSWER: A"),
    ]
    agent, model = _agent(settings, script)
    answer = agent.answer(lesion_case(tmp_path, [10, 14], "How has the lesion changed on MRI?" + CHANGE_OPTIONS))
    retry = [m for m in model.seen[1] if isinstance(m, ToolMessage)]
    assert len(retry) == 1 and retry[0].status == "error" and retry[0].tool_call_id == "c1"
    assert "image_index" in str(retry[0].content) and "fix" in str(retry[0].content).lower()
    assert set(model.bound_tools) == {"segment", "classify", "compare"}
    results = [m for m in model.seen[2] if isinstance(m, ToolMessage) and m.status != "error"]
    assert [m.tool_call_id for m in results] == ["c2", "c3"] and '"enhancing"' in str(results[0].content)
    assert (answer.status, answer.letter) == ("ok", "A")
    assert [s.status for s in answer.steps] == ["bad_arguments", "ok", "ok"]
    assert all(s.tool_run_id for s in answer.steps[1:]) and len(answer.evidence) == 2


def test_tool_that_cannot_handle_the_input_is_reported_to_the_model(settings: Settings, tmp_path: Path) -> None:
    script = [AIMessage("", tool_calls=[_call("segment", {"image_index": 0, "expert": "head_ct_haemorrhage_seg"}, "c1")]),
              AIMessage("ABSTAIN: no expert could segment this image.")]
    agent, model = _agent(settings, script)
    answer = agent.answer(lesion_case(tmp_path, [10, 14], "How has the lesion changed?" + CHANGE_OPTIONS))
    told = [m for m in model.seen[1] if isinstance(m, ToolMessage)][0]
    assert "cannot handle" in str(told.content)
    assert answer.status == "abstained" and answer.letter is None and "no expert" in (answer.abstain_reason or "")


def test_tool_fault_is_a_failed_step_and_the_answer_names_the_tool(settings: Settings, tmp_path: Path) -> None:
    from fixtures.agent_tools import broken_segmenter_registry

    reg = broken_segmenter_registry()
    script = [AIMessage("", tool_calls=[_call("segment", {"image_index": 0}, "c1")]),
              AIMessage("The lesion probably grew.\nANSWER: A")]  # a guess written after the fault
    model = ScriptedToolModel(responses=script, seen=[])
    answer = Agent(settings, registry=reg, planner=LLMPlanner(model)).answer(
        lesion_case(tmp_path, [10, 14], "How has the lesion changed on MRI?" + CHANGE_OPTIONS))
    told = [m for m in model.seen[1] if isinstance(m, ToolMessage)][0]
    assert told.status == "error" and "RuntimeError: dictionary changed size" in str(told.content)
    assert [s.status for s in answer.steps] == ["failed"]
    assert "RuntimeError: dictionary changed size" in answer.steps[0].summary
    assert answer.status == "tool_failed" and answer.letter is None
    assert "the tool segment failed (RuntimeError: dictionary changed size" in (answer.abstain_reason or "")


def test_the_model_reads_the_system_prompt_from_the_prompts_file(settings: Settings, tmp_path: Path) -> None:
    import yaml
    from langchain_core.messages import SystemMessage

    from mimir.agent.planners.llm import system_prompt

    agent, model = _agent(settings, [AIMessage("ABSTAIN: nothing to measure.")])
    agent.answer(lesion_case(tmp_path, [10, 14], "How has the lesion changed?" + CHANGE_OPTIONS))
    first = model.seen[0][0]
    shipped = yaml.safe_load((Path(__file__).resolve().parents[1] / "prompts" / "planner.yaml").read_text())["system"]
    assert isinstance(first, SystemMessage) and first.content == system_prompt() == shipped.strip()
    assert "never guess" in first.content


def test_step_limit_ends_the_loop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", planner_max_steps=2).ensure_dirs()
    loop = [AIMessage("", tool_calls=[_call("classify", {"image_index": 0}, f"c{i}")]) for i in range(5)]
    agent, model = _agent(settings, loop)
    answer = agent.answer(lesion_case(tmp_path, [10, 14], "What sequence is image 1?\nA: T1\nB: T1C"))
    assert len(model.seen) == 2 and answer.status == "abstained" and "steps" in (answer.abstain_reason or "")


def test_json_plan_mode_for_servers_without_tool_calling(settings: Settings, tmp_path: Path) -> None:
    def plan(**args: object) -> AIMessage:
        return AIMessage("", tool_calls=[_call("JsonStep", dict(args), "p")])

    script = [plan(calls=[{"tool": "classify", "args": {"image_index": 0}}, {"tool": "classify", "args": {"image_index": 1}}]),
              plan(final="ANSWER: B")]
    model = ScriptedToolModel(responses=script, seen=[])
    agent = Agent(settings, registry=stand_in_registry(), planner=LLMPlanner(model, tool_calling=False))
    case = lesion_case(tmp_path, [6, 6], "Which image is the FLAIR?\nA: the first image\nB: the second image",
                       sequences=["T2", "FLAIR"])
    answer = agent.answer(case)
    assert [s.tool for s in answer.steps] == ["classify", "classify"] and answer.letter == "B"
    second_prompt = str(model.seen[1][-1].content)
    assert '"label": "FLAIR"' in second_prompt and '"label": "T2"' in second_prompt  # results reach the model


def test_malformed_tool_call_is_sent_back_then_a_good_one_runs(settings: Settings, tmp_path: Path) -> None:
    # what vLLM's hermes parser returns when the arguments are not JSON: the markup left as text
    malformed = AIMessage('<tool_call> {"name": "segment", "arguments": {"image_index": </tool_call>')
    script = [malformed, AIMessage("", tool_calls=[_call("segment", {"image_index": 0}, "c1")]),
              AIMessage("ABSTAIN: one image is not enough.")]
    agent, model = _agent(settings, script)
    answer = agent.answer(lesion_case(tmp_path, [10, 14], "How has the lesion changed?" + CHANGE_OPTIONS))
    assert "could not be parsed" in str(model.seen[1][-1].content) and model.seen[1][-2] == malformed
    assert [s.tool for s in answer.steps] == ["segment"] and answer.status == "abstained"


def test_malformed_tool_calls_that_persist_end_in_an_abstention(settings: Settings, tmp_path: Path) -> None:
    from mimir.agent.nodes.llm_loop import MALFORMED_RETRIES

    bad = AIMessage("", invalid_tool_calls=[{"name": "segment", "args": "{'image_index'", "id": "c1",
                                              "error": "not JSON", "type": "invalid_tool_call"}])
    agent, model = _agent(settings, [bad] * (MALFORMED_RETRIES + 1))
    answer = agent.answer(lesion_case(tmp_path, [10, 14], "How has the lesion changed?" + CHANGE_OPTIONS))
    assert len(model.seen) == MALFORMED_RETRIES + 1 and answer.status == "abstained"
    assert "could not be parsed" in (answer.abstain_reason or "") and "not JSON" in (answer.abstain_reason or "")
