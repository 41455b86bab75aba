"""Images numbered from zero ("zero-indexed image 0", "img 0 and img 1"), read as mimir counts them, from one.

Engineers and data sets often number images from zero. A question does so when it says so ("zero-indexed",
"0-based", "numbered from 0") or names an image 0, which counting from one has none of. Then every image
number after an image noun in the question and its options is one more in mimir's counting, and the
words that said so are left out: "zero-indexed image 1" is the second image. Nothing else changes.
"""

from __future__ import annotations

import re

from mimir.memory.tokenizer import tokenize

#: A word before an image noun that says its number counts from zero (left out once the number is renumbered).
_ZERO_BASED = re.compile(r"\b(?:zero|0)[- ]?(?:indexed|based)\b", re.I)
#: A sentence that says so ("the images are numbered from 0"): read, and left as written.
_SAID = re.compile(r"\b(?:numbered|indexed|counted|counting)\s+from\s+(?:zero|0)\b", re.I)


def _image_numbers(text: str) -> list[tuple[int, int, int]]:
    """(start, end, number) of each number written in digits right after an image noun (fillers between)."""
    tokens = tokenize(text)
    out = []
    for k, t in enumerate(tokens):
        if t.tag != "Q" or not t.text.isdigit() or k == 0:
            continue
        j = k - 1
        while j > 0 and tokens[j].tag == "F":
            j -= 1
        if tokens[j].tag == "N":
            out.append((t.start, t.end, int(t.text)))
    return out


def one_based(text: str) -> tuple[str, bool]:
    """``text`` with images numbered from zero renumbered from one, and whether it was."""
    numbers = _image_numbers(text)
    if not numbers or not (_ZERO_BASED.search(text) or _SAID.search(text) or any(n == 0 for _, _, n in numbers)):
        return text, False
    for start, end, n in sorted(numbers, reverse=True):
        text = text[:start] + str(n + 1) + text[end:]
    return re.sub(rf"[ \t]*(?:{_ZERO_BASED.pattern})[ \t]*", " ", text, flags=re.I).strip(), True
