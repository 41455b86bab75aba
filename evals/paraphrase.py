"""The paraphrase suite: demo images asked about in words the demo generator never uses.

Facts come from a demo build's ground truth (:mod:`mimir.evals.paraphrase_facts`); templates that
word them live in one data file per split, written from radiology report and clinic question
language: ``paraphrase_dev.yaml`` (may be tuned on), ``paraphrase_heldout.yaml`` (held out when it
was written; its failures have since been studied), ``paraphrase_heldout2.yaml`` (template families
of its own, written after that study), ``paraphrase_heldout3.yaml`` (written before the second
held-out split's failures were fixed; measured once on unseen wording, its failures studied since),
``paraphrase_heldout4.yaml`` (template families of its own: report impressions, tumour-board categories,
hurried chat, numbered sub-questions, exclusions, on-screen positions; written before any planner change
that followed it and measured once on unseen wording, its failures studied since), and
``paraphrase_heldout5.yaml`` (template families of its own: report phrases, hedged options, true-or-false
statements, fill-in-the-blank, non-native English, typos, images named by acquisition attributes, European
contrast and ophthalmology shorthand, compact DICOM dates; written before any planner change that followed
it), and ``paraphrase_heldout7.yaml`` (template families of its own, written by a reader of neither the
planner nor the vocabulary: worklist notes, draft impressions to agree or disagree with, patient-portal
questions, report abbreviations, passive voice, options put first, "can ... be excluded", comparatives and
superlatives relative to named images; the sixth split is kept outside the project), and
``paraphrase_heldout8.yaml`` (written the same way, in British and European hospital wording: MDT and
handover chatter, report dictation, GP and clinic letters, non-native English such as "respect to" and
"rest tumour"; committed with its first measurement), and ``paraphrase_heldout9.yaml`` to ``paraphrase_heldout12.yaml``
(written the same way and kept outside the project until each had been measured unseen and studied: South Asian,
African and Gulf hospital English; peer review, medicolegal, phone chat, dictation and second-language
wording; trial forms, quizzes, e-mails and machine-translated wording; report macros, on-call shorthand,
zero-indexed image names and family members' plain words), and ``paraphrase_heldout13.yaml`` and
``paraphrase_heldout14.yaml`` (written and measured the same way: tumour-board minutes, neurosurgeons,
radiographers, flashcards and cloze cards, and second-language English with its false friends; patient-portal
messages, clinic letters, structured reports, Scottish, New Zealand, South African and Nigerian English,
audit checklists and viva prompts), and ``paraphrase_heldout15.yaml`` and ``paraphrase_heldout16.yaml`` (the same way: emergency
pager and on-call shorthand, oncology and radiotherapy clinics, exam-style prompts and South Asian and European
second-language English; medico-legal and insurance reviewers, trial monitors with baseline, nadir and
timepoints, GPs and pharmacists, Nordic, Hungarian, South-East Asian, Swahili and Caribbean English), and
``paraphrase_heldout17.yaml`` and ``paraphrase_heldout18.yaml`` (the same way: chat messages to a review
assistant, US clinic practitioners, South-East Asian and Spanish speakers' English, quiz prompts;
wet-read requests, data-abstraction forms with coded options, Irish, Welsh, Australian and Eastern
Mediterranean speakers' English, patients reading their results), and ``paraphrase_heldout19.yaml`` (the
same way: case-of-the-day posts and polls, francophone clinicians' English, voice commands to a reading
workstation, phone handoffs). Each fact is worded once per split by one of that split's templates, in both image variants
(anonymous PNG; DICOM with headers), and written in the Med-MIM format beside the demo build
with an index, ``paraphrase.json``. Items whose answer needs a VLM are in their own subsets
(``<split>-vlm-<variant>``): without a VLM the right answer is an abstention.
"""

from __future__ import annotations

import json
import string
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import yaml
from pydantic import BaseModel, Field

from mimir.demo.qformat import QItem, format_item
from mimir.demo.truth import GroundTruth, Kind
from mimir.evals.items import EvalItem
from mimir.evals.loader import load_file
from mimir.evals.paraphrase_facts import FACTS, NEEDS_VLM, Fact

if TYPE_CHECKING:
    from mimir.domain import Ability
    from mimir.settings import Settings

Split = Literal["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout7", "heldout8", "heldout9",
                "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16", "heldout17", "heldout18", "heldout19"]
SPLITS: tuple[Split, ...] = ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout7", "heldout8",
                             "heldout9", "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16", "heldout17", "heldout18", "heldout19")
INDEX = "paraphrase.json"
#: The kinds of patient the paraphrase facts are about (``mimir.evals.paraphrase_facts``): the suite builds only these.
KINDS: tuple[Kind, ...] = ("mri", "ct", "fundus")


