"""A review thread as cards.

The question, its reading, the images and bindings, the plan, each tool step, the chooser when a
reference is ambiguous, and the answer with its evidence and measurements. One renderer serves the live stream and a reopened review, so both show the same thing. Everything
shown is escaped; pictures come from the API by image id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from mimir.app.badges import declined, ood_badge, ood_note
from mimir.app.measurements import Measurement, measurement_table_html
from mimir.app.wording import for_reviewer, key_values
from mimir.domain import Answer

ABILITY = {"temporal": "change over visits", "comparison": "differences between images",
           "coreference": "which image a phrase means", "co-reference": "which image a phrase means", "reasoning": "a conclusion from several images",
           "other": "a general question"}
FAILED = {"cannot", "bad_arguments", "unavailable", "failed"}
IMAGES = "<!--images-->"
STATUS = {"ok": "done", "cached": "done (from cache)", "cannot": "could not run", "bad_arguments": "wrong arguments",
          "unavailable": "not installed", "failed": "failed"}


@dataclass
class Turn:
    """One question of a thread and what happened to it."""

    question: str
    given: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def turns(review: dict[str, Any]) -> list[Turn]:
    """Split a thread's events into its questions.

    A review saved before questions were recorded starts with its first case's question.
    """
    out: list[Turn] = []
    for ev in review.get("events", []):
        data = ev.get("data", {})
        if ev.get("kind") == "question" and "question" in data:
            out.append(Turn(data["question"], given=list(data.get("images", []))))
            continue
        if not out:
            case = review.get("case", {})
            out.append(Turn(case.get("question", ""), given=list(case.get("images", []))))
        if ev.get("kind") == "case":
            out[-1].images = list(data.get("images", []))
        out[-1].events.append(ev)
    return out


def turn_images(turn: Turn) -> list[dict[str, Any]]:
    """The images the turn used: those the planner chose, else those the reviewer picked."""
    return turn.images or turn.given


def thumb(image_id: Any, size: int = 96) -> str:
    """An <img> of a timeline image's thumbnail (ids are integers; anything else shows nothing)."""
    if not isinstance(image_id, int | float):
        return ""
    return f'<img loading="lazy" alt="" src="/api/images/{int(image_id)}/thumbnail?size={size}" width="72" height="72">'


def image_words(im: dict[str, Any]) -> str:
    """'image 1 · 2019-05-16 · MR · AX T2 FLAIR'."""
    parts = [f"image {int(im.get('index', 0)) + 1}", im.get("study_date") or "undated", im.get("modality") or "",
             im.get("series") or im.get("series_description") or ""]
    return " · ".join(escape(str(p)) for p in parts if p)


def _card(kind: str, title: str, body: str, extra: str = "") -> str:
    return f'<div class="card {kind}{extra}"><div class="card-title">{title}</div>{body}</div>'


def _interpretation(d: dict[str, Any]) -> str:
    ability = d.get("ability", "other")
    shape = f"closed, {d.get('options', 0)} options" if d.get("closed") else "open answer"
    return _card("card-interp", "Reading of the question",
                 f"<p>{escape(ability)}: {escape(ABILITY.get(ability, ''))}; {escape(shape)}</p>")


def _images(images: list[dict[str, Any]], why: list[str]) -> str:
    tiles = "".join(f'<figure>{thumb(im.get("image_id"))}<figcaption>{image_words(im)}</figcaption></figure>'
                    for im in images)
    notes = "".join(f"<li>{escape(w)}</li>" for w in why)
    return _card("card-images", "Images used", f'<div class="tiles">{tiles}</div>' + (f"<ul>{notes}</ul>" if notes else ""))


def _bindings(bindings: list[dict[str, Any]], images: list[dict[str, Any]]) -> str:
    rows = []
    for b in bindings:
        idx = b.get("image_indices", [])
        named = ", ".join(image_words(images[i]) if i < len(images) else f"image {i + 1}" for i in idx) or "no image"
        how = f" ({escape(b['reason'])})" if b.get("reason") else ""
        rows.append(f"<li>“{escape(b.get('mention', ''))}” → {named}{how}</li>")
    return _card("card-bind", "References in the question", f"<ul>{''.join(rows)}</ul>") if rows else ""


def _plan(d: dict[str, Any]) -> str:
    if d.get("decision") != "tools":
        return ""
    calls = "".join(f"<li><b>{escape(c.get('tool', ''))}</b>: {escape(c.get('purpose') or '')}</li>"
                    for c in d.get("calls", []))
    return _card("card-plan", "Plan", f"<ol>{calls}</ol>")


def _step(ev: dict[str, Any], runs: dict[int, dict[str, Any]], images: list[dict[str, Any]]) -> str:
    d = ev.get("data", {})
    status = d.get("status", "ok")
    where = ", ".join(image_words(images[i]) if i < len(images) else f"image {i + 1}"
                      for i in d.get("image_indices", [])) or "the case"
    head = (f"{escape(ev.get('tool') or 'tool')} on {where} · <span class=\"status\">{escape(STATUS.get(status, status))}"
            f"</span> · {float(d.get('duration_s', 0.0)):.2f} s")
    if status in FAILED:
        reason, step = for_reviewer(d.get("error") or d.get("summary"))
        body = f"<p>{escape(reason)}</p>" + (f"<p class=\"next\">{escape(step)}</p>" if step else "")
        return _card("card-step", head + ood_badge(declined(d.get("error"))), body, " failed")
    run = runs.get(int(d["tool_run_id"])) if d.get("tool_run_id") else None
    output = run["output"] if run and isinstance(run.get("output"), dict) else None
    values = key_values(output) or [escape(d.get("summary", ""))]
    ood = (output or {}).get("ood")
    return _card("card-step", head + ood_badge(ood),
                 ood_note(ood) + "<ul>" + "".join(f"<li>{escape(v)}</li>" for v in values) + "</ul>")


