"""Questions about a patient, not files: bind "the prior", "baseline", "the March 2020 MRI" to studies.

The patient's studies of the modality in question (named, else that of the given images, else the
only one, else the one where a tool segments the finding asked about) stand in for images, one per
study, and the reference grammar binds the question's mentions among them by date, as it does among
a case's images. The studies compared are the ones bound; one bound study is compared with the
current (latest) one; none, with the study before the current one (the most recent interval), or
with every study for a whole course ("over time", "nadir"). In each study the comparable image is
then picked (:mod:`mimir.agent.studies`).

Explicit images stay first in the case; timeline images join them only when the question refers to
studies the given images do not hold ("compare this upload with the prior").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mimir import vocabulary as voc
from mimir.agent.offers import Offers
from mimir.agent.planners import words
from mimir.agent.studies import Pick, StudyRow, common_sequence, pick_images
from mimir.domain import Case, CaseImage, Evidence
from mimir.memory.resolver import resolve


@dataclass
class Problem:
    """A reference that cannot be bound as asked, with the studies a person could choose from.

    ``preferred`` is the reading taken in batch when there is one (the problem is then only asked
    about in chat); without it the question cannot be answered as asked.
    """

    mention: str
    reason: str
    candidates: list[list[StudyRow]] = field(default_factory=list)
    preferred: list[StudyRow] | None = None


#: A person's choices so far: mention -> the study ids they picked.
Pins = dict[str, list[int]]


@dataclass
class Gathered:
    """The case with the timeline images the question needs, and the evidence for each binding."""

    case: Case
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: Problem | None = None
    #: Each bound mention -> the indices of its studies' images in ``case`` (the resolver keeps these).
    settled: dict[str, list[int]] = field(default_factory=dict)


def needs_timeline(case: Case) -> bool:
    """True when the question refers to studies the given images do not hold."""
    if not case.images:
        return True
    if not voc.values_in(case.question, "time") and not voc.lookups_asked(case.question):
        return False
    unbound = [b for b in resolve(case).bindings if not b.image_indices and voc.values_in(b.mention, "time")]
    one_visit = len({i.study_date for i in case.images}) == 1 and all(i.study_date for i in case.images)
    return bool(unbound) or (len(case.images) == 1 or one_visit) and bool(voc.values_in(case.question, "time"))


#: The pin under which a person's choice of modality is kept.
MODALITY = "the kind of study"


def _modality(case: Case, studies: list[StudyRow], offers: Offers, pins: Pins) -> str | None | Problem:
    """The modality compared: named, pinned, that of the given images, the only one, or the finding's."""
    pinned = [s.modality for s in studies if s.study_id in pins.get(MODALITY, [])]
    named = words.modality_named(case.question) or next(
        (m for m in (words.modality_of(i.modality) for i in (*case.images,)) if m), None) or (pinned[0] if pinned else None)
    if named:
        return named
    have = {s.modality for s in studies if s.modality}
    if len(have) <= 1:
        return have.pop() if have else None
    asked = words.findings_named(case.question)
    fits = {m for o in offers.find("segments") if words.findings_named(o.capability.target) & asked
            for m in o.capability.modalities} & have
    if len(fits) == 1:
        return fits.pop()
    latest = [[[s for s in studies if s.modality == m][-1]] for m in sorted(have, key=str)]
    return Problem(MODALITY, f"the question names no kind of study and the timeline holds {', '.join(sorted(have))} "
                             "studies", latest)


def _stand_ins(studies: list[StudyRow]) -> list[CaseImage]:
    return [CaseImage(path=f"study:{s.study_id}", study_date=s.study_date, modality=s.modality, body_part=s.body_part)
            for s in studies]


def _when(s: StudyRow) -> tuple[bool, object]:
    return (s.study_date is None, s.study_date)


def _until(s: StudyRow, now: StudyRow) -> bool:
    return s is now or s.study_date is not None and now.study_date is not None and s.study_date <= now.study_date


