"""What a closed question's options mean: the change categories, images, labels, yes/no parts they assert.

Read through the clinical vocabulary and the reference grammar (the exact parts): "Interval
enlargement" asserts an increase, "has not grown" a stable-or-smaller lesion, "no longer the same
size" any change but stability, "Higher" an increase when two images are set side by side, "The 1st
image is the FLAIR; the 2nd image is the T1+C" two image-label pairs, "Yes since baseline, but not
since the prior" a yes and a no. An option whose change words the vocabulary does not know is read
by meaning (:mod:`mimir.agent.prototypes`), and only when one category stands out by a clear margin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache

from mimir import vocabulary as voc
from mimir.agent import prototypes
from mimir.agent.labels import LABELS
from mimir.domain import CaseImage

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


@lru_cache(maxsize=8192)
def _image_reading(text: str, n_images: int) -> tuple[int, ...]:
    """Images a text names as positions in the list (time words read as list positions, as options use them)."""
    from mimir.memory.resolver import resolve_text

    images = [CaseImage(path=f"option-image-{i}") for i in range(n_images)]
    hits = [h for h in resolve_text(text, images) if h.indices]
    named = {tuple(sorted(h.indices)) for h in hits}
    return named.pop() if len(named) == 1 else ()  # "the second image, the newer one": one image named twice


@cache
def _pair_clauses() -> re.Pattern[str]:
    # "T2 / FLAIR": a list; a sentence's full stop too, not an abbreviation's before a number ("Pic No. 2")
    return re.compile(rf"[;,]|\s/\s|\.\s+(?=[A-Za-z(])|{voc.pattern('succession')}|{voc.pattern('clause_break')}", re.I)


def labels_said(text: str) -> dict[str, str]:
    """The one value per label attribute a text names; a text that is only "L" or "R" is written as a header writes a side."""
    labels = {c: vs[0] for c in LABELS if len(vs := voc.values_in(text, c, include_negated=False)) == 1}
    bare = text.strip(" .")
    if not labels and len(bare) == 1 and (side := voc.code_of("laterality", bare)) in ("L", "R"):
        labels = {"laterality": side}
    return labels


def _slash_list(text: str) -> list[str]:
    """The labels of "OD/OS", "T1/T2" when each side of the slash is a different, unrelated label of one attribute, else []."""
    pieces = text.strip().split("/")
    read = [labels_said(p) for p in pieces]
    if len(pieces) < 2 or any(len(r) != 1 for r in read) or len({next(iter(r)) for r in read}) != 1:
        return []
    concept = next(iter(read[0]))
    values = [r[concept] for r in read]
    if len(set(values)) != len(values) or any(_related(concept, a, b) for a in values for b in values if a != b):
        return []  # "T2/FLAIR" is one name: FLAIR narrows T2
    return pieces


def _qualified(clauses: list[str]) -> list[str]:
    """Clauses with a phrase that only qualifies the label before it joined to it ("T1, w/ contrast" is one label).

    A clause that names a place of its own ("..., after contrast second") is an item of the list, not a qualifier.
    """
    out: list[str] = []
    for c in clauses:
        lead = voc.find(c, "postmodifier")
        if out and lead and not c[:lead[0].start].strip() and not voc.find(c, "ordinal") and not re.search(r"\d", c):
            out[-1] = f"{out[-1]} {c.strip()}"
        else:
            out.append(c)
    return out


def stated_pairs(stem: str, n_images: int) -> tuple[tuple[int, str], ...]:
    """The image-label pairs a stem states to be confirmed ("is image 1 the T1 and image 2 the FLAIR, or the other way round?").

    Only the clauses that name a label are read, so a preamble ("Just to confirm the labels:") and the
    alternative after them do not count. Two pairs of two images and two labels of one attribute, else ().
    """
    clauses = [c for c in _pair_clauses().split(stem) if len(c.split()) > 1  # ", right, or ...": a tag, no label
               and any(voc.values_in(c, k, include_negated=False) for k in LABELS)]
    pairs = _pairs(" ; ".join(clauses), n_images)
    if len(pairs) != 2 or len({i for i, _ in pairs}) != 2 or len({lab for _, lab in pairs}) != 2:
        return ()
    return pairs


def _pairs(text: str, n_images: int) -> tuple[tuple[int, str], ...]:
    """Image-label pairs of an assignment.

    Each clause names one label and the image it belongs to ("Image 1 is the FLAIR; image 2 is the
    T1+C", "right eye first, left eye second", "the first is the FLAIR and the second the T1"), or
    no clause names an image and the labels are listed in the images' order, one per image ("OS then
    OD", "OD and OS").
    """
    clauses = _qualified([c for c in _pair_clauses().split(text) if c.strip()])
    if len(clauses) == 1:
        clauses = _slash_list(text) or clauses
    out: list[tuple[int, str]] = []
    listed: list[str] = []
    for c in clauses:
        found = [m for m in voc.find(c, *LABELS) if not m.negated]
        labels = {v for concept in LABELS for v in voc.values_in(c, concept, include_negated=False)} or set(labels_said(c).values())
        if len(labels) != 1:
            return ()
        label = labels.pop()
        rest = c
        for m in sorted(found, key=lambda m: -m.start):  # the image named apart from the label ("OD" is no place)
            rest = rest[:m.start] + " " + rest[m.end:]
        imgs = _image_reading(rest, n_images)
        places = {p for m in voc.find(c, "ordinal") if isinstance(p := voc.ordinal_position(m.text), int)}
        if len(places) == 1:
            place = places.pop()
            out.append((place - 1 if place > 0 else n_images + place, label))
        elif len(imgs) == 1:
            out.append((imgs[0], label))
        else:
            listed.append(label)
    if len(clauses) < 2 and len(out) == 1 and not listed:
        return tuple(out)  # "Left eye on the first": one image's label, which fits when that image has it
    if len(clauses) < 2 or out and listed:
        return ()
    if listed:  # one label said twice in other words ("Left, O.S.") restates it: no assignment
        return tuple(enumerate(listed)) if len(listed) == n_images and len(set(listed)) > 1 else ()
    return tuple(out) if len({i for i, _ in out}) == len(out) and all(0 <= i < n_images for i, _ in out) else ()


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
            changes, score = frozenset({found[0]}), found[1]
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


def _related(concept: str, a: str, b: str) -> bool:
    """True when two values of a concept are one, or one narrows the other (T1C and T1)."""
    entries = voc.vocabulary().concept(concept)
    return a == b or entries[a].refines == b or entries[b].refines == a


def doubts(meanings: dict[str, OptionMeaning]) -> str:
    """Why readings by meaning were set aside, for an abstention's reason ("" when none were)."""
    found = [m.doubt for m in meanings.values() if m.doubt]
    return "; " + "; ".join(found) if found else ""


def the_one(meanings: dict[str, OptionMeaning], fits: object) -> str | None:
    """The single letter whose meaning fits (``fits(meaning) -> bool``); None when none or several do."""
    letters = [k for k, m in meanings.items() if fits(m)]  # type: ignore[operator]
    return letters[0] if len(letters) == 1 else None
