"""What a closed question's options mean: the change categories, images, labels, yes/no parts they assert.

Read through the clinical vocabulary and the reference grammar (the exact parts): "Interval
enlargement" asserts an increase, "has not grown" a stable-or-smaller lesion, "no longer the same
size" any change but stability, "Higher" an increase when two images are set side by side, "The 1st
image is the FLAIR; the 2nd image is the T1+C" two image-label pairs (:mod:`mimir.agent.label_pairs`),
"Yes since baseline, but not since the prior" a yes and a no. An option whose change words the
vocabulary does not know is read by meaning (:mod:`mimir.agent.prototypes`), and only when one
category stands out by a clear margin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TypeVar, cast

from mimir import vocabulary as voc
from mimir.agent import prototypes
from mimir.agent.label_pairs import _image_reading, _pairs, _related, labels_said
from mimir.agent.labels import LABELS

Change = voc.Change
SIZE_CHANGES: frozenset[Change] = frozenset({"increase", "decrease", "stable"})
#: The change a comparative of amount says when a later image is set against an earlier one.
CHANGE_OF_COMPARATIVE: dict[str, Change] = {"more": "increase", "less": "decrease", "equal": "stable"}


#: Options of at most this many words may leave out the noun the question asks about ("Complete", "Not total").
_ELLIPTICAL_WORDS = 3


@dataclass(frozen=True)
class OptionMeaning:
    """What one option asserts (empty fields: it asserts nothing of that kind)."""

    changes: frozenset[Change] = frozenset()
    answer: bool | None = None
    parts: tuple[bool, ...] = ()
    images: tuple[int, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    pairs: tuple[tuple[int, str], ...] = ()
    by_meaning: float | None = None
    doubt: str | None = None  # why a reading by meaning was set aside (it contradicted the option's words)

    @property
    def names_change(self) -> bool:
        """True when the option asserts a change category (possibly several, after a negation)."""
        return bool(self.changes)


def negated_size_change(term: str) -> str | None:
    """The size change a stability term denies ("has not grown" denies an increase), else None."""
    cues = voc.find(term, "negation")
    if not cues:
        return None
    rest = term
    for c in sorted(cues, key=lambda c: -c.start):
        rest = rest[:c.start] + rest[c.end:]
    values = {m.value for m in voc.find(rest, "change") if not m.negated} & {"increase", "decrease"}
    return values.pop() if len(values) == 1 else None


def _modifiers(found: list[voc.Mention], text: str) -> set[int]:
    """Change words that modify the change noun right after them: their starts.

    The noun is the head and says the change ("steady growth", "constant decline", "progressive reduction",
    "increasing shrinkage" is a decrease); the word before it only qualifies it.
    """
    out = set()
    for a, b in zip(found, found[1:], strict=False):
        sizes = {"increase", "decrease", "stable"}
        if a.value in sizes and b.value in sizes and a.concept == b.concept == "change" and not a.negated \
                and not text[a.end:b.start].strip(" -"):
            out.add(a.start)
    return out


def _bare_new(text: str, m: voc.Mention) -> bool:
    """True for the word "new" set against "old", with no finding within three words of it ("ordered old to new")."""
    if m.text.lower() != "new" or not re.search(r"\bold(?:er|est)?\b", text, re.I):
        return False
    near = " ".join(text[:m.start].split()[-3:] + text[m.end:].split()[:3])
    return not voc.find(near, "finding")


def _image_phrases(text: str) -> list[tuple[int, int]]:
    """Spans of phrases that name an image by time ("the new scan", "the new one")."""
    from mimir.memory.grammar import references

    return [(r.start, r.end) for r in references(text) if r.has("T") and r.has("NH")]


def mentioned_changes(text: str) -> tuple[set[str], set[str]]:
    """(asserted, denied) change categories in a text; "has not grown" denies an increase rather than asserting stability."""
    plain: set[str] = set()
    negated: set[str] = set()
    found = voc.find(text, "change", "resection")
    modifiers = _modifiers(found, text)
    naming = _image_phrases(text) if any(m.value == "new" for m in found) else []
    for m in found:
        if m.start in modifiers or any(s <= m.start and m.end <= e for s, e in naming) or _bare_new(text, m):
            continue  # "has it become smaller in the new one?", "old to new": "new" there names no new lesion
        denied = negated_size_change(m.text) if m.value == "stable" else None
        if denied is not None:
            (plain if m.negated else negated).add("stable" if m.negated else denied)
        else:
            (negated if m.negated else plain).add(m.value)
    return plain, negated


def option_changes(text: str) -> frozenset[Change]:
    """Change categories a text asserts: named ones, minus (or the complement of) denied ones.

    ("Progressively regressing": a decrease; "has not grown": stable or smaller.)
    """
    found = voc.find(text, "change", "resection", "course", "compare")
    plain, negated = mentioned_changes(text)
    if any(m.negated and (m.concept == "course" and m.value == "changed" or m.value == "difference") for m in found):
        plain.add("stable")  # "no significant interval change", "no interval difference", "not different"
    resected = plain & {"gross_total", "partial"}
    if not resected and len(denied := negated & {"gross_total", "partial"}) == 1:
        resected = {"gross_total", "partial"} - denied  # "no enhancing remnant": a gross-total resection
    if resected:
        return frozenset(resected) if len(resected) == 1 else frozenset()  # type: ignore[arg-type]
    if "resolved" in plain:
        plain -= {"decrease"}
    if plain:
        return frozenset(plain) if len(plain) == 1 else frozenset()  # type: ignore[arg-type]
    if negated and negated < SIZE_CHANGES:  # "not grown": stable or smaller; "neither bigger nor smaller": stable
        return SIZE_CHANGES - negated
    return frozenset()


def _comparative_change(text: str) -> frozenset[Change]:
    values = {m.value for m in voc.find(text, "comparative") if not m.negated}
    return frozenset({CHANGE_OF_COMPARATIVE[values.pop()]}) if len(values) == 1 else frozenset()


@cache
def _clauses() -> re.Pattern[str]:
    """What separates the clauses of an answer: punctuation or a clause-breaking word of the vocabulary."""
    # "(1) yes (2) no", "(i) Yes (ii) No", "yes/no", "Bigger than the first: no. Bigger than the middle: yes.": parts
    return re.compile(rf"[,;/]|\.\s+(?=(?-i:[A-Z(]))|\((?:\d|[a-h]|[ivx]{{1,4}})\)|(?<!\S)(?:\d|[a-h])\)|"
                      rf"{voc.pattern('clause_break')}", re.I)


#: The mark before one part of a compound answer: "(a)", "b)", "[c1]", "(ii)", "2." (then a space).
_ENUMERATOR = re.compile(r"^\s*(?:\(\s*[a-z0-9]{1,3}\s*\)|\[\s*[a-z]{0,2}\d{0,2}\s*\]|[a-z]\)|\d\.)\s+", re.I)


def _parts(text: str) -> tuple[bool, ...]:
    """Yes/no per clause of a compound answer ("Yes since baseline, but not since the prior": yes, no)."""
    clauses = [c for c in _clauses().split(text) if c.strip()]
    if len(clauses) < 2:
        return ()
    out = []
    for c in clauses:
        c = _ENUMERATOR.sub("", c)  # "(a) not larger; (b) larger", "[c1] yes, [c2] no": the part's mark
        head = c.strip().split()[0].lower() if c.strip() else ""
        yes = voc.answer_of(c)
        if yes is None and c.split():
            yes = voc.answer_of(c.split()[-1].strip(".!?)"))  # "from the prior no": the answer closes the clause
        if yes is None:
            yes = False if voc.is_negated(head) else True if voc.values_in(c, "time") else None
        if yes is None and voc.find(c, "change", "comparative"):
            yes = not voc.is_negated(c)  # the part's predicate said again ("larger") or denied ("not larger")
        if yes is None:
            return ()
        out.append(yes)
    return tuple(out)


def _distinct(text: str) -> set[str]:
    """A text's words and the visits it names by time ("time:prior"), for telling the parts of a question apart."""
    return set(re.findall(r"[a-z]{3,}", text.lower())) | {f"time:{v}" for v in voc.values_in(text, "time")}


