"""mimir's one clinical vocabulary: the words of questions, options and headers, read from ``vocabulary.yaml``.

The table is data (``mimir/vocabulary.yaml``, shipped with the package) that a clinician can extend;
this module loads it once and answers small typed questions about a text::

    sequence_of("Which image is the post-gad T1?")        # "T1C"
    side_of("the OD fundus photo")                         # "R"
    change_of("the lesion has shrunk")                     # "decrease"
    superlative_of("the lowest tumour burden")             # "least"
    find("Is the FLAIR stable?", "sequence", "change")     # [Mention(sequence FLAIR), Mention(change stable)]

How terms match (whole words, any case, flexible hyphens, ``*`` endings, longest mention wins,
negation scope) is written at the top of the YAML file and implemented in :mod:`mimir.termtable`.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

from mimir.termtable import (
    TRANSLATE,
    WORD_END,
    Entry,
    Mention,
    Vocabulary,
    is_numero,
    load_table,
    mark_negation,
    negation_cues,
    settle,
    term_regex,
)

__all__ = ["Entry", "Mention", "Vocabulary", "load_table", "settle", "term_regex"]

Concept = Literal[
    "modality", "image_noun", "body_part", "sided_part", "sequence", "view", "laterality", "change", "resection",
    "procedure", "comparative", "superlative", "negation", "time", "ordinal", "cardinal", "collective", "determiner",
    "answer",
    "finding", "diagnosis", "quantity", "prognosis", "course", "compare", "identify", "attribute_noun", "joiner",
    "preposition", "filler", "list_place", "numero", "coordinating_adverb", "time_qualifier", "contrast_agent", "resected_part", "predicate", "follow_up", "wh_word", "holds", "auxiliary", "reference_cue", "span", "lookup", "clause_break",
    "statement_frame", "judgement", "exclusion", "set_aside", "quantifier", "succession", "mask_label", "relation",
    "place_name", "list_start", "list_end", "rest_of_set", "anaphor", "copula", "alternative", "numbered_visit", "postmodifier",
    "courtesy", "becoming", "idiom", "display_noun", "date_deixis", "answer_subject", "embedded_question", "legend_lead",
]
Change = Literal["increase", "decrease", "stable", "new", "resolved", "gross_total", "partial"]
Comparative = Literal["more", "less", "equal"]
Superlative = Literal["most", "least"]
TimeRole = Literal["baseline", "prior", "latest", "earlier", "later"]

@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, loaded and compiled once."""
    return load_table(resources.files("mimir").joinpath("vocabulary.yaml").read_text(encoding="utf-8"))


def find(text: str, *concepts: str) -> list[Mention]:
    """Mentions of the given concepts in ``text``: overlaps settled across them, negation marked."""
    return list(_find(text, concepts))


@lru_cache(maxsize=8192)
def _find(text: str, concepts: tuple[str, ...]) -> tuple[Mention, ...]:
    voc = vocabulary()
    return mark_negation(voc, text, _intensified(settle([m for c in concepts for m in voc.raw(text, c)]), text))


_INTENSIFIERS = frozenset({"more", "most"})


def _intensified(found: list[Mention], text: str) -> list[Mention]:
    """Mentions less an intensifier right before a graded word: "most smallest" is "smallest", "more bigger" "bigger"."""
    graded = ("comparative", "superlative")
    return [m for k, m in enumerate(found)
            if not (m.concept in graded and m.text.lower() in _INTENSIFIERS and k + 1 < len(found)
                    and found[k + 1].concept in graded and not text[m.end:found[k + 1].start].strip())]


def values_in(text: str, concept: str, include_negated: bool = True) -> list[str]:
    """Distinct values of one concept named in ``text``, in reading order, narrower values kept."""
    entries = vocabulary().concept(concept)
    seen = list(dict.fromkeys(m.value for m in find(text, concept) if include_negated or not m.negated))
    return [v for v in seen if not any(entries[o].refines == v for o in seen)]


#: What may stand between a comparison cue and the phrase it governs ("since the previous imaging").
_DETERMINER_GAP = re.compile(r"\s*(?:(?:on|in|at|of|with|to)\s+)?(?:(?:the|this|that|these|those|his|her|their|its|our|my|your)\s+)?", re.I)


