"""Co-reference questions: which image is the FLAIR (or is not), what a named image is, which image is which.

Labels come from timeline metadata (series description, view position, laterality) when every
needed image has them, else from a capability that classifies that attribute, run on each image (the
next one when one refuses it). A question that names a view and a side ("the CC view of the left
breast") wants the one image that has both. Dates answer "which scan is the most recent / was taken
on 5 October 2019". Options are read by meaning (:mod:`mimir.agent.meaning`): an image, a label, or
image-label pairs; one option must fit. A question that names a finding instead of a label ("which
image shows signs of cancer?") is :mod:`~mimir.agent.planners.presence`'s.
"""

from __future__ import annotations

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.intents import Intent
from mimir.agent.label_pairs import stated_pairs
from mimir.agent.meaning import OptionMeaning, doubts, read_options, the_one
from mimir.agent.planners import common, routing
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.frame import named_images, says, settled
from mimir.agent.planners.words import sequence_of, side_of, side_value
from mimir.agent.state import Draft, PlannedCall, ToolRecord
from mimir.agent.visit_words import visit_at_an_end
from mimir.domain import CaseImage, Evidence
from mimir.memory.dates import dates_in
from mimir.tools.framework.capabilities import ClassificationReading


def _from_metadata(attribute: str, image: CaseImage) -> str | None:
    if attribute == "sequence":
        return sequence_of(image)
    if attribute == "laterality":
        return side_of(image)
    return voc.code_of("view", image.view) if attribute == "view" else None


def _attribute(intent: Intent, meanings: dict[str, OptionMeaning]) -> str | None:
    if intent.attribute is not None:
        return intent.attribute
    named = {c for m in meanings.values() for c in m.labels} | {c for m in meanings.values() for _, lab in m.pairs
                                                               for c in ("sequence", "laterality", "view")
                                                               if lab in voc.vocabulary().concept(c)}
    return named.pop() if len(named) == 1 else None


def plan(view: PlanView, intent: Intent) -> Decision | None:
    """Labels or dates still needed, else the option; None hands over to the visual route."""
    n = len(view.case.images)
    meanings = read_options(view.question.options, n)
    if intent.kind == "when":
        return by_date(view, intent, meanings)
    if intent.frame == "assignment" and intent.attribute is not None:
        return _confirm_assignment(view, intent, intent.attribute, meanings)
    attribute = _attribute(intent, meanings)
    if attribute is None or not any(m.images or m.labels or m.pairs for m in meanings.values()) and view.question.closed:
        return None  # no option names an image or a label: not a question of which image is which
    pairs = bool(meanings) and all(m.pairs if intent.kind != "identify" else len(m.pairs) > 1 for m in meanings.values())
    asked = None if pairs or intent.kind == "identify" else _asked_image(view, intent)
    if intent.kind == "attribute" and asked is None and not pairs:
        return None
    needed = [asked] if asked is not None else list(range(n))
    value = intent.value if intent.kind == "identify" and not intent.negated else None
    labels, evidence, calls = _labels(view, attribute, needed, value)
    if intent.kind == "identify" and intent.also and labels is not None:
        return _identify_all(view, intent, attribute, labels, evidence, calls, meanings)
    if calls:
        return calls
    if labels is None:
        return None
    if not view.question.closed:
        return Draft(text="; ".join(f"Image {i + 1} is {voc.name_of(attribute, lab)}" for i, lab in labels.items()) + ".",
                     evidence=evidence)
    if pairs:
        letter = the_one(meanings, lambda m: all(labels.get(i) == lab for i, lab in m.pairs))
    elif asked is not None:  # options that all name a label are labels, even where a side also reads as a place
        labelled = all(attribute in m.labels for m in meanings.values())
        letter = the_one(meanings, lambda m: m.labels.get(attribute) == labels[asked] and (labelled or not m.images))
    else:
        letter = _identify(view, intent, labels, meanings, evidence)
    if letter is None:
        return common.abstain(f"the labels found match no single option{doubts(meanings)}", evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence)


