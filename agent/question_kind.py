"""Which Med-MIM ability a question exercises, read from its structure and the clinical vocabulary (no model).

The question is read as a few structural signals rather than matched against phrasings:

- do the options *name images* ("the second in sequence", "Image 2", "Both X-ray images"), read by
  the reference grammar (:mod:`mimir.memory.grammar`)?
- does the stem compare an *amount* (a comparative or superlative with a finding or a size)?
- do the options name *change categories* (progressing, stable, shrunk ...) or a resection extent?
- do the options or the stem set *two images side by side* (statements about the first and the
  second image, "differences between the two X-rays")?
- does the stem ask about a course, a prognosis, a diagnosis, or which image is which?

Every word list lives in :mod:`mimir.vocabulary`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from mimir import vocabulary as voc
from mimir.domain import Ability, ParsedQuestion, parse_question
from mimir.memory.grammar import Reference, references

#: Share of an option's letters a reference must cover for the option to *be* an image name.
IMAGE_OPTION_COVER = 0.6
#: Options of at most this many words that name a change category are categories, not statements.
SHORT_OPTION_WORDS = 6


class QuestionKind(BaseModel):
    """The ability and shape of one question."""

    ability: Ability
    question: ParsedQuestion

    @property
    def closed(self) -> bool:
        """True for multiple-choice questions."""
        return self.question.closed


class Signals(BaseModel):
    """What the classifier read in a question; the ability follows from these."""

    image_options: int = 0
    statement_options: int = 0
    stem_images: int = 0
    measured_comparison: bool = False
    change_in_stem: bool = False
    change_options: int = 0
    category_options: int = 0
    choice_in_stem: bool = False
    resection: bool = False
    prognosis: bool = False
    course: bool = False
    compare: bool = False
    identify: bool = False
    diagnosis: bool = False
    diagnosis_options: int = 0


def _names_images(ref: Reference) -> bool:
    """True when a reference picks images by position, number, count or time (not a bare "the images")."""
    every = any(t.tag == "D" and t.value == "every" for t in ref.tokens)
    return ref.has("OT") or ref.has("NHM") and (ref.has("Q") or every)  # a bare "2" is not an image


def _image_refs(text: str) -> list[Reference]:
    return [r for r in references(text) if _names_images(r)]


def _is_image_name(option: str, refs: list[Reference]) -> bool:
    letters = len(re.sub(r"[^A-Za-z0-9]", "", option)) or 1
    covered = sum(len(re.sub(r"[^A-Za-z0-9]", "", r.text)) for r in refs)
    return covered / letters >= IMAGE_OPTION_COVER


def _has(text: str, *concepts: str) -> bool:
    return bool(voc.find(text, *concepts))


def _measured_comparison(stem: str) -> bool:
    """A comparative or superlative of an amount: "the larger lesion", "the lowest tumour burden"."""
    found = voc.find(stem, "comparative", "superlative", "diagnosis")
    return any(m.concept != "diagnosis" for m in found) and _has(stem, "quantity")


def _choice_in_stem(stem: str) -> bool:
    """A stem that offers change categories itself ("... progressing or stable?"), not amounts ("larger or smaller")."""
    if not re.search(r"\bor\b", stem):
        return False
    return len({m.value for m in voc.find(stem, "comparative", "change") if m.concept == "change"}) >= 2


def _images_named(ref: Reference) -> int:
    """How many images a reference names: "the two X-rays" 2, "the first and second" 2, "both" 2."""
    counts = [int(t.value) for t in ref.tokens if t.tag == "Q" and isinstance(t.value, int)]
    positions = sum(t.tag in "OT" for t in ref.tokens)
    every = 2 if any(t.tag == "D" and t.value == "every" for t in ref.tokens) else 0
    return max([*counts, positions, every, 1])


def _asks_attribute(stem: str) -> bool:
    """A wh-word with an attribute noun within three words: "Which MRI sequence is ...", "What view ..."."""
    nouns = voc.find(stem, "attribute_noun")
    return any(0 < len(stem[w.end:m.start].split()) + 1 <= 4 for w in voc.find(stem, "wh_word") for m in nouns
               if m.start >= w.end)


def signals(parsed: ParsedQuestion) -> Signals:
    """Read the structural signals of a parsed question."""
    stem, options = parsed.stem, list(parsed.options.values())
    changes = [o for o in options if voc.change_of(o) is not None]
    stem_refs = _image_refs(stem)
    option_refs = [(o, _image_refs(o)) for o in options]
    names = [_is_image_name(o, refs) for o, refs in option_refs]
    return Signals(
        image_options=sum(names),
        statement_options=sum(bool(refs) and not name for (_, refs), name in zip(option_refs, names, strict=True)),
        stem_images=sum(_images_named(r) for r in stem_refs),
        measured_comparison=_measured_comparison(stem),
        change_in_stem=_has(stem, "change"),
        change_options=len(changes),
        category_options=sum(len(o.split()) <= SHORT_OPTION_WORDS for o in changes),
        choice_in_stem=_choice_in_stem(stem),
        resection=_has(stem, "procedure", "resection") or any(voc.resection_of(o) for o in options),
        prognosis=_has(stem, "prognosis"),
        course=_has(stem, "course"),
        compare=_has(stem, "compare"),
        identify=_has(stem, "identify") or _asks_attribute(stem),
        diagnosis=_has(stem, "diagnosis"),
        diagnosis_options=sum(_has(o, "diagnosis") for o in options),
    )


def classify_question(text: str) -> QuestionKind:
    """Classify ``text`` (stem plus ``A: ...`` option lines) into an ability and its parsed form."""
    parsed = parse_question(text)
    return QuestionKind(ability=ability_of(parsed), question=parsed)


def ability_of(parsed: ParsedQuestion) -> Ability:
    """The ability a question exercises, from its signals (see :func:`ability_from`)."""
    return ability_from(signals(parsed), n_options=len(parsed.options))


def ability_from(s: Signals, n_options: int) -> Ability:
    """The ability, in order of how decisive each signal is.

    1. Options that name images: a comparison when the stem compares an amount, else co-reference
       (which image is X); without options, "which image ..." reads the same way.
    2. A resection (before and after surgery) is a comparison of two images.
    3. A prognosis, or change categories offered in the stem ("progressing or stable?"): temporal.
    4. A pair of images set side by side (a comparison word, a stem naming two images, statements
       about several images): comparison (of diagnoses alone: reasoning).
    5. A course or change over visits, or change categories as options: temporal. Which image /
       which sequence: co-reference. An amount compared: comparison. A diagnosis: reasoning.
    """
    which_image = s.image_options >= max(2, n_options - 1) or n_options == 0 and s.identify
    if which_image:
        return "comparison" if s.measured_comparison else "coreference"
    if s.resection:
        return "comparison"
    if s.prognosis or s.choice_in_stem:
        return "temporal"
    if s.compare or s.stem_images == 2 or s.statement_options >= 2:
        diagnosed = s.diagnosis or s.diagnosis_options >= 2
        return "reasoning" if diagnosed and not (s.change_in_stem or s.course) else "comparison"
    if s.course or s.change_in_stem or s.category_options >= 2:
        return "temporal"
    if s.identify:
        return "coreference"
    if s.measured_comparison:
        return "comparison"
    if s.diagnosis or s.diagnosis_options >= 2:
        return "reasoning"
    return "other"


def is_follow_up(text: str) -> bool:
    """True for elliptical follow-ups such as 'and in the third image?' (cue words from the vocabulary)."""
    lead = len(text) - len(text.lstrip())
    return any(m.start == lead for m in voc.find(text, "follow_up")) and len(text.split()) <= 12
