"""Choosing between a yes and a no option from a measured change, checked against what each option says.

Options often restate the answer ("Yes, free from residual tumour" / "No, tumour remains"). The yes or
no is taken from whether the question's assertion holds (:func:`holds`); the statement after it must
agree with the measurement. When it does not, the stem was misread (an unknown negation, an unfamiliar
word), and the answer abstains saying so rather than pick an option whose own words contradict what
was measured. When the stem asserts nothing readable ("Do the scans bear that out?"), options that
each state a change are chosen by that change.
"""

from __future__ import annotations

import re

from mimir import vocabulary as voc
from mimir.agent.intents import Intent
from mimir.agent.meaning import OptionMeaning, option_changes, the_one

Change = voc.Change
_LEAD = re.compile(r"^[\s,;:.\-–—)(]+")


def holds(intent: Intent, change: Change) -> bool | None:
    """Whether what a yes/no part asks holds for the measured change (None: it asserts nothing readable).

    A part that asks whether its statement is wrong ("would it be wrong to say it has grown?") holds
    when the statement does not.
    """
    if not intent.asserted or intent.frame == "unread":
        return None
    if change == "resolved":
        true = bool(intent.asserted & {"resolved", "decrease", "gross_total"})
    else:
        true = change in intent.asserted
    return true if intent.frame == "plain" else not true


def change_letter(meanings: dict[str, OptionMeaning], change: Change) -> str | None:
    """The option asserting exactly this change, else the one option whose assertion includes it."""
    exact = the_one(meanings, lambda v: v.changes == {change})
    if exact is None and change == "resolved":
        exact = the_one(meanings, lambda v: bool(v.changes & {"decrease", "gross_total"}) and len(v.changes) == 1)
    return exact or the_one(meanings, lambda v: change in v.changes)


def stated(text: str) -> frozenset[Change]:
    """The change an answer states after its yes or no ("No - it is smaller": a decrease), else none.

    Only a yes or no set off by punctuation is an answer apart from what follows; in "No residual" the
    "no" belongs to the statement (a gross-total resection).
    """
    found = [m for m in voc.find(text, "answer") if m.start == 0]
    if not found:
        return frozenset()
    after = text[found[0].end:]
    lead = _LEAD.match(after)
    if lead is None or not lead.group().strip():
        return option_changes(text) if after.strip() else frozenset()
    return option_changes(after[lead.end():])


def _fits(said: frozenset[Change], change: Change) -> bool:
    return change in said or change == "resolved" and bool(said & {"decrease", "gross_total"})


def choose(intent: Intent, change: Change, meanings: dict[str, OptionMeaning],
           options: dict[str, str]) -> tuple[str | None, str | None]:
    """The yes or no option for a measured change, and why none is chosen when it is not."""
    said = {k: stated(options[k]) for k in meanings}
    truth = holds(intent, change)
    unmatched = f"the measured change ({change}) matches no single option"
    if truth is None:  # each option says its change ("Yes - gross total resection" / "No - tumour remains"): choose by that
        fitting = [k for k, s in said.items() if len(s) == 1 and _fits(s, change)] if all(said.values()) else []
        return (fitting[0], None) if len(fitting) == 1 else (None, unmatched)
    letter = the_one(meanings, lambda v: v.answer is truth)
    if letter is None:
        return None, unmatched
    if said[letter] and not _fits(said[letter], change):
        return None, (f"option {letter} answers {'yes' if truth else 'no'} but its own words say "
                      f"{'/'.join(sorted(said[letter]))} and the measurement says {change}: the question was not read "
                      "with confidence")
    others = [k for k in said if k != letter and said[k] and said[k] <= {change}]
    if others:
        return None, (f"option {others[0]} states the measured change ({change}) but answers "
                      f"{'no' if truth else 'yes'}: the question was not read with confidence")
    return letter, None