class Template(BaseModel):
    """One way of asking a fact: a stem (or one stem per value of a slot) and option wordings per value."""

    fact: str
    ability: str
    stem: str | None = None
    stem_by: str | None = Field(None, description="Slot whose value picks the stem from 'stems'")
    stems: dict[str, str] = Field(default_factory=dict)
    options: dict[str, list[str]] | Literal["images"] = "images"
    n_options: int | None = None
    negated: bool = Field(False, description="The stem asks the opposite of the fact: a yes/no answer flips")


class TemplateFile(BaseModel):
    """A split's templates and the wording pools they draw from."""

    image_names: list[list[str]]
    position_names: list[list[str]]
    sequence_names: dict[str, list[str]]
    side_names: dict[str, list[str]]
    organ_names: dict[str, list[str]]
    date_formats: list[str]
    templates: list[Template]


class SuiteFile(BaseModel):
    """One file of the paraphrase suite."""

    file: str
    split: str
    ability: str
    variant: str
    needs_vlm: bool
    items: int


def load_templates(split: Split) -> TemplateFile:
    """The shipped templates of one split."""
    text = resources.files("mimir.evals").joinpath(f"paraphrase_{split}.yaml").read_text(encoding="utf-8")
    return TemplateFile.model_validate(yaml.safe_load(text))


def _pick(rng: np.random.Generator, pool: list[str]) -> str:
    return pool[int(rng.integers(len(pool)))]


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _date(value: str, fmt: str) -> str:
    """A date in a format with {day} {dd} {nth} {month} {mon} {mm} {year} {iso}."""
    d = date.fromisoformat(value)
    words = {"{day}": str(d.day), "{dd}": f"{d.day:02d}", "{nth}": _nth(d.day), "{month}": d.strftime("%B"),
             "{mon}": d.strftime("%b"), "{mm}": f"{d.month:02d}", "{year}": str(d.year), "{iso}": d.isoformat()}
    for key, text in words.items():
        fmt = fmt.replace(key, text)
    return fmt


def _slots(fact: Fact, t: TemplateFile, rng: np.random.Generator, names: list[str]) -> dict[str, str]:
    """Words for the template's placeholders: organ, sequences, side, date, position, image names."""
    n = len(fact.images)
    positions = _pick_scheme(rng, t.position_names, n)
    out = {f"img{i}": names[i] for i in range(min(n, len(names)))}
    for key, value in fact.slots.items():
        if key in ("seq", "seq_a", "seq_b"):
            out[key] = _pick(rng, t.sequence_names[value])
        elif key == "side":
            out[key] = _pick(rng, t.side_names[value])
        elif key == "organ":
            out[key] = _pick(rng, t.organ_names[value])
        elif key == "date":
            out[key] = _date(value, _pick(rng, t.date_formats))
        elif key == "pos":
            out[key] = positions[int(value)]
        else:
            out[key] = value
    return out


def _pick_scheme(rng: np.random.Generator, schemes: list[list[str]], n: int) -> list[str]:
    """One naming scheme for n images; a scheme's last entry names the last image when it starts with '@'."""
    scheme = schemes[int(rng.integers(len(schemes)))]
    names = [s for s in scheme if not s.startswith("@")]
    last = [s[1:] for s in scheme if s.startswith("@")]
    chosen = [*names[:n - 1], last[0]] if last else names[:n]
    if len(chosen) < n:
        raise ValueError(f"image naming scheme {scheme} cannot name {n} images")
    return chosen


def _fill(text: str, slots: dict[str, str]) -> str:
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    missing = fields - set(slots)
    if missing:
        raise KeyError(f"template text {text!r} needs {sorted(missing)}")
    out = text.format(**slots)
    return out[0].upper() + out[1:] if out else out


def _options(fact: Fact, tmpl: Template, rng: np.random.Generator, names: list[str], slots: dict[str, str]) -> list[str]:
    """Option texts, correct value included, in a random order; distractors from the other values."""
    values = list(fact.values)
    k = min(tmpl.n_options or len(values), len(values))
    others = [v for v in values if v != fact.value]
    chosen = [fact.value, *[others[i] for i in rng.permutation(len(others))[:k - 1]]]
    chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    if tmpl.options == "images":
        return [names[int(v)] for v in chosen]
    return [_fill(_pick(rng, tmpl.options[v]), slots) for v in chosen]


