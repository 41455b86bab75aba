"""``mimir ask``: answer a question about several images, showing each step live."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from mimir.domain import Answer, Case, Event
    from mimir.settings import Settings


def ask(
    args: list[str] = typer.Argument(None, help="The question; with --images: image paths or ids, then the question"),
    case_file: Path | None = typer.Option(None, "--case", exists=True, dir_okay=False, help="Case JSON file"),
    patient: str | None = typer.Option(None, "--patient", help="Patient id in the timeline"),
    images: bool = typer.Option(False, "--images", help="The arguments are images (paths or timeline ids), then the question"),
    planner: Literal["rules", "llm"] | None = typer.Option(None, "--planner", help="Default: rules, or MIMIR_PLANNER"),
    thread: str | None = typer.Option(None, "--thread", help="Thread id: follow-up questions reuse its results"),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON (no live events, batch policy)"),
) -> None:
    """Answer a question about several images, or about a patient's timeline, showing each step live.

    ``mimir ask --case CASE.json``, ``mimir ask --patient ID --images A B ... "question"``, or
    ``mimir ask --patient ID "has the tumour grown since the prior?"`` (the studies come from the timeline).
    """
    from mimir.agent.entry import Agent
    from mimir.output import emit, fail
    from mimir.settings import Settings

    settings = (Settings(planner=planner) if planner else Settings()).ensure_dirs()
    try:
        case = _case(settings, case_file, patient, images, args or [])
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    agent = Agent(settings)
    if as_json:
        emit(agent.answer(case, thread_id=thread, batch=True), as_json=True)
        return
    _live(agent, case, thread)


def _case(settings: Settings, case_file: Path | None, patient: str | None, images: bool, args: list[str]) -> Case:
    from mimir.domain import Case, CaseImage

    if case_file is not None:
        case = Case.load(case_file)
        return case.model_copy(update={"patient_id": patient or case.patient_id})
    if patient is not None and not images and args:
        return Case(question=" ".join(args), patient_id=patient)
    if not images or len(args) < 2:
        raise ValueError('Give --case CASE.json, --images A B ... "question", or --patient ID "question"')
    *refs, question = args
    return Case(question=question, images=[CaseImage(path=_image_path(settings, r)) for r in refs], patient_id=patient)


def _image_path(settings: Settings, ref: str) -> str:
    """A file path, or the stored path of a timeline image id."""
    if Path(ref).is_file():
        return str(Path(ref).resolve())
    if ref.isdigit():
        from mimir.memory.db import open_database
        from mimir.memory.models import Image

        with open_database(settings).session() as s:
            row = s.get(Image, int(ref))
            if row is not None:
                return row.storage_path
    raise FileNotFoundError(f"Image '{ref}' is neither a file nor a timeline image id")


def _live(agent: object, case: Case, thread: str | None) -> None:
    """Stream events; on an interrupt ask which candidate is meant and resume."""
    import uuid

    from mimir.agent.entry import Agent
    from mimir.output import emit

    assert isinstance(agent, Agent)
    thread_id = thread or uuid.uuid4().hex
    events = agent.stream(case, thread_id=thread_id)
    while True:
        last = None
        for event in events:
            emit(event, as_json=False, human=escape(event_line(event)))
            last = event
        if last is None or last.kind != "interrupt":
            break
        choice = typer.prompt("Which candidate did you mean (number)", type=int)
        events = agent.resume(thread_id, choice)
    if last is not None and last.kind == "answer":
        emit(last.data["answer"], as_json=False, human=escape(answer_text(last.data["answer"])))


def event_line(event: Event) -> str:
    """One line for a person per event."""
    d = event.data
    kinds: dict[str, str] = {
        "step_started": f"> {event.node}",
        "step_finished": f"  {event.node} done " + ", ".join(f"{k}={v}" for k, v in d.items() if k != "bindings")[:120],
        "tool_started": f"  - {event.tool} {d.get('arguments', {})}",
        "tool_progress": f"    {event.tool} {float(d.get('fraction', 0)):.0%} {d.get('message', '')}",
        "tool_result": f"  + {event.tool} {d.get('status')} {float(d.get('duration_s') or 0):.2f}s {d.get('error') or d.get('summary') or ''}"[:160],
        "interrupt": f"? '{d.get('mention')}' is ambiguous ({d.get('reason', '')}): " + "; ".join(
            f"{c['option']}: {c.get('label') or 'images ' + str([i + 1 for i in c['image_indices']])}"
            for c in d.get("candidates", [])),
        "answer": "= answer",
    }
    return kinds.get(event.kind, f"{event.kind} {d}")


def answer_text(answer: dict | Answer) -> str:
    """The answer for a person: text, status, evidence and tool timings."""
    a = answer if isinstance(answer, dict) else answer.model_dump(mode="json")
    lines = [a["text"], f"status: {a['status']}" + (f" ({a['abstain_reason']})" if a.get("abstain_reason") else "")]
    lines += [f"  evidence: {e['statement']}" for e in a.get("evidence", [])]
    lines += [f"  tool: {s['tool']} {s['status']} {s['duration_s']:.2f}s" for s in a.get("steps", [])]
    lines += [f"  policy: {n}" for n in a.get("policy_notes", [])]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add ``mimir ask``."""
    app.command("ask")(ask)