def parts_by_quantifier(text: str, parts: list[str]) -> tuple[bool, ...]:
    """Yes/no per part of a compound question from an answer that quantifies over them, else ().

    "Bigger than both" says yes to every part, "neither" no to every part, and "since baseline only"
    yes to the part it shares distinctive words with ("baseline") and no to the others.
    """
    found = {m.value for m in voc.find(text, "quantifier")}
    if len(found) != 1 or len(parts) < 2:
        return ()
    kind = found.pop()
    if kind != "only":  # "yes to both", "grown from both"; an answer word turns it: "no to both", "both: no" is no to every part
        said = voc.answer_of(text)
        said = voc.answer_of(text.split()[-1].strip(".!?)")) if said is None and text.split() else said
        return tuple([kind == "all" and said is not False] * len(parts))
    mine = _distinct(text)
    words = [_distinct(p) for p in parts]
    named = [bool(mine & (w - set().union(*(o for j, o in enumerate(words) if j != k)))) for k, w in enumerate(words)]
    return tuple(named) if any(named) and not all(named) else ()


def read_option(text: str, n_images: int, *, comparative_is_change: bool = False,
                allowed: frozenset[Change] = SIZE_CHANGES, topic: str | None = None) -> OptionMeaning:
    """The meaning of one option among ``n_images`` images.

    ``comparative_is_change``: the stem sets a later image against an earlier one, so "higher" reads
    as an increase. ``allowed``: the categories an option read by meaning may be assigned. ``topic``:
    the noun the question asks about ("resection"); a short option that names none completes with it
    ("Complete" to "How complete was the surgery?" says a complete resection).
    """
    changes = option_changes(text) or (_comparative_change(text) if comparative_is_change else frozenset())
    if not changes and topic is not None and len(text.split()) <= _ELLIPTICAL_WORDS:
        changes = option_changes(f"{text.strip(' .')} {topic}") & allowed
    score, doubt = None, None
    named = any(mentioned_changes(text))  # words that name several changes ("stable, then grew") are no one change
    if not changes and not named and not voc.is_negated(text) and voc.answer_of(text) is None \
            and not _image_reading(text, n_images):
        found = prototypes.closest_change(text, allowed)
        said = _comparative_change(text)  # the option's own words, read as a change when a later image is compared
        if found is not None and said and said != {found[0]}:
            doubt = (f"'{text}' reads by meaning as {found[0]} (lead {found[1]}) but its words say "
                     f"{next(iter(said))}; it is read as neither")
        elif found is not None:
            changes, score = frozenset({cast(Change, found[0])}), found[1]  # one of ``allowed``
    labels = labels_said(text)
    pairs = _pairs(text, n_images)
    several = len(pairs) > 1  # an assignment of several images names no one image; one image's label keeps both readings
    answer, images = voc.answer_of(text), _image_reading(text, n_images)
    if answer is not None and n_images > 1 and set(images) == set(range(n_images)):
        images = ()  # "Yes, that's what the pictures show": every image named is none chosen
    return OptionMeaning(changes=changes, answer=answer, parts=_parts(text),
                         images=() if several else images, labels={} if several else labels,
                         pairs=pairs, by_meaning=score, doubt=doubt)


