"""The input check's verdict on a tool step, as a badge: in distribution, borderline, out, not checked.

Expert results carry ``ood`` (score, verdict, reason); a declined input's step failed with the gate's
words (``mimir.tools.ood.gate.DECLINED``). The badge's title and, for anything but *in*, a line
under it give the reason in words.
"""

from __future__ import annotations

from html import escape
from typing import Any

from mimir.tools.ood.gate import DECLINED

LABELS = {"in": "in distribution", "borderline": "borderline input", "out": "out of distribution",
          "unknown": "input not checked"}


def ood_badge(ood: Any) -> str:
    """A ``<span class="ood-badge ood-VERDICT">`` for a result's ``ood``; empty when there is none."""
    if not isinstance(ood, dict) or ood.get("verdict") not in LABELS:
        return ""
    verdict, score = str(ood["verdict"]), ood.get("score")
    text = LABELS[verdict] + (f" · score {float(score):.2f}" if isinstance(score, int | float) else "")
    return (f'<span class="ood-badge ood-{verdict}" title="{escape(str(ood.get("reason", "")))}">'
            f"{escape(text)}</span>")


def ood_note(ood: Any) -> str:
    """The reason in words under the badge, for borderline and out inputs; empty otherwise."""
    if not isinstance(ood, dict) or ood.get("verdict") not in ("borderline", "out"):
        return ""
    return f'<p class="ood-reason">Input check: {escape(str(ood.get("reason", "")))}</p>'


def declined(message: Any) -> dict[str, Any] | None:
    """The ``ood`` of a step whose expert declined its input (from the message), else None."""
    text = str(message or "")
    if DECLINED not in text:
        return None
    reason = text.split(DECLINED, 1)[1].strip().strip("()")
    return {"verdict": "out", "score": None, "reason": reason.split("; in-distribution score")[0]}
