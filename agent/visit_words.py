"""Which visit a part names by time, and which of its words name or grade a visit rather than a change or an amount.

"Which is the newer one?" asks for the latest image, "the baseline study" for the first, and a date
names a visit too; "new" in "the new one" names an image, not a new lesion; "most" in "the most recent
exam" grades the visit, and in "the most accurate statement" a judgement of the options, not an amount.
"""

from __future__ import annotations

from mimir import vocabulary as voc
from mimir.memory.grammar import Reference, bare_next, references
from mimir.memory.tokenizer import NOUN_HEADS


def _names_a_visit(text: str, m: voc.Mention) -> bool:
    """True for a change word inside a time word of a phrase that names an image ("the new one", "which is the more new?")."""
    return any(t.tag == "T" and t.start <= m.start and m.end <= t.end and (ref.has("".join(NOUN_HEADS)) or _said_alone(ref, text))
               for ref in references(text) for t in ref.tokens)


def _grades_judgement(text: str, m: voc.Mention) -> bool:
    """True when a degree word grades a judgement of the options ("Which statement is most accurate?"), not an amount."""
    return any(j.start > m.end and not text[m.end:j.start].strip() for j in voc.find(text, "judgement"))


def _before_time(text: str, m: voc.Mention) -> bool:
    """True when a degree word stands right before a time word ("most current", "more recent"): it grades the visit."""
    return any(t.start > m.end and not text[m.end:t.start].strip() for t in voc.find(text, "time"))


def visit_role(text: str) -> voc.TimeRole | None:
    """The visit a part names by time; where it names several, the one a time word gives an image noun.

    "For comparison at the next follow-up I need the baseline study" asks for the baseline: "follow-up"
    there names no image.
    """
    from mimir.memory.dates import without_date_deixis
    from mimir.memory.grammar import references

    text = without_date_deixis(text)  # "taken last Oct 5th 2019" names a date, not the latest visit
    if (role := voc.time_of(text)) is not None:
        return role
    said = set(voc.values_in(text, "time"))
    pairs: tuple[tuple[voc.TimeRole, str], ...] = (("baseline", "earlier"), ("latest", "later"))
    for absolute, relative in pairs:
        if said == {absolute, relative}:
            return absolute  # "the first one made, the more old": one visit said twice
    roles = {str(v) for r in references(text) if r.has("N") for v in r.values("T")}
    return roles.pop() if len(roles) == 1 else None  # type: ignore[return-value]


def visit_at_an_end(text: str, n_images: int | None) -> voc.TimeRole | None:
    """The visit a part names by time: "which is the newer (one)?" asks for the latest, "the older" the baseline.

    Of two images that is the later or earlier one; of more, a reader takes it as the newest or oldest
    ("which one is the more new?"), unless another image is named to compare with ("newer than image 2").
    The time word must name an image ("which shows the newer lesion?" asks about a lesion).
    """
    from mimir.memory.interpret import anchored

    role = visit_role(text)
    cues = [m.start for m in voc.find(text, "reference_cue")]
    if n_images is not None and n_images >= 2 and role in ("later", "earlier") \
            and any(role in r.values("T") and (anchored(r, text) or _said_alone(r, text))
                    and not any(c >= r.start for c in cues) for r in references(text)):
        return "latest" if role == "later" else "baseline"
    return role


def _said_alone(ref: Reference, text: str) -> bool:
    """True for a time word that ends its clause after an article or a copula ("which is the newer?", "which was earlier?")."""
    before = text[:ref.start].split()
    led = ref.tokens[0].tag == "D" or bool(before) and bool(voc.find(before[-1], "copula"))
    return led and all(t.tag in "DT" for t in ref.tokens) and bare_next(text, ref.end)


def _dated(text: str) -> bool:
    from mimir.memory.dates import dates_in

    return bool(dates_in(text))
