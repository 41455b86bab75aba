"""What a yes/no part asserts: the change categories its words say, and how a frame around its statement judges it.

"Has it grown?" asserts an increase, "has it not grown" stable or smaller; "would it be wrong to say
the mass has grown?" embeds "the mass has grown" and asks whether it is false.
"""

from __future__ import annotations

import re
from typing import Literal, cast

from mimir import vocabulary as voc
from mimir.agent.labels import premise_and_question
from mimir.agent.meaning import CHANGE_OF_COMPARATIVE, SIZE_CHANGES, Change, mentioned_changes

#: How a yes/no part judges the statement it embeds: "plain" (no frame, or "is it true that ..."),
#: "inverted" ("would it be wrong to say ..."), "unread" (a frame whose judgement is not read).
Frame = Literal["plain", "inverted", "unread", "assignment"]
_RESECTIONS: frozenset[Change] = frozenset({"gross_total", "partial"})


def _asserted(text: str) -> frozenset[Change]:
    """The change categories a yes/no part asserts (a negated one asserts the others)."""
    # mentioned_changes reads the vocabulary's change and resection concepts, whose values are Change values
    plain, negated = cast("tuple[set[Change], set[Change]]", mentioned_changes(text))
    if plain & _RESECTIONS:
        return frozenset(plain & _RESECTIONS)
    if len(resected := negated & _RESECTIONS) == 1:
        return frozenset(_RESECTIONS - resected)  # "free of residual tumour"
    if len(plain) == 1:
        return frozenset(plain)
    if len(negated) == 1 and negated <= SIZE_CHANGES:
        return SIZE_CHANGES - negated
    compared = {m.value: m.negated for m in voc.find(text, "comparative")
                if m.value == "equal" or m.text.lower() in _AMOUNTS or voc.find(text, "quantity")}
    if len(compared) == 1 and not plain | negated:  # "is it the same as on the last exam?": stable; "denser" is no size
        value, denied = compared.popitem()
        said = CHANGE_OF_COMPARATIVE[value]
        return SIZE_CHANGES - {said} if denied else frozenset({said})
    changed = [m for m in voc.find(text, "course") if m.value == "changed"]
    if len(changed) == 1 and not plain | negated:  # "has it changed in size?": any change but stability
        return frozenset({"stable"}) if changed[0].negated else frozenset({"increase", "decrease"})
    return frozenset()


def _asked_change(text: str) -> frozenset[Change]:
    """The change categories a yes/no part asserts: its asking sentence's own where a premise says others.

    "Hx bleed, new confusion. Prior = exam 1. Bleed unchanged vs prior? Y/N" asks whether it is unchanged.
    """
    if (split := premise_and_question(text)) is not None and (own := _asserted(split[1])):
        return own
    return _asserted(text)


def statement_frame(text: str) -> tuple[str, Frame]:
    """(the statement a yes/no question embeds, how the question judges it).

    "Is it fair to say the mass has grown?" embeds "the mass has grown" and asks whether it is true;
    "would it be wrong to state that ..." whether it is false. A verb of saying with no judgement
    before it, or a judgement under a negation ("isn't it right to say ..."), is unread.
    """
    frames = voc.find(text, "statement_frame")
    judged = voc.find(text, "judgement")
    cue = next((f for f in frames if len(re.findall(r"\w+", text[f.end:])) >= 2  # a statement follows it
                and (f.value == "say" or any(j.end <= f.start and len(text[j.end:f.start].split()) <= 1 for j in judged))),
               None)
    if cue is None:
        return text, "plain"
    nearest = max((j for j in judged if j.start <= cue.start), key=lambda j: j.start, default=None)
    statement = text[cue.end:]
    if nearest is None or nearest.negated:
        return statement, "unread"
    return statement, "plain" if nearest.value == "true" else "inverted"


#: Comparatives that say an amount by themselves; others ("denser", "more prominent") compare a size only beside a
#: word of size ("a denser and larger haematoma").
_AMOUNTS = frozenset({"more", "less", "fewer", "greater", "lesser"})
