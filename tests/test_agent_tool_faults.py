"""The rules planner's side of the tool-error policy (docs/tools.md, "Errors"): a fault is a failed
step, and an abstention it caused names the tool and its error instead of only the fallback's reason."""

from __future__ import annotations

from pathlib import Path

from fixtures.agent_cases import CHANGE_OPTIONS, lesion_case
from fixtures.agent_tools import broken_segmenter_registry, stand_in_registry

from mimir.agent.entry import Agent
from mimir.settings import Settings


def test_a_fault_makes_a_tool_failed_answer_that_names_the_tool(settings: Settings, tmp_path: Path) -> None:
    answer = Agent(settings, registry=broken_segmenter_registry()).answer(
        lesion_case(tmp_path, [5, 8], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS))
    assert answer.status == "tool_failed" and answer.letter is None
    reason = answer.abstain_reason or ""
    assert reason.startswith("the tool segment failed (RuntimeError: dictionary changed size during iteration)")
    assert "the tool segment failed" in answer.text
    assert [s.status for s in answer.steps] == ["failed", "failed"]


def test_an_abstention_without_a_fault_stays_an_abstention(settings: Settings, tmp_path: Path) -> None:
    q = "How has the haemorrhage changed on these CT scans?" + CHANGE_OPTIONS  # declared, but every call refused
    answer = Agent(settings, registry=stand_in_registry(refuses_ct=True)).answer(lesion_case(tmp_path, [5, 8], q))
    assert answer.status == "abstained" and "failed" not in (answer.abstain_reason or "")