def chooser(ev: dict[str, Any], images: list[dict[str, Any]], study_thumbs: dict[int, int], active: bool) -> str:
    """The 'which did you mean?' card: each candidate's thumbnails and dates, a button per candidate."""
    d = ev.get("data", {})
    buttons = []
    for c in d.get("candidates", []):
        if c.get("images"):
            tiles = [(im.get("image_id"), image_words({**(images[im["index"]] if im.get("index", 99) < len(images) else {}),
                                                      **im})) for im in c["images"]]
            value = c.get("image_indices") or [c.get("option", 0)]
        else:
            tiles = [(study_thumbs.get(int(s.get("study_id", 0))),
                      escape(f"{s.get('study_date') or 'undated'} · {s.get('modality') or ''} · {s.get('description') or ''}"))
                     for s in c.get("studies", [])]
            value = [c.get("option", 0)]
        inner = "".join(f"<span class=\"cand\">{thumb(i)}<span>{w}</span></span>" for i, w in tiles)
        disabled = "" if active else " disabled"
        buttons.append(f'<button class="choose" data-choice="{escape(str(value))}"{disabled}>{inner}</button>')
    reason, _ = for_reviewer(d.get("reason") or "it matches more than one image")
    title = f"Which did you mean by “{escape(d.get('mention', ''))}”?"
    return _card("card-chooser", title, f"<p>{escape(reason)}</p><div class=\"choices\">{''.join(buttons)}</div>")


def _answer(d: dict[str, Any], images: list[dict[str, Any]]) -> str:
    ans = Answer.model_validate(d.get("answer", d))
    if ans.status == "abstained":
        reason, step = for_reviewer(ans.abstain_reason or ans.text)
        head = f"<p class=\"abstained\"><b>No answer:</b> {escape(reason)}</p>" + (
            f"<p class=\"next\">Next: {escape(step)}</p>" if step else "")
    else:
        letter = f"<b>{escape(ans.letter)}</b> · " if ans.letter else ""
        text = ans.text if ans.status == "ok" else for_reviewer(ans.text)[0]
        head = f"<p class=\"answer-text\">{letter}{escape(text)}</p>"
    evidence = "".join(f"<li>{escape(e.statement)}</li>" for e in ans.evidence)
    notes = "".join(f"<li>{escape(for_reviewer(n)[0])}</li>" for n in ans.policy_notes)
    body = head + (f"<p>Evidence:</p><ul>{evidence}</ul>" if evidence else "") + (
        f"<p>Decided by policy:</p><ul>{notes}</ul>" if notes else "")
    return _card("card-answer", "Answer", body, " failed" if ans.status == "tool_failed" else "")


def turn_html(turn: Turn, runs: dict[int, dict[str, Any]], study_thumbs: dict[int, int], last: bool,
              measurements: list[Measurement]) -> str:
    """One question and its cards."""
    chips = "".join(f"<span class=\"chip\">{image_words(im)}</span>" for im in turn.given)
    parts = [f'<div class="turn"><div class="bubble user"><p>{escape(turn.question)}</p>{chips}</div>']
    images = turn_images(turn)
    why: list[str] = []
    for n, ev in enumerate(turn.events):
        kind, node, d = ev.get("kind"), ev.get("node"), ev.get("data", {})
        if kind == "step_finished" and node == "classify":
            parts += [_interpretation(d), IMAGES]
        elif kind == "step_finished" and node == "gather":
            why = [str(b) for b in d.get("bindings", [])] or ([for_reviewer(d["problem"])[0]] if d.get("problem") else [])
        elif kind == "step_finished" and node == "resolve":
            parts.append(_bindings(d.get("bindings", []), images))
        elif kind == "step_finished" and node == "plan":
            parts.append(_plan(d))
        elif kind == "tool_result":
            parts.append(_step(ev, runs, images))
        elif kind == "interrupt":
            parts.append(chooser(ev, images, study_thumbs, active=last and n == len(turn.events) - 1))
        elif kind == "question" and "choice" in d:
            parts.append(f'<div class="bubble user"><p>I meant {escape(_choice_words(d["choice"], images))}.</p></div>')
        elif kind == "answer":
            parts.append(_answer(d, images))
            parts.append(measurement_table_html(measurements))
        elif kind == "error":
            reason, step = for_reviewer(d.get("message"))
            parts.append(_card("card-step", "The question stopped", f"<p>{escape(reason)}</p>"
                               + (f"<p class=\"next\">{escape(step)}</p>" if step else ""), " failed"))
    parts.append("</div>")
    html = "".join(parts)
    return html.replace(IMAGES, _images(images, why) if images else "", 1)


def _choice_words(choice: list[int], images: list[dict[str, Any]]) -> str:
    return ", ".join(image_words(images[i]) if i < len(images) else f"option {i + 1}" for i in choice)


def thread_html(review: dict[str, Any] | None, runs: dict[int, dict[str, Any]], study_thumbs: dict[int, int],
                tables: dict[int, list[Measurement]] | None = None, pending: str = "") -> str:
    """The whole thread as cards; ``pending`` is a status line shown under the last turn."""
    if not review:
        return '<p class="empty">Pick a patient, then ask a question (or compare the latest study with its prior).</p>'
    all_turns = turns(review)
    html = "".join(turn_html(t, runs, study_thumbs, last=k == len(all_turns) - 1, measurements=(tables or {}).get(k, []))
                   for k, t in enumerate(all_turns))
    return html + (f'<p class="pending">{escape(pending)}</p>' if pending else "")