def word_fact(fact: Fact, tmpl: Template, t: TemplateFile, rng: np.random.Generator) -> QItem:
    """A worded, closed Med-MIM item for one fact."""
    if tmpl.negated:
        fact = replace(fact, value={"yes": "no", "no": "yes"}[fact.value])
    names = _pick_scheme(rng, t.image_names, len(fact.images))
    slots = _slots(fact, t, rng, names)
    stem = tmpl.stems[fact.slots[tmpl.stem_by]] if tmpl.stem_by else tmpl.stem
    if stem is None:
        raise ValueError(f"template for {tmpl.fact} has neither stem nor stem_by")
    options = _options(fact, tmpl, rng, names, slots)
    correct = _correct(fact, tmpl, options, names, slots)
    variants = ("dicom",) if fact.dicom_only else ("png", "dicom")
    return QItem(tmpl.ability, _fill(stem, slots), fact.images, correct, options, variants, fact.patient_id)  # type: ignore[arg-type]


def _correct(fact: Fact, tmpl: Template, options: list[str], names: list[str], slots: dict[str, str]) -> str:
    if tmpl.options == "images":
        return names[int(fact.value)]
    matches = [o for o in options if o in [_fill(w, slots) for w in tmpl.options[fact.value]]]
    return matches[0]


def build_split(gt: GroundTruth, split: Split) -> dict[tuple[str, bool], list[QItem]]:
    """Items of one split, grouped by (ability, needs VLM)."""
    t = load_templates(split)
    by_fact: dict[str, list[Template]] = {}
    for tmpl in t.templates:
        by_fact.setdefault(tmpl.fact, []).append(tmpl)
    out: dict[tuple[str, bool], list[QItem]] = {}
    for n, patient in enumerate(gt.patients):
        rng = np.random.default_rng([gt.seed, 15, n, SPLITS.index(split)])
        for kind, extract in FACTS.items():
            for fact in extract(patient, rng):
                tmpl = by_fact[kind][int(rng.integers(len(by_fact[kind])))]
                out.setdefault((tmpl.ability, kind in NEEDS_VLM), []).append(word_fact(fact, tmpl, t, rng))
    return out


def write_suite(folder: Path) -> list[SuiteFile]:
    """Write both splits' files beside a demo build (``ground_truth.json``) and the index; return the files."""
    gt = GroundTruth.model_validate_json((folder / "ground_truth.json").read_text())
    files = []
    for split in SPLITS:
        for (ability, vlm), items in sorted(build_split(gt, split).items()):
            for variant in ("png", "dicom"):
                chosen = [it for it in items if variant in it.variants]
                tag = f"vlm-{ability}" if vlm else ability
                name = f"paraphrase_{split}_{tag}_{variant}.json"
                rows = [format_item(it, variant, f"para-{split}-{tag}-{k:04d}") for k, it in enumerate(chosen)]
                (folder / name).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
                files.append(SuiteFile(file=name, split=split, ability=ability, variant=variant, needs_vlm=vlm,
                                       items=len(rows)))
    (folder / INDEX).write_text(json.dumps({"files": [f.model_dump() for f in files]}, indent=1) + "\n")
    return files


def suite_files(folder: Path) -> list[SuiteFile]:
    """The files of a written suite (written first when the folder has none)."""
    index = folder / INDEX
    if not index.is_file():
        return write_suite(folder)
    return [SuiteFile.model_validate(f) for f in json.loads(index.read_text())["files"]]


def load_split(folder: Path, split: Split) -> list[EvalItem]:
    """Every item of one split; subsets are ``<split>-<ability>-<variant>`` or ``<split>-vlm-<variant>``."""
    items: list[EvalItem] = []
    for f in suite_files(folder):
        if f.split == split:
            subset = f"{split}-{'vlm' if f.needs_vlm else f.ability}-{f.variant}"
            # the index is written by build_suite from the templates' abilities (Ability values)
            items.extend(load_file(folder / f.file, folder, subset=subset, ability=cast("Ability", f.ability)))
    return items


def paraphrase_items(seed: int, patients: int, out: Path, settings: Settings, split: Split) -> list[EvalItem]:
    """Build (once) the demo patients, load them into the run's timeline, and return one split's items."""
    from mimir.evals.demo_suite import demo_items

    demo_items(seed, patients, out, settings, kinds=KINDS)  # builds and loads the patients the questions are about
    from mimir.evals.demo_suite import build_demo_suite

    return load_split(build_demo_suite(seed, patients, Path(out), KINDS), split)


def summary(records: dict[str, Any], items: list[EvalItem]) -> dict[str, dict[str, int]]:
    """Per subset: correct, wrong and abstained (for VLM subsets an abstention is the right answer)."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        rec = records.get(it.key)
        if rec is None:
            continue
        row = out.setdefault(it.subset, {"correct": 0, "wrong": 0, "abstained": 0})
        letter, status = getattr(rec, "letter", None), getattr(rec, "status", None)
        row["abstained" if status != "ok" or letter is None else "correct" if letter == it.gold_letter else "wrong"] += 1
    return out