@dataclass
class Choice:
    """The studies a question compares, each with the words that chose it."""

    studies: list[StudyRow]
    why: dict[int, str]
    problem: Problem | None = None
    mentions: dict[str, list[int]] = field(default_factory=dict)


def _bound(question: str, pool: list[StudyRow], pins: Pins) -> dict[str, list[StudyRow]] | Problem:
    """Each mention's studies: pinned by a person, else bound by the grammar; or the first problem."""
    by_id = {s.study_id: s for s in pool}
    out: dict[str, list[StudyRow]] = {}
    for b in resolve(Case(question=question, images=_stand_ins(pool))).bindings:
        if b.mention in pins:
            out[b.mention] = [by_id[i] for i in pins[b.mention] if i in by_id]
        elif b.candidates:
            cands = [[pool[i] for i in c] for c in b.candidates]
            preferred = [pool[i] for i in b.image_indices] or None
            return Problem(b.mention, f"'{b.mention}' is ambiguous: {b.reason}" if preferred else
                           f"'{b.mention}' cannot be bound: {b.reason}", cands, preferred)
        elif b.image_indices:
            out[b.mention] = [pool[i] for i in b.image_indices]
    return out


def choose_studies(question: str, pool: list[StudyRow], now: StudyRow, pins: Pins | None = None) -> Choice:
    """The studies the question compares among ``pool`` (earliest first), with ``now`` the current one."""
    bound = _bound(question, pool, pins or {})
    if isinstance(bound, Problem):
        role = voc.time_of(bound.mention)
        if bound.preferred is None and role is not None and len(pool) < 2:
            what = "baseline before it" if role == "baseline" else "prior study"
            bound = Problem(bound.mention, f"no {what}: the timeline holds only the {now.label()} of this kind")
        return Choice([], {}, bound)
    bindings = list(bound)
    why = {s.study_id: f"'{mention}'" for mention, studies in bound.items() for s in studies}
    mentions = {mention: [s.study_id for s in studies] for mention, studies in bound.items()}
    chosen = sorted({s.study_id: s for studies in bound.values() for s in studies}.values(), key=_when)
    span = voc.values_in(question, "span")
    if voc.lookups_asked(question):  # a look-up starts from one study: the one named, else the current one
        start = chosen[-1:] or [now]
        return Choice(start, {s.study_id: why.get(s.study_id, "the current study") for s in start}, mentions=mentions)
    if len(chosen) >= 2:
        return Choice(chosen, why, mentions=mentions)
    if span:
        course = [s for s in pool if _until(s, now)]
        return Choice(course, {s.study_id: why.get(s.study_id, "the course so far") for s in course}) \
            if len(course) >= 2 else Choice([], {}, Problem("the course", f"no earlier study: the timeline holds "
                                                                           f"only the {now.label()} of this kind"))
    if chosen and chosen[0] is not now:
        return Choice(sorted([chosen[0], now], key=_when), {**why, now.study_id: why.get(now.study_id, "the current study")},
                      mentions=mentions)
    earlier = [s for s in pool if _until(s, now) and s is not now]
    if not earlier:
        mention = bindings[0] if bindings else "the prior study"
        return Choice([], {}, Problem(mention, f"no prior study: the timeline holds only the {now.label()} of this kind"))
    prior = earlier[-1]
    why.setdefault(prior.study_id, "the study before the current one (no earlier study was named)")
    why.setdefault(now.study_id, "the current study")
    return Choice([prior, now], why, mentions=mentions)


