"""What a reviewer reads: tool results and reasons in words, never a setting's name or a stack trace.

The agent's messages are written for whoever runs mimir (they name settings and files). The review
screen shows the reason in words and the next step a reviewer can take; what an operator needs stays
in the server log.
"""

from __future__ import annotations

import re
from typing import Any

#: Operator wording -> (what happened, what the reviewer can do), matched on the message's meaning.
KNOWN = [
    (re.compile(r"no VLM configured|VLM is not configured|no vision.language model", re.I),
     "No vision-language model is set up on this server, so this question could not be read from the pictures.",
     "Ask about sizes or change over time (the experts measure those), or ask whoever runs mimir to set up a VLM."),
    (re.compile(r"takes 2D images|reads 2D slices", re.I),
     "This expert reads 2D slices, and one of the images is a volume or a series.",
     "Pick the key slice of that study (the “+ question” button picks it), or ask about the patient without picking."),
    (re.compile(r"no \w+ expert for|no bundles installed", re.I),
     "None of the installed experts can measure this kind of image.",
     "Ask a question the pictures answer directly, or pick images of another modality."),
]
_SETTING = re.compile(r"\b(?:MIMIR|HF|CUDA|TOTALSEG)_[A-Z0-9_]+\s*=\s*(?:'[^']*'|\"[^\"]*\"|[^\s)]+)")
_NAME = re.compile(r"\b(?:MIMIR|HF|CUDA|TOTALSEG)_[A-Z0-9_]+\b")
_TRACE = re.compile(r"Traceback \(most recent call last\):.*", re.S)
_PATH = re.compile(r"(?<![\w.])/(?:[\w.+-]+/)+[\w.+-]*")


def for_reviewer(message: str | None) -> tuple[str, str]:
    """(reason, next step) for a message meant for operators; the next step may be empty."""
    text = (message or "").strip()
    for pattern, reason, step in KNOWN:
        if pattern.search(text):
            return reason, step
    text = _TRACE.sub("", text)
    text = _SETTING.sub("a server setting", text)
    text = _NAME.sub("a server setting", text)
    text = _PATH.sub("a file on the server", text)
    text = text.strip().rstrip(":;,") or "The step did not finish."
    return text[:1].upper() + text[1:], ""


def words(key: str) -> str:
    """'longest_diameter_mm' -> 'longest diameter (mm)'."""
    for unit in ("mm2", "mm", "ml", "pct", "s"):
        if key.endswith("_" + unit):
            return f"{key[: -len(unit) - 1].replace('_', ' ')} ({unit.replace('mm2', 'mm²').replace('pct', '%')})"
    return key.replace("_", " ")


def value_words(value: Any) -> str:
    """A value as a person writes it: numbers rounded, lists joined, nested objects as key: value."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return " × ".join(value_words(v) for v in value) if all(isinstance(v, int | float) for v in value) \
            else ", ".join(value_words(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{words(k)} {value_words(v)}" for k, v in value.items() if v not in (None, [], {}))
    return str(value)


#: Result fields that are plumbing, not findings.
HIDDEN = {"mask_path", "findings", "measurements", "image_index", "spacing_source", "artifacts", "changes", "ood"}


def key_values(output: dict[str, Any] | None, limit: int = 6) -> list[str]:
    """The top-level values of a tool's result in words (at most ``limit``)."""
    out = []
    for k, v in (output or {}).items():
        if k in HIDDEN or v in (None, [], {}, ""):
            continue
        out.append(f"{words(k)}: {value_words(v)}")
    return out[:limit]


#: RECIST 1.1 and RANO categories in one line each.
CATEGORIES = {
    "PD": "progressive disease: the sum of diameters grew by at least 20 % (and 5 mm) from its smallest",
    "SD": "stable disease: neither enough shrinkage for a response nor enough growth for progression",
    "PR": "partial response: the sum of diameters fell by at least 30 % from the baseline",
    "CR": "complete response: no measurable lesion left",
}


def category_words(code: str | None) -> str:
    """'PD' -> 'PD (progressive disease: ...)'."""
    if not code:
        return ""
    return f"{code} ({CATEGORIES[code]})" if code in CATEGORIES else code
