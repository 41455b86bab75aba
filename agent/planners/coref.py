"""Co-reference questions: which image is the FLAIR / the left eye, or what a named image shows.

Labels come from timeline metadata (series description, laterality) when every needed image has
them, else from a classifier expert run on each image.
"""

from __future__ import annotations

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.planners import common, routing
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.words import sequence_named, sequence_of, side_named, side_of, side_value
from mimir.agent.state import Draft, PlannedCall
from mimir.domain import CaseImage, Evidence
from mimir.tools.capabilities import ClassificationReading


def _time_asked(stem: str) -> str | None:
    """'latest' or 'baseline' when the stem asks which image is the most recent or the earliest."""
    role = voc.time_of(stem)
    return role if role in ("latest", "baseline") else None


def _target(view: PlanView) -> tuple[str, str | None]:
    """The attribute asked about (sequence or laterality) and the value the stem names, if any."""
    stem = view.question.stem
    if (seq := sequence_named(stem)) is not None or any(sequence_named(v) for v in view.question.options.values()):
        return "sequence", seq
    return "laterality", side_named(stem)


def _from_metadata(attribute: str, image: CaseImage) -> str | None:
    return sequence_of(image) if attribute == "sequence" else side_of(image)


def plan(view: PlanView) -> Decision | None:
    """Labels still needed (classifier calls), else the option; None hands over to the visual route."""
    n, options = len(view.case.images), view.question.options
    if _time_asked(view.question.stem) is not None:
        return by_date(view)
    kind, target = _target(view)
    names_images = any(opt.image_of(v, n) is not None for v in options.values())
    asked = _asked_image(view)
    if names_images and target is None or not names_images and asked is None:
        return None
    needed = list(range(n)) if names_images else [asked]
    labels, evidence, calls = _labels(view, kind, [i for i in needed if i is not None])
    if calls:
        return calls
    if labels is None:
        return None
    if names_images:
        matches = [i for i, lab in labels.items() if lab == target]
        if len(matches) != 1 and target is not None:
            matches = _most_probable(view, target, evidence)
        letter = opt.letter_for_image(options, matches[0], n) if len(matches) == 1 else None
    else:
        letter = opt.letter_for_label(options, labels[asked]) if asked is not None else None
    if not view.question.closed:
        concept = opt.concept_of(next(iter(labels.values()), "")) or kind
        text = "; ".join(f"Image {i + 1} is {voc.name_of(concept, lab)}" for i, lab in labels.items())
        return Draft(text=text + ".", evidence=evidence)
    return Draft(letter=letter, text=f"{letter}: {options[letter]}", evidence=evidence) if letter else None


#: The question says one image is the target; when no classifier names it first, the image with the
#: highest probability for it is taken only if that probability is at least this many times the next.
PROBABILITY_MARGIN = 2.0


def _most_probable(view: PlanView, target: str, evidence: list[Evidence]) -> list[int]:
    """[the image most probably showing ``target``] when it stands out clearly, else []."""
    names = {"L": "left", "R": "right"}
    probs: dict[int, float] = {}
    for r in view.results("classifies"):
        reading = r.read(ClassificationReading)
        p = reading.probabilities if reading is not None else {}
        value = p.get(target, p.get(names.get(target, target)))
        if reading is not None and value is not None:
            probs[reading.image_index] = float(value)
    ranked = sorted(probs, key=lambda i: probs[i], reverse=True)
    if len(ranked) < 2 or probs[ranked[0]] < PROBABILITY_MARGIN * max(probs[ranked[1]], 1e-6):
        return []
    best = ranked[0]
    evidence.append(Evidence(statement=f"No image was classified {target} first; image {best + 1} is the most "
                                       f"probable ({probs[best]:.2f} vs {probs[ranked[1]]:.2f})",
                             image_indices=ranked, values={f"p_{target}_image{i + 1}": round(probs[i], 4) for i in ranked}))
    return [best]


def by_date(view: PlanView) -> Draft | None:
    """The most recent or the earliest image by study date (None when any date is unknown)."""
    images = view.case.images
    dates = [img.study_date for img in images]
    if any(d is None for d in dates) or len(set(dates)) < len(dates):
        return None
    latest = _time_asked(view.question.stem) == "latest"
    pick = max if latest else min
    index = pick(range(len(images)), key=lambda i: dates[i])  # type: ignore[arg-type, return-value]
    evidence = [Evidence(statement=f"Image {i + 1} was taken on {d}", image_indices=[i],
                         values={"study_date": str(d), "source": "metadata"}) for i, d in enumerate(dates)]
    which = "most recent" if latest else "earliest"
    letter = opt.letter_for_image(view.question.options, index, len(images))
    if not view.question.closed:
        return Draft(text=f"Image {index + 1} is the {which} ({dates[index]}).", evidence=evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence) if letter else None


def _asked_image(view: PlanView) -> int | None:
    """The one image the stem names, from the resolver's bindings (after any interrupt), else its wording."""
    stem = view.question.stem
    named = {i for b in view.resolution.bindings if b.mention and b.mention in stem and len(b.image_indices) == 1
             for i in b.image_indices}
    if len(named) == 1:
        return named.pop()
    return opt.image_of(stem, len(view.case.images))


def _labels(view: PlanView, attribute: str,
            indices: list[int]) -> tuple[dict[int, str] | None, list[Evidence], list[PlannedCall]]:
    """Per-image labels, the evidence for them, and the classifier calls still to make."""
    labels: dict[int, str] = {}
    evidence: list[Evidence] = []
    calls: list[PlannedCall] = []
    for i in indices:
        if (meta := _from_metadata(attribute, view.case.images[i])) is not None:
            labels[i] = meta
            evidence.append(Evidence(statement=f"Image {i + 1} is {meta} (timeline metadata)", image_indices=[i],
                                     values={"label": meta, "source": "metadata"}))
            continue
        offers = routing.classifiers(view, attribute, i)
        if not offers:
            return None, [], []
        call = offers[0].call(f"{attribute} of image {i + 1}", image_index=i)
        record = view.record_for(call)
        reading = record.read(ClassificationReading) if record is not None else None
        if reading is not None:
            labels[i] = side_value(reading.label)
            evidence.append(Evidence(statement=f"Image {i + 1} is {labels[i]} ({offers[0].capability.source or offers[0].tool})",
                                     image_indices=[i], tool_run_ids=common.run_ids(record),  # type: ignore[arg-type]
                                     values={"label": labels[i], "probability": reading.probability}))
        elif record is not None:
            return None, [], []
        else:
            calls.append(call)
    return labels, evidence, calls