def gather(case: Case, studies: list[StudyRow], offers: Offers, pins: Pins | None = None) -> Gathered:
    """The case extended with the comparable image of each study the question refers to.

    ``pins`` are a person's choices after an earlier :class:`Problem` (mention -> study ids).
    """
    question, pins = case.question, pins or {}
    if (clash := _one_visit_sequences(case)) is not None:
        return Gathered(case, problem=Problem("the given images", clash))
    modality = _modality(case, studies, offers, pins)
    if isinstance(modality, Problem):
        return Gathered(case, problem=modality)
    pool = [s for s in studies if modality is None or s.modality == modality]
    if not pool:
        kinds = ", ".join(sorted({s.modality or "unknown" for s in studies})) or "none"
        return Gathered(case, problem=Problem(modality or "the study", f"no {modality or ''} study to compare: "
                                              f"the patient's timeline holds {kinds}".replace("no  ", "no "),
                                              [[s] for s in studies]))
    notes = [] if modality else [f"the question names no modality; compared the patient's {len(pool)} studies as they are"]
    now = _current(case, pool)
    choice = choose_studies(question, pool, now, pins)
    if choice.problem is not None:
        return Gathered(case, problem=choice.problem, notes=notes)
    taken = {i.image_id for i in case.images if i.image_id is not None}
    given_dates = {i.study_date for i in case.images}
    wanted = [s for s in choice.studies if not (case.images and s.study_date in given_dates)]
    picks = _picks(wanted, question, offers, modality, case.images)
    if isinstance(picks, str):
        return Gathered(case, problem=Problem("the studies", picks), notes=notes)
    picks = [p for p in picks if p.image.image_id not in taken]
    start = len(case.images)
    images = [*case.images, *(p.case_image() for p in picks)]
    evidence = [_evidence(p, choice.why.get(p.study.study_id, ""), start + k) for k, p in enumerate(picks)]
    where = {p.study.study_id: start + k for k, p in enumerate(picks)}
    settled = {m: [where[s] for s in ids if s in where] for m, ids in choice.mentions.items()}
    return Gathered(case.model_copy(update={"images": images}), evidence, notes,
                    settled={m: idx for m, idx in settled.items() if idx})


def _one_visit_sequences(case: Case) -> str | None:
    """Why given images of one visit in different sequences cannot stand for "the current study"."""
    dates = {i.study_date for i in case.images}
    seqs = {s for s in map(words.sequence_of, case.images) if s}
    if len(case.images) < 2 or len(dates) != 1 or None in dates or len(seqs) < 2:
        return None
    return (f"the given images are {len(case.images)} sequences ({', '.join(sorted(seqs))}) of one study "
            f"({dates.pop()}), not visits over time; name the sequence to compare with the earlier study")


def _current(case: Case, pool: list[StudyRow]) -> StudyRow:
    """The current study: that of the newest given image when the timeline holds it, else the latest."""
    dates = [i.study_date for i in case.images if i.study_date]
    if dates:
        same = [s for s in pool if s.study_date == max(dates)]
        if same:
            return same[-1]
    return pool[-1]


def _picks(chosen: list[StudyRow], question: str, offers: Offers, modality: str | None,
           given: list[CaseImage]) -> list[Pick] | str:
    segmenters = offers.find("segments", modality=modality)
    asked = words.findings_named(question)
    fitting = [o for o in segmenters if words.findings_named(o.capability.target) & asked] or segmenters
    dims = {d for o in fitting for d in o.capability.dims} if fitting and all(o.capability.dims for o in fitting) else set()
    prefers = next((o.capability.prefers.get("sequence", ()) for o in fitting if o.capability.prefers), ())
    asked_seq = words.sequence_named(question) or next((s for s in map(words.sequence_of, given) if s), None)
    sequence = common_sequence(chosen, asked_seq, tuple(prefers))
    if sequence is False:
        return (f"not every study has a {voc.name_of('sequence', asked_seq)} series" if asked_seq else
                "the studies share no MR sequence, and sizes on different sequences are not comparable")
    return pick_images(chosen, sequence or None, dims)


def _evidence(p: Pick, why: str, index: int) -> Evidence:
    named = f"{why}: " if why else ""
    return Evidence(statement=f"{named}image {index + 1} is the {p.series.description or 'series'} {p.how} of the "
                              f"{p.study.label()} (timeline study {p.study.study_id}, image {p.image.image_id})",
                    image_indices=[index],
                    values={"study_id": p.study.study_id, "study_date": str(p.study.study_date or ""),
                            "image_id": p.image.image_id, "series": p.series.description or "", "how": p.how})