def _confirm_assignment(view: PlanView, intent: Intent, attribute: str, meanings: dict[str, OptionMeaning]) -> Decision:
    """Yes when the labels found are as the stem states them, no when they are the other way round; else abstain."""
    (i, a), (j, b) = stated_pairs(intent.text, len(view.case.images))
    labels, evidence, calls = _labels(view, attribute, [i, j])
    if calls:
        return calls
    if labels is None:
        return common.abstain(f"no {attribute} label for images {i + 1} and {j + 1}", evidence)
    stated, swapped = labels.get(i) == a and labels.get(j) == b, labels.get(i) == b and labels.get(j) == a
    if not stated and not swapped:
        return common.abstain(f"the labels found ({labels.get(i)}, {labels.get(j)}) are neither as stated nor the other "
                              "way round", evidence)
    letter = the_one(meanings, lambda m: m.answer is stated)
    if letter is None:
        return common.abstain(f"no single option answers {'yes' if stated else 'no'}", evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence)


def _identify(view: PlanView, intent: Intent, labels: dict[int, str], meanings: dict[str, OptionMeaning],
              evidence: list[Evidence]) -> str | None:
    """The option naming the one image that is (or, negated, is not) the asked label."""
    target = intent.value
    if target is None:
        return None
    if intent.negated:
        matches = [i for i, lab in labels.items() if lab != target]
    else:
        matches = [i for i, lab in labels.items() if lab == target]
        if len(matches) != 1:
            matches = _most_probable(view, target, evidence)
    if len(matches) != 1:
        return None
    return the_one(meanings, lambda m: m.images == (matches[0],))


def _identify_all(view: PlanView, intent: Intent, attribute: str, labels: dict[int, str], evidence: list[Evidence],
                  calls: list[PlannedCall], meanings: dict[str, OptionMeaning]) -> Decision | None:
    """The option naming the one image that has every label the part names ("the right MLO": view and side)."""
    n = len(view.case.images)
    per_attribute = {attribute: labels}
    for other, value in intent.also:
        more, ev, cs = _labels(view, other, list(range(n)), value)
        if more is None:
            return None
        per_attribute[other], evidence, calls = more, evidence + ev, calls + cs
    if calls:
        return calls
    wanted = {attribute: intent.value, **dict(intent.also)}
    matches = [i for i in range(n) if all(per_attribute[a].get(i) == v for a, v in wanted.items())]
    letter = the_one(meanings, lambda m: m.images == (matches[0],)) if len(matches) == 1 else None
    if letter is None:
        return common.abstain(f"{len(matches)} images have every label asked ({', '.join(map(str, wanted.values()))})",
                              evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence)


#: The question says one image is the target; when no classifier names it first, the image with the
#: highest probability for it is taken only if that probability is at least this many times the next.
PROBABILITY_MARGIN = 2.0


def _most_probable(view: PlanView, target: str, evidence: list[Evidence]) -> list[int]:
    """[the image most probably showing ``target``] when it stands out clearly, else []."""
    probs: dict[int, float] = {}
    for r in view.results("classifies"):
        reading = r.read(ClassificationReading)
        if reading is None:
            continue
        by_value = {side_value(k): v for k, v in reading.probabilities.items()}
        if target in by_value:
            probs[reading.image_index] = float(by_value[target])
    ranked = sorted(probs, key=lambda i: probs[i], reverse=True)
    if len(ranked) < 2 or probs[ranked[0]] < PROBABILITY_MARGIN * max(probs[ranked[1]], 1e-6):
        return []
    best = ranked[0]
    evidence.append(Evidence(statement=f"No image was classified {target} first; image {best + 1} is the most "
                                       f"probable ({probs[best]:.2f} vs {probs[ranked[1]]:.2f})",
                             image_indices=ranked, values={f"p_{target}_image{i + 1}": round(probs[i], 4) for i in ranked}))
    return [best]