def read_options(options: dict[str, str], n_images: int, **kwargs: object) -> dict[str, OptionMeaning]:
    """Every option's meaning, by letter; options that read as the same label are read again by meaning."""
    read = {k: read_option(v, n_images, **kwargs) for k, v in options.items()}  # type: ignore[arg-type]
    for concept in LABELS:
        by_value: dict[str, list[str]] = {}
        for k, m in read.items():
            if concept in m.labels:
                by_value.setdefault(m.labels[concept], []).append(k)
        clashes = [k for ks in by_value.values() if len(ks) > 1 for k in ks]
        if clashes:
            read.update(_relabel(options, read, clashes, concept))
    return read


def _relabel(options: dict[str, str], read: dict[str, OptionMeaning], letters: list[str],
             concept: str) -> dict[str, OptionMeaning]:
    """Options whose words name one label ("T1-weighted ...") read by meaning among the concept's values."""
    values = {v: concept for v in voc.vocabulary().concept(concept)}
    out = {}
    for k in letters:
        if voc.is_negated(options[k]):
            continue  # "without contrast": the words decide; the embedder does not read negation
        found = prototypes.closest(options[k], values)
        words = read[k].labels.get(concept)
        doubt = None
        if found is not None and words is not None and not _related(concept, found[0], words):
            doubt = (f"'{options[k]}' reads by meaning as {found[0]} (lead {found[1]}) but its words say {words}; "
                     "it is read as neither")
            found = None
        labels = {**read[k].labels, concept: found[0]} if found else {c: v for c, v in read[k].labels.items() if c != concept}
        out[k] = replace(read[k], labels=labels, by_meaning=found[1] if found else None, doubt=doubt)
    return out


def doubts(meanings: dict[str, OptionMeaning]) -> str:
    """Why readings by meaning were set aside, for an abstention's reason ("" when none were)."""
    found = [m.doubt for m in meanings.values() if m.doubt]
    return "; " + "; ".join(found) if found else ""


_M = TypeVar("_M")


def the_one(meanings: Mapping[str, _M], fits: Callable[[_M], object]) -> str | None:
    """The single letter whose meaning fits (``fits(meaning) -> bool``); None when none or several do."""
    letters = [k for k, m in meanings.items() if fits(m)]
    return letters[0] if len(letters) == 1 else None