def lookups_asked(text: str) -> list[str]:
    """The look-ups a text asks for ("which prior studies does she have?", "similar cases?"), in reading order.

    A look-up phrase governed by a comparison cue names a visit, not a look-up: "has it changed since
    the previous imaging?" compares with the prior study.
    """
    cues = find(text, "reference_cue")
    return list(dict.fromkeys(m.value for m in find(text, "lookup")
                              if not any(c.end <= m.start and _DETERMINER_GAP.fullmatch(text, c.end, m.start) for c in cues)))


def _single(text: str, concept: str, include_negated: bool = True) -> str | None:
    found = values_in(text, concept, include_negated)
    return found[0] if len(found) == 1 else None


def sequence_of(text: str | None) -> str | None:
    """The one MR sequence a text names (T1, T1C, T2, FLAIR, DWI, ADC, SWI), else None."""
    return _single(text or "", "sequence")


def modality_of(text: str | None) -> str | None:
    """The one modality a text names (MR, CT, XR, MG, OP, US, PT), else None."""
    return _single(text or "", "modality")


def view_of(text: str | None) -> str | None:
    """The one projection a text names (CC, MLO, ML, PA, AP, LAT), else None."""
    return _single(text or "", "view")


def side_of(text: str | None) -> str | None:
    """'L', 'R' or 'B' when a text names exactly one side, else None."""
    return _single(text or "", "laterality")


def body_part_of(text: str | None) -> str | None:
    """The one body part a text names, else None."""
    return _single(text or "", "body_part")


def change_of(text: str) -> Change | None:
    """The one change or resection category a text asserts (negated mentions do not count), else None.

    A resection category outranks a size change ("partial resection, smaller"), and resolution
    outranks a decrease (it is its extreme).
    """
    found = {m.value for m in find(text, "change", "resection") if not m.negated}
    if found & {"gross_total", "partial"}:
        found -= {"increase", "decrease", "stable", "resolved"}
    if "resolved" in found:
        found -= {"decrease"}
    if len(found) != 1:
        return None
    value: Change = found.pop()  # type: ignore[assignment]
    return value


def resection_of(text: str) -> Literal["gross_total", "partial"] | None:
    """'gross_total' or 'partial' when a text asserts one extent of resection, else None."""
    value = change_of(text)
    return value if value in ("gross_total", "partial") else None


def comparative_of(text: str) -> Comparative | None:
    """'more', 'less' or 'equal' when a text compares by amount in one direction, else None."""
    return _single(text, "comparative")  # type: ignore[return-value]


def superlative_of(text: str) -> Superlative | None:
    """'most' or 'least' when a text asks for an extreme, else None."""
    return _single(text, "superlative")  # type: ignore[return-value]


def time_of(text: str) -> TimeRole | None:
    """The visit a text names by time (baseline, prior, latest, earlier, later), else None."""
    return _single(text, "time")  # type: ignore[return-value]


def is_negated(text: str) -> bool:
    """True when the text carries a negation cue ("which image does NOT show ...")."""
    return bool(negation_cues(vocabulary(), text))


def ends_negated(text: str) -> bool:
    """True when a sentence ends on a negation with nothing (or only a pronoun) after it: "select the one that isn't", "which is not it?".

    Such an elliptical negation denies the predicate of the clause before it ("one image is the T1;
    pick the one that isn't" asks for the image that is not the T1).
    """
    clean = text.translate(TRANSLATE)
    return any(c.value == "pre" and _SENTENCE_END.match(clean, c.end) and not _ALTERNATIVE.search(clean[:c.start])
               for c in negation_cues(vocabulary(), text))


_SENTENCE_END = re.compile(r"\s*(?:(?:it|that|this|that one|this one|so)\s*)?(?:[.?!;:]|$)", re.I)  # "which one is not it?"
#: "... or not?" offers the alternative of a yes/no question; it negates nothing.
_ALTERNATIVE = re.compile(r"\bor\s*$", re.IGNORECASE)


def answer_of(text: str) -> bool | None:
    """True for a yes-option, False for a no-option (by its first words), else None."""
    words = _CHECKBOX.sub("", text).split()  # "[x] No", "☑ Yes": a ticked box before the answer
    if (denied := _DENIAL.match(" ".join(words))) and answer_of(denied.group(1)) is True:
        return False  # "Not correct", "not accurate", "Do not concur": a yes word denied
    head = " ".join(words[:4])
    found = [m for m in find(head, "answer") if m.start == 0 and _ANSWER_END.match(head, m.end)
             and not is_numero(vocabulary(), head, m.start, m.end)]  # "No. 2" names an image
    return found[0].value == "yes" if found else _short_answer(" ".join(words))