def by_date(view: PlanView, intent: Intent, meanings: dict[str, OptionMeaning]) -> Draft | None:
    """The most recent, the earliest, or the one dated as asked (None when a needed date is unknown)."""
    images = view.case.images
    known = [img.study_date for img in images]
    dates = [d for d in known if d is not None]
    if len(dates) != len(known):
        return None
    evidence = [Evidence(statement=f"Image {i + 1} was taken on {d}", image_indices=[i],
                         values={"study_date": str(d), "source": "metadata"}) for i, d in enumerate(dates)]
    role = visit_at_an_end(intent.text, len(images))
    if role in ("latest", "baseline") and len(set(dates)) == len(dates):
        pick = max if role == "latest" else min
        index = pick(range(len(images)), key=lambda i: dates[i])
        what = "most recent" if role == "latest" else "earliest"
    else:
        named = _dated_images(view) or named_images(view)  # "imaging performed 14-Jun-2015. Which of these is that study?"
        if len(named) != 1:
            return None
        index, what = named[0], f"one taken on {dates[named[0]]}"
    if not view.question.closed:
        return Draft(text=f"Image {index + 1} is the {what} ({dates[index]}).", evidence=evidence)
    letter = the_one(meanings, lambda m: m.images == (index,))
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence) if letter else None


def _dated_images(view: PlanView) -> list[int]:
    """The images the stem's dated mentions bind ("the study performed 14-Jun-2015"), beside any others it names."""
    return sorted({i for b in settled(view) if dates_in(b.mention) for i in b.image_indices})


def _asked_image(view: PlanView, intent: Intent) -> int | None:
    """The one image the question names, from the resolver's bindings (after any interrupt), else its wording."""
    named = {i for b in view.resolution.bindings if says(intent.text, b.mention) and len(b.image_indices) == 1
             for i in b.image_indices}
    if len(named) == 1:
        return named.pop()
    return opt.image_of(intent.text, len(view.case.images))


def _labels(view: PlanView, attribute: str, indices: list[int],
            value: str | None = None) -> tuple[dict[int, str] | None, list[Evidence], list[PlannedCall]]:
    """Per-image labels of one attribute, the evidence for them, and the classifier calls still to make.

    Metadata first; else the classifiers that can tell ``value`` on that image, the next one when one
    refuses it (a fundus classifier refuses a grey mammogram).
    """
    labels: dict[int, str] = {}
    evidence: list[Evidence] = []
    calls: list[PlannedCall] = []
    for i in indices:
        if (meta := _from_metadata(attribute, view.case.images[i])) is not None:
            labels[i] = meta
            evidence.append(Evidence(statement=f"Image {i + 1} is {meta} (timeline metadata)", image_indices=[i],
                                     values={"label": meta, "source": "metadata"}))
            continue
        state = _classified(view, attribute, i, value)
        if state is None:
            return None, [], []
        if isinstance(state, PlannedCall):
            calls.append(state)
            continue
        labels[i], source, record, probability = state
        evidence.append(Evidence(statement=f"Image {i + 1} is {labels[i]} ({source})", image_indices=[i],
                                 tool_run_ids=common.run_ids(record), values={"label": labels[i], "probability": probability}))
    return labels, evidence, calls


def _classified(view: PlanView, attribute: str, index: int,
                value: str | None) -> tuple[str, str, ToolRecord, float] | PlannedCall | None:
    """(label, source, record, probability) from the first classifier that answered, the next call, or None."""
    for offer in routing.classifiers(view, attribute, index, value):
        call = offer.call(f"{attribute} of image {index + 1}", image_index=index)
        record = view.record_for(call)
        if record is None:
            return call
        reading = record.read(ClassificationReading)
        if reading is not None:
            return side_value(reading.label), offer.capability.source or offer.tool, record, reading.probability
    return None
