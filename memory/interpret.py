"""What a referring phrase means among a case's images: filters, then dates, then a selection.

A reference (:mod:`mimir.memory.grammar`) is read in three steps:

1. explicit image numbers ("image 2", "images 1 to 3") name positions in the case and end it;
2. attribute filters from the vocabulary (modality, sequence, view, side, body part) and dates narrow
   the images to a pool ("the two chest radiographs": the radiographs only);
3. ordinals and counts pick positions in the pool ("the second radiograph", "the last two"), time
   roles pick visits by study date ("the prior FLAIR"), and a bare plural or "all" takes the pool.
"""

from __future__ import annotations

import itertools
import re

from mimir import vocabulary as voc
from mimir.domain import CaseImage
from mimir.memory import attributes
from mimir.memory import phrase_forms as forms
from mimir.memory.grammar import Reference, bare_next
from mimir.memory.mentions import Hit, index_hit, middle, position
from mimir.memory.temporal import bind_roles, on_date, visits
from mimir.memory.tokenizer import NOUN_HEADS, Token, word_class

_FILTER_TAGS = {"S": "sequence", "V": "view", "M": "modality", "L": "laterality", "B": "body_part"}
_Span = tuple[int, int, str]


def _numbers(tokens: list[Token]) -> list[int]:
    """Image numbers after an image noun ("image 2", "images 2 and 3", "images 1 to 3", "image #3")."""
    out: list[int] = []
    after_noun, ranged = False, False
    for t in tokens:
        if t.tag == "N":
            after_noun = True
        elif t.tag == "Q" and after_noun and (t.text.isdigit() or voc.cardinal_value(t.text) is not None
                                              or voc.place_value(t.text)):  # "image 2", "img_02"; not "image pair"
            if ranged and out:
                out += list(range(out[-1] + 1, t.value + 1))
            else:
                out.append(t.value)
            ranged = False
        elif t.tag == "C" and after_noun:
            ranged = t.value in ("to", "-")  # the grammar reads "through", "till" as "to"
        elif t.tag not in "FR":
            after_noun = False
    return out


def _filters(ref: Reference) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for t in ref.tokens:
        if t.tag in _FILTER_TAGS:
            found.setdefault(_FILTER_TAGS[t.tag], set()).add(str(t.value))
    for t in ref.tokens:  # "breast scan", "fundus photo", "eye": the body part inside a modality or part word
        if t.tag in "MP":
            for part in voc.values_in(t.text, "body_part"):
                found.setdefault("body_part", set()).add(part)
    if "sequence" in found:  # "the post-gad T1": T1C narrows T1
        entries = voc.vocabulary().concept("sequence")
        found["sequence"] = {v for v in found["sequence"] if not any(entries[o].refines == v for o in found["sequence"])}
    if "B" in found.get("laterality", set()):
        found["laterality"] = {"L", "R", "B"}
    return found


def _side_is_head(t: Token) -> bool:
    return t.tag == "L" and len(t.text) >= 2 and t.text.isupper()  # OD, OS, OU name the eye itself


def _numbered_visit(ref: Reference, span: _Span, images: list[CaseImage]) -> Hit | None:
    """"Follow-up #2", "fu 1": the N-th visit after the first (the vocabulary's ``numbered_visit`` words count so).

    In time order by study date; undated images are taken in case order, and the reading is then marked
    ambiguous like every other time reference of undated images.
    """
    counted = [t for t in ref.tokens if t.tag == "T" and voc.values_in(t.text, "numbered_visit")]
    numbers = [t.value for t in ref.tokens if t.tag == "Q" and isinstance(t.value, int) and t.value < 100
               and not voc.find(t.text, "collective")]  # "the follow-up pair" counts no visit
    ordinal = _ordinal_before(ref.tokens, counted[0]) if len(counted) == 1 else None
    if ordinal is not None and not numbers and not ref.has("Y"):  # "the second follow-up (scan)" counts the visit
        numbers = [ordinal]
    elif len(counted) != 1 or len(numbers) != 1 or any(t.tag in "NOY" for t in ref.tokens):
        return None
    groups = visits(images, list(range(len(images))))
    order = [g for g in groups if len(g) == 1] if groups else [[i] for i in range(len(images))]
    k = numbers[0]
    if groups is not None and len(order) != len(groups) or not 0 < k < len(order):
        return Hit(*span, [], 0.0, f"no follow-up visit number {k} among {len(order)} visits", [[i] for i in range(len(images))], True)
    if groups is None:
        return Hit(*span, order[k], 0.5, f"follow-up {k}: undated, case order taken as visit order",
                   [order[k], *[g for g in order if g != order[k]]], True)
    return Hit(*span, order[k], 0.9, f"follow-up {k}: visit {k + 1} in time order")


