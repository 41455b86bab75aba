"""Which image shows a finding: "Which of these mammograms most likely shows signs of breast cancer?".

The stem names a finding, not an attribute of the images. Every image is segmented by a capability
that segments that finding on its modality (as for sizes), and the answer is the image with the
lesion: the only one with any, or the one whose lesion is at least ``PRESENCE_MARGIN`` times the next
largest. A negated stem ("which image does not show ...") wants the only image without one.
"""

from __future__ import annotations

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.planners import common, routing, words
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.readings import lesion_size
from mimir.agent.state import Draft
from mimir.domain import Evidence
from mimir.tools.framework.capabilities import SegmentationReading

#: The largest lesion is taken when no other image has one, or when it is this many times the next.
PRESENCE_MARGIN = 2.0


def plan(view: PlanView) -> Decision | None:
    """Segmentation calls still needed, else the option naming the image; None when no finding is named."""
    if not words.findings_named(view.question.stem):
        return None
    n = len(view.case.images)
    state = routing.segmentations(view, list(range(n)), "finding")
    if state is None:
        return None
    _, records, calls = state
    if calls:
        return calls
    readings = {i: rec.read(SegmentationReading) for i, rec in records.items()}
    sizes = {i: lesion_size(r)[0] if r is not None else 0.0 for i, r in readings.items()}
    unit = "mm2" if all(r is None or len(r.shape) < 3 for r in readings.values()) else "mL"
    evidence = [Evidence(statement=f"Image {i + 1}: largest lesion {sizes[i]:.1f} {unit}", image_indices=[i],
                         tool_run_ids=common.run_ids(records[i]), values={"size": round(sizes[i], 3), "unit": unit})
                for i in range(n)]
    index = _without(sizes) if voc.is_negated(view.question.stem) else _with(sizes)
    if index is None:
        return common.abstain("no single image stands out as showing the finding", evidence)
    letter = opt.letter_for_image(view.question.options, index, n)
    if letter is None:
        return common.abstain(f"no option names image {index + 1}", evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence)


def _with(sizes: dict[int, float]) -> int | None:
    ranked = sorted(sizes, key=lambda i: sizes[i], reverse=True)
    best, rest = sizes[ranked[0]], [sizes[i] for i in ranked[1:]]
    return ranked[0] if best > 0 and (not rest or best >= PRESENCE_MARGIN * rest[0]) else None


def _without(sizes: dict[int, float]) -> int | None:
    empty = [i for i, v in sizes.items() if v <= 0]
    return empty[0] if len(empty) == 1 else None