def _short_answer(text: str) -> bool | None:
    """Yes or no from a subject and its auxiliary alone ("They did.", "They didn't, no", "It hasn't"), else None."""
    m = _short_answer_form().match(text)
    if m is None:
        return None
    tag = answer_of(m.group("tag")) if m.group("tag") else None
    said = m.group("neg") is None
    return said if tag is None or tag == said else None  # "They did, no" says both


@cache
def _short_answer_form() -> re.Pattern[str]:
    def words(concept: str) -> str:
        return "|".join(sorted((re.escape(t) for e in vocabulary().concept(concept).values() for t in e.terms), key=len,
                               reverse=True))

    return re.compile(rf"\s*(?:{words('answer_subject')})\s+(?:{words('auxiliary')})(?P<neg>n['\u2019]?t|\s+not)?\s*"
                      r"(?:[,;:\u2013\u2014-]\s*(?P<tag>\w+)\s*)?[.!]?\s*$", re.I)


#: A denial before an answer's words ("not", "do not", "I don't").
_DENIAL = re.compile(r"(?:i\s+)?(?:(?:do|does|did)\s+not|don'?t|doesn'?t|didn'?t|not)\s+(\S.*)", re.I)
#: A tick box or bullet before an option's words.
_CHECKBOX = re.compile(r"^\s*(?:\[[ xX✓✔]?\]|\([ xX✓✔]\)|[☐☑☒✓✔•*])\s*")
#: What may follow an answer word: "N/A" and "Y-90 therapy" are not answers.
_ANSWER_END = re.compile(r"$|[\s.,;:!?)]")


def code_of(concept: str, header_value: str | None) -> str | None:
    """The value a header code stands for (``code_of("modality", "DX") == "XR"``), else None."""
    if not header_value:
        return None
    key = header_value.strip().upper()
    for value, entry in vocabulary().concept(concept).items():
        if key == value.upper() or key in (c.upper() for c in entry.codes):
            return value
    return None


def is_background_label(name: str) -> bool:
    """True for a mask label that names no finding ("background", "bg")."""
    return code_of("mask_label", name) == "background"


def is_enhancing_label(name: str) -> bool:
    """True for an enhancing-tumour label ("enhancing tumour", "enhancement"), not a non-enhancing one."""
    return values_in(name, "mask_label") == ["enhancing"]


def terms(concept: str, value: str) -> tuple[str, ...]:
    """Every term and abbreviation of one value (for prompts, option matching, documentation)."""
    entry = vocabulary().concept(concept)[value]
    return (*entry.terms, *entry.abbreviations)


def name_of(concept: str, value: str) -> str:
    """How mimir writes a value in an answer ("T1C" -> "T1-weighted post-contrast")."""
    entry = vocabulary().concept(concept).get(value)
    return entry.name if entry is not None and entry.name else value


def pattern(concept: str, value: str | None = None) -> str:
    """A regular expression (source) reading the concept's terms, or one value's, for a grammar to embed."""
    values = vocabulary().concept(concept)
    chosen = {value: values[value]} if value is not None else values
    gap = vocabulary().gap_word
    alts = sorted(((len(t), term_regex(t, ab, gap)) for e in chosen.values()
                   for ts, ab in ((e.terms, False), (e.abbreviations, True)) for t in ts), key=lambda a: -a[0])
    return "(?<![A-Za-z0-9])(?:" + "|".join(rx for _, rx in alts) + ")" + WORD_END


def ordinal_position(word: str) -> int | str | None:
    """The position an ordinal word names: 1-based, negative from the end, or 'middle'."""
    found = [m for m in find(word, "ordinal") if m.start == 0 and m.end == len(word.strip())]
    if not found:
        return None
    return "middle" if found[0].value == "middle" else int(found[0].value)


def place_value(word: str) -> int | None:
    """The place a letter or roman numeral names after an image noun ("B" in "picture B" -> 2), else None."""
    value = code_of("place_name", word)
    return int(value) if value is not None else None


def cardinal_value(word: str) -> int | None:
    """The number a cardinal word names ("two" -> 2), else None."""
    found = [m for m in find(word, "cardinal") if m.start == 0 and m.end == len(word.strip())]
    return int(found[0].value) if found else None
