"""Which declared capability fits an image and a question: modality, dimensions, and what it targets.

A segmentation capability targets a finding or structure ("brain tumour", "intracranial
haemorrhage", "liver"); it fits a question that names that finding (or only a generic lesion) on an
image of a modality it takes. Nothing here names a tool or a bundle.
"""

from __future__ import annotations

from mimir.agent.offers import Offer
from mimir.agent.planners import words
from mimir.agent.planners.base import PlanView
from mimir.agent.state import PlannedCall, ToolRecord
from mimir.tools.framework.capabilities import Capability


def image_modality(view: PlanView, index: int) -> str | None:
    """The image's modality from its metadata, else the one the question names (MR, CT, ...)."""
    modality = words.modality_of(view.case.images[index].modality)
    return modality or words.modality_named(view.case.question)


def target_score(capability: Capability, text: str) -> int:
    """How well a capability's target matches what ``text`` asks about: shared findings, then shared words."""
    mine = words.findings_named(" ".join((capability.target, *capability.values)))
    asked = words.findings_named(text)
    return 2 * len(mine & asked) + sum(1 for w in words.content_words(capability.target) if w in words.content_words(text))


def named_findings_unmet(view: PlanView, offers: list[Offer]) -> set[str]:
    """Specific findings the question names that none of ``offers`` targets (empty when all are met)."""
    asked = words.findings_named(view.case.question)
    covered: set[str] = set()
    for o in offers:
        covered |= words.findings_named(" ".join((o.capability.target, *o.capability.values)))
    return asked - covered if asked and not asked & covered else set()


def segmenters(view: PlanView, index: int) -> list[Offer]:
    """Capabilities that segment what the question is about on image ``index``, best first."""
    modality = image_modality(view, index)
    offers = view.offers.find("segments", modality=modality)
    if modality is not None:  # declarations for exactly this modality before those for any
        offers.sort(key=lambda o: not o.capability.modalities)
    return sorted(offers, key=lambda o: -target_score(o.capability, view.case.question))


def classifiers(view: PlanView, attribute: str, index: int, value: str | None = None) -> list[Offer]:
    """Capabilities that classify ``attribute`` on image ``index``, best first.

    The image's modality (metadata, else the one the question names) narrows them; when the question
    asks for one ``value``, only classifiers that can answer it are kept ("CC" needs one whose values
    include CC, not a PA / AP classifier).
    """
    offers = [o for o in view.offers.find("classifies", modality=image_modality(view, index))
              if o.capability.target == attribute]
    if value is not None:
        offers = [o for o in offers if value in {words.side_value(v) for v in o.capability.values}]
    return offers


def segmentations(view: PlanView, indices: list[int],
                  purpose: str) -> tuple[dict[int, Offer], dict[int, ToolRecord], list[PlannedCall]] | None:
    """Per image the segmenter chosen, its successful record where there is one, and the calls still to make.

    Each image gets the best segmenter that has not failed on it (the next one when one fails). None
    when some image has no segmenter left: every capable tool failed on it.
    """
    chosen: dict[int, Offer] = {}
    records: dict[int, ToolRecord] = {}
    calls: list[PlannedCall] = []
    for i in indices:
        todo = [(o, o.call(f"{purpose}, image {i + 1}", image_index=i)) for o in segmenters(view, i)]
        found = next(((o, r) for o, c in todo if (r := view.record_for(c)) is not None and r.ok), None)
        if found is not None:
            chosen[i], records[i] = found
            continue
        untried = [(o, c) for o, c in todo if not view.attempted(c)]
        if not untried:
            return None
        chosen[i] = untried[0][0]
        calls.append(untried[0][1])
    return chosen, records, calls
