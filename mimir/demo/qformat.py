"""Med-MIM item format for the demo questions, and the wording pools they draw from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mimir.demo.truth import ImageTruth

Variant = Literal["png", "dicom", "nifti", "series"]
#: Key-slice variants: every question is asked on 256x256 key images (PNG, or DICOM with headers).
VARIANTS: tuple[Variant, ...] = ("png", "dicom")
#: Whole-volume variants: the temporal and comparison questions asked again on the NIfTI volumes and
#: the DICOM series of the same visits (dates reach the agent through the timeline, as for DICOM).
VOLUME_VARIANTS: tuple[Variant, ...] = ("nifti", "series")
VOLUME_ABILITIES = ("temporal", "comparison")
ABILITY_FILES = ("temporal", "comparison", "coreference", "reasoning")

#: Ways to say each change class (the first is the canonical label).
CHANGE_WORDS: dict[str, tuple[str, ...]] = {
    "progressing": ("progressing", "progressive disease", "worsening", "advancing", "deteriorating"),
    "stable": ("stable", "stable disease", "unchanged", "no significant change"),
    "improving": ("improving", "regressing", "shrinking", "responding to treatment"),
}
RESECTION_WORDS: dict[str, tuple[str, ...]] = {
    "gross-total resection": ("fully resected", "completely resected", "gross-total resection", "entirely resected"),
    "partial resection": ("partially resected", "partial resection", "incompletely resected", "subtotal resection"),
}
ORDINALS = {
    2: (("the first image", "the second image"), ("Image 1", "Image 2"), ("the first one", "the second one")),
    3: (("the first image", "the second image", "the last one"), ("Image 1", "Image 2", "Image 3"),
        ("the first in line", "the middle image", "the last image")),
}


@dataclass
class QItem:
    """One question before formatting: images in the order shown, options or an open gold."""

    ability: str
    question: str
    images: list[ImageTruth]
    answer: str
    options: list[str] = field(default_factory=list)
    variants: tuple[Variant, ...] = VARIANTS
    patient_id: str = ""

    @property
    def closed(self) -> bool:
        """True when the item has lettered options."""
        return bool(self.options)


def pick(rng: np.random.Generator, pool: tuple[str, ...] | list[str]) -> str:
    """One element of ``pool``."""
    return pool[int(rng.integers(len(pool)))]


def closed_item(rng: np.random.Generator, ability: str, question: str, images: list[ImageTruth], correct: str,
                distractors: list[str], patient_id: str, variants: tuple[Variant, ...] = VARIANTS) -> QItem:
    """A closed item with the correct option at a random position."""
    options = [*distractors]
    options.insert(int(rng.integers(len(options) + 1)), correct)
    return QItem(ability, question, images, correct, options, variants, patient_id)


def image_path(image: ImageTruth, variant: Variant) -> str | None:
    """The file (or, for ``series``, the folder) that shows ``image`` in ``variant``; None if not built."""
    return {"png": image.png, "dicom": image.dicom, "nifti": image.nifti, "series": image.series_dir}[variant]


def in_variant(item: QItem, variant: Variant) -> bool:
    """True when ``item`` is asked in ``variant``: a volume variant takes the DICOM items whose volumes exist."""
    if variant in VOLUME_VARIANTS:
        return item.ability in VOLUME_ABILITIES and "dicom" in item.variants and all(
            image_path(im, variant) for im in item.images)
    return variant in item.variants


def format_item(item: QItem, variant: Variant, item_id: str) -> dict[str, object]:
    """The Med-MIM JSON object: ``id``, ``images``, ``conversation``, ``source``."""
    paths = [image_path(im, variant) for im in item.images]
    content = "<image>" * len(paths) + item.question
    if item.options:
        letters = [chr(ord("A") + i) for i in range(len(item.options))]
        content += "\n" + "".join(f"{k}: {o}\n" for k, o in zip(letters, item.options, strict=True))
        gold = f"{letters[item.options.index(item.answer)]}: {item.answer}"
    else:
        gold = item.answer
    return {
        "id": item_id,
        "images": paths,
        "conversation": [{"role": "user", "content": content}, {"role": "assistant", "content": gold}],
        "source": f"mimir_demo_{item.ability}_{variant}",
    }


def ordinal_options(rng: np.random.Generator, n: int) -> tuple[str, ...]:
    """Names of image positions for an ``n``-image item, in one of several phrasings."""
    return ORDINALS[n][int(rng.integers(len(ORDINALS[n])))]