def _ordinal_before(tokens: list[Token], counted: Token) -> int | None:
    """The place an ordinal right before a counting visit word gives ("the 2nd f/u": 2), when it is the phrase's only one."""
    k = tokens.index(counted)
    before = tokens[k - 1] if k else None
    if before is None or before.tag != "O" or not str(before.value).isdigit() or sum(t.tag == "O" for t in tokens) != 1:
        return None
    return int(before.value)


def numbered_alone(ref: Reference, text: str) -> bool:
    """True for a number after the numero sign that stands alone ("No. 2", "#3" as an option): that image."""
    before = text[:ref.start].strip().lower().rstrip(".").strip()
    return len(ref.tokens) == 1 and ref.tokens[0].tag == "Q" and isinstance(ref.tokens[0].value, int) \
        and (before == "#" or before in word_class("numero")) and not text[ref.end:].strip(" .;:!?()")


#: A partitive pronoun after a place in the list ("the second of them", "the last two of these").
_OF_THEM = re.compile(r"\s+of\s+(?:them|these|those|the\s+(?:above|images|scans|studies))\b", re.I)


def anchored(ref: Reference, text: str) -> bool:
    """True when the phrase refers to images at all (not "the left lung", "prior surgery", "the size")."""
    tags = {t.tag for t in ref.tokens}
    has_d = "D" in tags
    sided = any(t.tag == "L" and voc.find(t.text, "sided_part") for t in ref.tokens)  # "both eyes", "each eye"
    if tags & (NOUN_HEADS - {"P"}) or "P" in tags and "L" in tags or sided or any(_side_is_head(t) for t in ref.tokens):
        return True
    if not tags & NOUN_HEADS and any(a.tag == "T" and b.tag == "O" for a, b in itertools.pairwise(ref.tokens)):
        return False  # an order said: "oldest first", "the newest last", "most recent first"
    if any(t.tag == "O" and "one" in t.text.lower() for t in ref.tokens):
        return True  # "the one before last"
    if tags == {"Y"} or numbered_alone(ref, text):
        return True
    if any(t.tag == "T" and voc.values_in(t.text, "numbered_visit") for t in ref.tokens) and "Q" in tags:
        return True  # "f/u 2": a counted visit, whatever follows it
    if ("O" in tags or "T" in tags and all(t.value not in ("earlier", "later") for t in ref.tokens if t.tag == "T")) \
            and _OF_THEM.match(text, ref.end):
        return True  # "the second and third (most recent) of them", "the latest two of these": among the images named before
    nxt = text[ref.end:].lstrip()[:3].lower()
    if "T" in tags:
        times = [t for t in ref.tokens if t.tag == "T"]
        nouny = all(t.value not in ("earlier", "later") and not t.text.lower().startswith(("previous", "recent"))
                    for t in times)
        free = has_d or all(t.value == "baseline" or "follow" in t.text.lower() or voc.values_in(t.text, "numbered_visit")
                            for t in times)
        relation = nxt.startswith("to ") and any(m.start == 0 for m in voc.find(f"{times[-1].text} to", "relation"))
        return nouny and free and not relation and (bare_next(text, ref.end) or nxt[:1].isupper() or nxt.startswith("to "))
    if "O" in tags:
        if text[ref.end:ref.end + 1] == ":" or any(str(t.value) in word_class("list_place") for t in ref.tokens):
            return True
        alone = text.strip(" .;:!?()").lower() == ref.text.lower()  # an option that is only "2nd" names that place
        return (has_d or alone) and bare_next(text, ref.end)
    return False


