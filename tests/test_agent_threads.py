"""Threads on the SQLite checkpointer: interrupts and resume, follow-ups, checkpoint size and content."""

from __future__ import annotations

import base64
import io
import sqlite3
from pathlib import Path

import pytest
from fixtures.agent_cases import CHANGE_OPTIONS, lesion_case
from fixtures.agent_tools import stand_in_registry
from PIL import Image

from mimir.agent.checkpoint import open_checkpointer
from mimir.agent.entry import Agent
from mimir.settings import Settings

AMBIGUOUS = "Which sequence is the other image?\nA: T1\nB: T2\nC: FLAIR\nD: T1C"


@pytest.fixture
def agent(settings: Settings) -> Agent:
    return Agent(settings, registry=stand_in_registry(), checkpointer=open_checkpointer(settings))


def test_ambiguous_reference_interrupts_and_resumes(agent: Agent, tmp_path: Path) -> None:
    case = lesion_case(tmp_path, [6, 6, 6], AMBIGUOUS, sequences=["T1", "FLAIR", "T2"])
    events = list(agent.stream(case, thread_id="t-amb"))
    assert events[-1].kind == "interrupt"
    assert [c["image_indices"] for c in events[-1].data["candidates"]] == [[0], [1], [2]]
    assert not any(e.kind == "tool_started" for e in events)  # nothing ran before the question was settled
    resumed = list(agent.resume("t-amb", 1))
    final = resumed[-1]
    assert final.kind == "answer" and final.data["answer"]["letter"] == "C"  # image 2 is the FLAIR
    assert [s["tool"] for s in final.data["answer"]["steps"]] == ["classify"]


def test_batch_applies_the_policy_and_never_waits(agent: Agent, tmp_path: Path) -> None:
    """'the other image' among three has no preferred reading: batch mode abstains naming it, never guesses."""
    case = lesion_case(tmp_path, [6, 6, 6], AMBIGUOUS, sequences=["T1", "FLAIR", "T2"])
    answer = agent.answer(case, thread_id="t-batch", batch=True)
    assert answer.letter is None and "the other image" in (answer.abstain_reason or "")
    assert len(answer.policy_notes) == 1 and "left unbound" in answer.policy_notes[0]
    preferred = lesion_case(tmp_path, [6, 6, 6], "Which sequence is the last image?\nA: T1\nB: T2\nC: FLAIR\nD: T1C",
                            sequences=["T1", "FLAIR", "T2"])
    assert agent.answer(preferred, thread_id="t-batch-2", batch=True).letter == "B"


def test_bad_resume_choice_is_refused(agent: Agent, tmp_path: Path) -> None:
    case = lesion_case(tmp_path, [6, 6], "Which sequence is the other image?\nA: T1\nB: T2", sequences=["T1", "T2"])
    assert list(agent.stream(case, thread_id="t-bad"))[-1].kind == "interrupt"
    with pytest.raises(ValueError, match="not one of the candidates"):
        list(agent.resume("t-bad", 7))


def test_follow_up_reuses_the_thread(agent: Agent, tmp_path: Path) -> None:
    q = "What sequence is the second image?\nA: T1\nB: T2\nC: FLAIR\nD: T1C"
    case = lesion_case(tmp_path, [6, 6, 6], q, sequences=["T1", "FLAIR", "T2"])
    first = agent.answer(case, thread_id="t-follow")
    follow = agent.answer(case.model_copy(update={"question": "and the third image?"}), thread_id="t-follow")
    again = agent.answer(case.model_copy(update={"question": "and the second image?"}), thread_id="t-follow")
    assert (first.letter, follow.letter, again.letter) == ("C", "B", "C")
    assert again.steps == []  # the earlier classification of image 2 is reused from the thread
    assert len(agent.state("t-follow")["records"]) == 2


def test_follow_up_names_its_image_in_any_words_the_reference_grammar_reads(agent: Agent, tmp_path: Path) -> None:
    q = "What sequence is image 3?\nA: T1\nB: T2\nC: FLAIR\nD: T1C"
    case = lesion_case(tmp_path, [6, 6, 6], q, sequences=["T1", "FLAIR", "T2"])
    assert agent.answer(case, thread_id="t-words").letter == "B"
    follow = agent.answer(case.model_copy(update={"question": "and the penultimate scan?"}), thread_id="t-words")
    assert follow.letter == "C"


def _checkpoint_blobs(settings: Settings, thread_id: str) -> tuple[int, bytes]:
    con = sqlite3.connect(settings.checkpoint_url)
    rows = con.execute("SELECT checkpoint, metadata FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchall()
    writes = con.execute("SELECT value FROM writes WHERE thread_id = ?", (thread_id,)).fetchall()
    con.close()
    latest = max(len(c) + len(m) for c, m in rows)
    return latest, b"".join(bytes(c) + bytes(m) for c, m in rows) + b"".join(bytes(w[0]) for w in writes)


def test_three_image_checkpoint_is_small_and_pixel_free(agent: Agent, tmp_path: Path, settings: Settings) -> None:
    case = lesion_case(tmp_path, [10, 13, 16], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS)
    assert agent.answer(case, thread_id="t-size").letter == "A"
    latest, everything = _checkpoint_blobs(settings, "t-size")
    assert 0 < latest < 64 * 1024
    for path in (Path(i.path) for i in case.images):
        raw = path.read_bytes()
        assert raw[8:64] not in everything  # no PNG bytes
        assert base64.b64encode(raw)[:64] not in everything  # no base64 of them
        pixels = Image.open(io.BytesIO(raw)).tobytes()
        assert pixels[48 * 96: 48 * 96 + 64] not in everything  # no raw pixel rows
    assert b"data:image" not in everything and b"iVBORw0KGgo" not in everything


def test_attribute_mentions_are_left_to_the_classifiers(agent: Agent, tmp_path: Path) -> None:
    q = "Which image is the FLAIR?\nA: the first image\nB: the second image"
    events = list(agent.stream(lesion_case(tmp_path, [6, 6], q, sequences=["T2", "FLAIR"]), thread_id="t-attr"))
    assert not any(e.kind == "interrupt" for e in events)
    assert events[-1].kind == "answer" and events[-1].data["answer"]["letter"] == "B"
    kinds = [e.kind for e in events]
    assert kinds.index("tool_started") < kinds.index("tool_result") < kinds.index("answer")


def test_interactive_answer_raises_awaiting_choice(agent: Agent, tmp_path: Path) -> None:
    from mimir.agent.entry import AwaitingChoice

    case = lesion_case(tmp_path, [6, 6, 6], AMBIGUOUS, sequences=["T1", "FLAIR", "T2"])
    with pytest.raises(AwaitingChoice) as info:
        agent.answer(case, batch=False)
    assert len(info.value.question["candidates"]) == 3
    assert list(agent.resume(info.value.thread_id, 2))[-1].data["answer"]["letter"] == "B"


def test_tool_result_events_carry_the_whole_step(agent: Agent, tmp_path: Path) -> None:
    q = "Which image is the FLAIR?\nA: the first image\nB: the second image"
    events = list(agent.stream(lesion_case(tmp_path, [6, 6], q, sequences=["T2", "FLAIR"])))
    results = [e for e in events if e.kind == "tool_result"]
    assert sorted(tuple(e.data["image_indices"]) for e in results) == [(0,), (1,)]
    assert all(e.tool == "classify" and e.data["arguments"]["expert"] == "mr_sequence_classifier"
               and e.data["tool_run_id"] for e in results)
