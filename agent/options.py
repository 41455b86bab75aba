"""Map option texts to what tools can establish: a change category, an image, a label, yes/no.

Every word is read through the clinical vocabulary (:mod:`mimir.vocabulary`) and image references
through the reference grammar (:mod:`mimir.memory.resolver`), so "Progressive disease", "the lesion
has grown" and "larger" all map to ``increase``, and "the penultimate scan" to an image. A mapping
is only used when exactly one option matches.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from mimir import vocabulary as voc
from mimir.domain import CaseImage

Change = voc.Change


def change_of(text: str) -> Change | None:
    """The change or resection category an option asserts (negated mentions do not count), or None."""
    return voc.change_of(text)


@lru_cache(maxsize=4096)
def image_of(text: str, n_images: int) -> int | None:
    """The 0-based image an option names ('the second image', 'Image 2', 'the last one'), or None."""
    from mimir.memory.resolver import resolve_text

    images = [CaseImage(path=f"option-image-{i}") for i in range(n_images)]
    named = {tuple(h.indices) for h in resolve_text(text, images) if h.indices and not h.ambiguous}
    if len(named) == 1 and len(found := next(iter(named))) == 1:
        return found[0]
    return None


def yes_no(text: str) -> bool | None:
    """True for a yes-option, False for a no-option, None otherwise."""
    return voc.answer_of(text)


def pick(options: dict[str, str], predicate: Callable[[str], bool]) -> str | None:
    """The one letter whose option text satisfies ``predicate``, else None."""
    letters = [k for k, v in options.items() if predicate(v)]
    return letters[0] if len(letters) == 1 else None


def letter_for_change(options: dict[str, str], change: Change) -> str | None:
    """The single option naming ``change`` (falling back from resolution to a decrease or a gross-total resection)."""
    letter = pick(options, lambda v: change_of(v) == change)
    if letter is None and change == "resolved":
        letter = pick(options, lambda v: change_of(v) in ("decrease", "gross_total"))
    return letter


def letter_for_image(options: dict[str, str], index: int, n_images: int) -> str | None:
    """The single option naming image ``index``."""
    return pick(options, lambda v: image_of(v, n_images) == index)


#: The vocabulary concept a label belongs to, by the labels the classifiers and headers give.
_LABEL_CONCEPTS = ("sequence", "laterality", "view", "modality")


def concept_of(label: str) -> str | None:
    """The vocabulary concept whose values include ``label`` ('T1C' -> sequence, 'L' -> laterality)."""
    return next((c for c in _LABEL_CONCEPTS if label in voc.vocabulary().concept(c)), None)


def labels_in(text: str, concept: str) -> set[str]:
    """The values of one label concept an option names (the narrower sequence kept, negated ones left out)."""
    return set(voc.values_in(text, concept, include_negated=False))


def letter_for_label(options: dict[str, str], label: str) -> str | None:
    """The single option naming a label ('FLAIR', 'T1C', 'L') and no other of its kind."""
    concept = concept_of(label)
    if concept is None:
        return None
    return pick(options, lambda v: labels_in(v, concept) == {label})