def interpret(ref: Reference, images: list[CaseImage], text: str) -> Hit | None:
    """The images a reference names, as a hit (None when it does not refer to images)."""
    if not anchored(ref, text):
        return None
    return _interpret(ref, images, text)


def _interpret(ref: Reference, images: list[CaseImage], text: str) -> Hit | None:
    n, span = len(images), (ref.start, ref.end, ref.text)
    if (inner := forms.without_apposition(ref)) is not None:
        return _interpret(inner, images, text)
    ref = forms.range_end_as_place(forms.last_as_prior(ref, text), text)
    if (joined := forms.conjoined(ref, images, text, _interpret)) is not None:
        return joined
    if (counted := _numbered_visit(ref, span, images)) is not None:
        return counted
    numbers = _numbers(ref.tokens) or ([int(ref.tokens[0].value)] if numbered_alone(ref, text) else [])
    if numbers:
        return index_hit(span, [k - 1 for k in numbers], n, 0.95, "image number " + ", ".join(map(str, numbers)))
    pool: list[int] = list(range(n))
    filters = _filters(ref)
    if "modality" not in filters and any(t.tag == "N" and t.value == "film" for t in ref.tokens) \
            and any(voc.code_of("modality", im.modality) == "XR" for im in images):
        filters["modality"] = {"XR"}  # "the AP film": a radiograph where there are radiographs, else any image
    if filters:
        narrowed = _filter(ref, span, filters, images)
        if isinstance(narrowed, Hit):
            return narrowed
        pool = narrowed
    for spec in ref.values("Y"):
        if not any(images[i].study_date for i in pool):
            return Hit(*span, [], 0.0, "no study dates to match", [[i] for i in range(n)], True)
        pool = on_date(spec, images, pool)
        if not pool:
            return Hit(*span, [], 0.0, f"no image dated {spec}", [[i] for i in range(n)], True)
    return _select(ref, span, pool, images, bool(filters) or bool(ref.values("Y")))


def _filter(ref: Reference, span: _Span, filters: dict[str, set[str]], images: list[CaseImage]) -> list[int] | Hit:
    n = len(images)
    verdicts, kept = attributes.verdicts(filters, images)
    if not kept:
        return list(range(n))
    name = attributes.label(kept)
    yes = [i for i, v in enumerate(verdicts) if v]
    unknown = [i for i, v in enumerate(verdicts) if v is None]
    if len(unknown) == n:
        heads = {t.tag for t in ref.tokens} & NOUN_HEADS
        if set(kept) == {"laterality"} and heads <= {"N", "H"} and len(kept["laterality"]) == 1:
            side = next(iter(kept["laterality"]))
            pos = 0 if side == "L" else n - 1
            word = "left" if side == "L" else "right"
            return Hit(*span, [pos], 0.5, f"no laterality known: read as the {word}most image in display order",
                       [[pos]] + [[i] for i in range(n) if i != pos], True)
        if ref.has("OTY"):
            return list(range(n))  # the position or date decides; the attribute only describes
        return Hit(*span, [], 0.0, f"{name}: no metadata; decide from the pixels", [[i] for i in range(n)], True)
    if unknown:
        return Hit(*span, yes, 0.3 if yes else 0.0, f"{name}: metadata incomplete", [[i] for i in yes + unknown], True)
    if not yes:
        return Hit(*span, [], 0.0, f"{name}: no image matches", [], True)
    return yes


