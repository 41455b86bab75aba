"""mimir's one clinical vocabulary: the words of questions, options and headers, read from ``vocabulary.yaml``.

The table is data (``mimir/vocabulary.yaml``, shipped with the package) that a clinician can extend;
this module loads it once and answers small typed questions about a text::

    sequence_of("Which image is the post-gad T1?")        # "T1C"
    side_of("the OD fundus photo")                         # "R"
    change_of("the lesion has shrunk")                     # "decrease"
    superlative_of("the lowest tumour burden")             # "least"
    find("Is the FLAIR stable?", "sequence", "change")     # [Mention(sequence FLAIR), Mention(change stable)]

Matching rules (also written at the top of the YAML file): terms are whole words, any case; a space or
hyphen in a term matches a space, hyphen, underscore or nothing; a trailing ``*`` matches any word
ending; abbreviations keep their case; where mentions overlap the longest wins; a mention preceded by
a negation cue in the same clause (or followed by a postposed one) is marked ``negated``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Concept = Literal[
    "modality", "image_noun", "body_part", "sided_part", "sequence", "view", "laterality", "change", "resection",
    "procedure", "comparative", "superlative", "negation", "time", "ordinal", "cardinal", "collective", "determiner",
    "answer",
    "finding", "diagnosis", "quantity", "prognosis", "course", "compare", "identify", "attribute_noun", "joiner",
    "preposition", "filler", "list_place", "predicate", "follow_up", "wh_word", "span",
    "lookup",
]
Change = Literal["increase", "decrease", "stable", "new", "resolved", "gross_total", "partial"]
Comparative = Literal["more", "less", "equal"]
Superlative = Literal["most", "least"]
TimeRole = Literal["baseline", "prior", "latest", "earlier", "later"]

_TRANSLATE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                            "\u2010": "-", "\u2011": "-", "\u00a0": " "})
_SEP = r"[\s_\-]*"
#: Words that end a negation's scope: a clause boundary or a contrast.
_SCOPE_END = re.compile(r"[,;:.?!\n]|\b(?:but|however|although|whereas|while|and|or)\b", re.I)
_NEGATION_WINDOW = 4  # words between a preposed cue and what it negates


class Entry(BaseModel):
    """One value of a concept and the words for it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    terms: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    refines: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Mention:
    """One vocabulary term found in a text."""

    concept: str
    value: str
    start: int
    end: int
    text: str
    negated: bool = False


def term_regex(term: str, exact_case: bool = False) -> str:
    """The regular expression (source) that reads one term of the table, without word boundaries."""
    parts = []
    for token in re.split(r"[\s\-]+", term.strip()):
        star = token.endswith("*") and len(token) > 1
        core = re.escape(token[:-1] if star else token)
        parts.append(core + (r"(?:[\w']|-(?=[A-Za-z]))*" if star else ""))
    body = _SEP.join(parts)
    return f"(?-i:{body})" if exact_case else body


_WORD_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]")
_END = r"(?![A-Za-z0-9])"


class Vocabulary:
    """The loaded table with compiled readers per concept (one small pattern per first letter)."""

    def __init__(self, table: dict[str, dict[str, Entry]]) -> None:
        self.table = table
        self._readers: dict[str, dict[str, tuple[re.Pattern[str], list[str]]]] = {}
        for concept, values in table.items():
            for value, entry in values.items():
                if entry.refines is not None and entry.refines not in values:
                    raise ValueError(f"vocabulary: {concept}.{value} refines unknown value {entry.refines!r}")
                bad = [t for t in (*entry.terms, *entry.abbreviations) if not t[:1].isalnum()]
                if bad:
                    raise ValueError(f"vocabulary: {concept}.{value} has terms that do not start with a letter or digit: {bad}")
            self._readers[concept] = self._compile(values)

    @staticmethod
    def _compile(values: dict[str, Entry]) -> dict[str, tuple[re.Pattern[str], list[str]]]:
        by_letter: dict[str, list[tuple[int, str, str]]] = {}
        for value, entry in values.items():
            for ts, exact in ((entry.terms, False), (entry.abbreviations, True)):
                for t in ts:
                    by_letter.setdefault(t[0].lower(), []).append((len(t), term_regex(t, exact), value))
        readers = {}
        for letter, alts in by_letter.items():
            alts.sort(key=lambda a: -a[0])  # longest term first at any one position
            source = "(?:" + "|".join(f"(?P<t{k}>{rx})" for k, (_, rx, _) in enumerate(alts)) + ")" + _END
            readers[letter] = (re.compile(source, re.I), [v for _, _, v in alts])
        return readers

    def concept(self, concept: str) -> dict[str, Entry]:
        """The values of a concept (KeyError names the known concepts)."""
        if concept not in self.table:
            raise KeyError(f"Unknown vocabulary concept {concept!r}; known: {', '.join(self.table)}")
        return self.table[concept]

    def raw(self, text: str, concept: str) -> list[Mention]:
        """Every mention of one concept, leftmost-longest, without negation."""
        self.concept(concept)
        readers = self._readers[concept]
        text = text.translate(_TRANSLATE)
        out: list[Mention] = []
        end = 0
        for w in _WORD_START.finditer(text):
            if w.start() < end or (reader := readers.get(w.group(0).lower())) is None:
                continue
            m = reader[0].match(text, w.start())
            if m is not None:
                value = reader[1][int(str(m.lastgroup)[1:])]
                out.append(Mention(concept, value, m.start(), m.end(), m.group(0)))
                end = m.end()
        return out