def _select(ref: Reference, span: _Span, pool: list[int], images: list[CaseImage], narrowed: bool) -> Hit | None:
    n = len(images)
    of = next((k for k, t in enumerate(ref.tokens) if t.tag == "R" and t.value == "of"), len(ref.tokens))
    counts = [t.value for t in ref.tokens[:of] if t.tag == "Q"]  # "of the three scans" counts the set, not the choice
    count = counts[0] if counts else None
    if (spanned := _place_range(ref, span, pool, n)) is not None:
        return spanned
    ordinals = [t for t in ref.tokens if t.tag == "O"]
    roles = [str(t.value) for t in ref.tokens if t.tag == "T"]
    every = [t for t in ref.tokens if t.tag == "D" and t.value in ("every", "either")]
    if ordinals:
        if roles and any("follow" in t.text.lower() for t in ref.tokens if t.tag == "T"):
            groups = visits(images, pool)
            pool = [i for g in groups[1:] for i in g] if groups else pool  # "the first follow-up"
        return _ordinal(ref, span, ordinals, pool, n, count)
    if roles:
        return bind_roles(span, roles, images, pool, count, ref.plural)
    if count is not None and not any(t.text.lower() == "both" for t in every):
        if len(pool) == count:
            return index_hit(span, pool, n, 0.9, f"the {count} images{' that match' if narrowed else ''}")
        combos = [list(c) for c in itertools.combinations(pool, count)] if 0 < count <= len(pool) <= 5 else [[i] for i in pool]
        return Hit(*span, pool, 0.4, f"{count} named but {len(pool)} images match", combos, True)
    if every and every[0].text.lower() == "both" and len(pool) != 2:
        pairs = [[i, j] for i, j in itertools.combinations(pool, 2)]
        return Hit(*span, pool, 0.4, f"'both' with {len(pool)} images", pairs, True, needs_context="both")
    if every or ref.plural:
        return index_hit(span, pool, n, 0.95 if len(pool) == 2 else 0.9, "every image" + (" that matches" if narrowed else ""))
    if not narrowed:
        return None  # a bare singular ("the image") names nothing in particular
    if len(pool) == 1:
        return Hit(*span, pool, 0.95, "the only image that matches")
    return Hit(*span, pool, 0.5, f"{len(pool)} images match", [[i] for i in pool], True)


def _place_range(ref: Reference, span: _Span, pool: list[int], n: int) -> Hit | None:
    """"the first to the last study", "the second through the fourth": every image from one place to the other, else None.

    A time word that is also a place ("the last study") is read as that place at either end of the range.
    """
    tokens = [r for t in ref.tokens for r in forms.as_ordinal(t)]
    joins = [k for k, t in enumerate(tokens) if t.tag == "C" and t.value == "to"]
    if len(joins) != 1 or any(t.tag in "TQY" for t in tokens):
        return None
    ends = [[t for t in tokens[:joins[0]] if t.tag == "O"], [t for t in tokens[joins[0] + 1:] if t.tag == "O"]]
    if any(len(e) != 1 or e[0].value == "middle" for e in ends):
        return None
    first, last = (position(str(e[0].value), pool) for e in ends)
    if not first or not last or pool.index(first[0]) >= pool.index(last[0]):
        return None
    chosen = pool[pool.index(first[0]):pool.index(last[0]) + 1]
    return index_hit(span, chosen, n, 0.95, f"from the {ends[0][0].text.lower()} to the {ends[1][0].text.lower()}")


def _ordinal(ref: Reference, span: _Span, ordinals: list[Token], pool: list[int], n: int, count: int | None) -> Hit:
    words = ", ".join(t.text.lower() for t in ordinals)
    if len(ordinals) == 1:
        o = ordinals[0]
        word = o.text.lower()
        if o.value == "middle":
            return middle(span, pool, n)
        if count:
            chosen = pool[-count:] if int(o.value) < 0 else pool[int(o.value) - 1:int(o.value) - 1 + count]
            if len(chosen) != count:
                return Hit(*span, [], 0.0, f"'{words} {count}' but {len(pool)} images", [[i] for i in pool], True)
            return index_hit(span, chosen, n, 0.95, f"ordinal '{word}' with count {count}")
        if word in ("next", "subsequent") and ref.plural:
            return index_hit(span, pool[1:], n, 0.8, "the images after the first")
        conf = 0.95
        if word in ("next", "subsequent"):
            conf = 0.8 if len(pool) == 2 else 0.7
        elif word in ("former", "latter"):
            conf = 0.9 if len(pool) == 2 else 0.6
    else:
        conf = 0.95
    idx: list[int] = []
    for o in ordinals:
        if o.value == "middle":
            found = [pool[len(pool) // 2]] if len(pool) % 2 else None
        else:
            found = position(str(o.value), pool)
        if found is None:
            k = int(o.value) if o.value != "middle" else len(pool)
            return index_hit(span, [k - 1 if k > 0 else n + k], n, 0.0, "")
        idx += found
    return index_hit(span, idx, n, conf, f"ordinal{'s' if len(ordinals) > 1 else ''}: {words}")