def settle(mentions: list[Mention]) -> list[Mention]:
    """Keep the longest mention where spans overlap (earlier ones win ties), in reading order."""
    ranked = sorted(mentions, key=lambda m: (-(m.end - m.start), m.start))
    kept: list[Mention] = []
    for m in ranked:
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


def _negated(text: str, m: Mention, cues: list[Mention]) -> bool:
    for cue in cues:
        if cue.value == "pre" and cue.end <= m.start:
            gap = text[cue.end:m.start]
            if not _SCOPE_END.search(gap) and len(gap.split()) <= _NEGATION_WINDOW:
                return True
        if cue.value == "post" and cue.start >= m.end:
            gap = text[m.end:cue.start]
            if not _SCOPE_END.search(gap) and len(gap.split()) <= 2:
                return True
    return False


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextLoader(_Base):  # type: ignore[valid-type, misc]
    """YAML without implicit booleans or numbers: every scalar of the table is a word ("no", "on", "1")."""


_TextLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag == "tag:yaml.org,2002:null"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_table(text: str) -> Vocabulary:
    """A vocabulary from the YAML text of a table (the shipped one, or a reviewer's edited copy)."""
    raw = yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a SafeLoader subclass
    table = {c: {str(v): Entry.model_validate(e) for v, e in values.items()} for c, values in raw.items()}
    return Vocabulary(table)


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
    found = settle([m for c in concepts for m in voc.raw(text, c)])
    if not found:
        return ()
    clean = text.translate(_TRANSLATE)
    cues = [c for c in voc.raw(text, "negation") if all(c.end <= m.start or c.start >= m.end for m in found)]
    return tuple(Mention(m.concept, m.value, m.start, m.end, m.text, _negated(clean, m, cues)) for m in found)


def values_in(text: str, concept: str, include_negated: bool = True) -> list[str]:
    """Distinct values of one concept named in ``text``, in reading order, narrower values kept."""
    entries = vocabulary().concept(concept)
    seen = list(dict.fromkeys(m.value for m in find(text, concept) if include_negated or not m.negated))
    return [v for v in seen if not any(entries[o].refines == v for o in seen)]


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
    return value if value in ("gross_total", "partial") else None  # type: ignore[return-value]


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
    return bool(vocabulary().raw(text, "negation"))


def answer_of(text: str) -> bool | None:
    """True for a yes-option, False for a no-option (by its first words), else None."""
    head = " ".join(text.strip().split()[:4])
    found = [m for m in find(head, "answer") if m.start == 0]
    return None if not found else found[0].value == "yes"


def code_of(concept: str, header_value: str | None) -> str | None:
    """The value a header code stands for (``code_of("modality", "DX") == "XR"``), else None."""
    if not header_value:
        return None
    key = header_value.strip().upper()
    for value, entry in vocabulary().concept(concept).items():
        if key == value.upper() or key in (c.upper() for c in entry.codes):
            return value
    return None


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
    alts = sorted(((len(t), term_regex(t, ab)) for e in chosen.values()
                   for ts, ab in ((e.terms, False), (e.abbreviations, True)) for t in ts), key=lambda a: -a[0])
    return "(?<![A-Za-z0-9])(?:" + "|".join(rx for _, rx in alts) + ")" + _END


def ordinal_position(word: str) -> int | str | None:
    """The position an ordinal word names: 1-based, negative from the end, or 'middle'."""
    found = [m for m in find(word, "ordinal") if m.start == 0 and m.end == len(word.strip())]
    if not found:
        return None
    return "middle" if found[0].value == "middle" else int(found[0].value)


def cardinal_value(word: str) -> int | None:
    """The number a cardinal word names ("two" -> 2), else None."""
    found = [m for m in find(word, "cardinal") if m.start == 0 and m.end == len(word.strip())]
    return int(found[0].value) if found else None
