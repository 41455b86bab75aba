"""Read Med-MIM benchmark files (and files in the same format) exactly as published.

Each file is a JSON list of ``{"id", "images", "conversation", "source"}``. Items are keyed by
(file, index) because ids repeat. Closed items are parsed with :func:`mimir.domain.parse_question`;
the gold letter is the letter before ``:`` in the assistant turn (scored by letter: two VQA-RAD
golds carry text that differs from their option). One ODIR item has a blank line where option C
should be; its options are read leniently (A, B, D) so that it stays closed, as published.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mimir.domain import Ability, parse_question
from mimir.evals.items import EvalItem

log = logging.getLogger(__name__)


class SubsetInfo(BaseModel):
    """One Med-MIM subset: its file, short name and ability."""

    file: str
    subset: str
    ability: Ability
    held: str


#: The six benchmark files, in the paper's order. Held-out subsets mix abilities: 'other'.
MEDMIM_SUBSETS: tuple[SubsetInfo, ...] = (
    SubsetInfo(file="Med_MIM_benchmark_Held_in_Temporal.json", subset="temporal", ability="temporal", held="in"),
    SubsetInfo(file="Med_MIM_benchmark_Held_in_Reasoning.json", subset="reasoning", ability="reasoning", held="in"),
    SubsetInfo(file="Med_MIM_benchmark_Held_in_Comparison.json", subset="comparison", ability="comparison", held="in"),
    SubsetInfo(file="Med_MIM_benchmark_Held_in_Coreference.json", subset="coreference", ability="coreference", held="in"),
    SubsetInfo(file="Med_MIM_benchmark_Held_out_ODIR.json", subset="odir", ability="other", held="out"),
    SubsetInfo(file="Med_MIM_benchmark_Held_out_RAD.json", subset="rad", ability="other", held="out"),
)
_BY_FILE = {s.file: s for s in MEDMIM_SUBSETS}
_GOLD = re.compile(r"^\s*([A-Z])\s*:")
_LENIENT_OPTION = re.compile(r"^([A-Z]):\s*(.+?)\s*$")
_IMAGE_PREFIX = re.compile(r"^(<image>)+")
_ABILITY_WORDS: tuple[tuple[str, Ability], ...] = (
    ("temporal", "temporal"), ("reasoning", "reasoning"), ("comparison", "comparison"),
    ("coreference", "coreference"), ("co-reference", "coreference"),
)


class LoaderError(ValueError):
    """A benchmark file is not in the Med-MIM format; the message names the file and item."""


def derive_source(source: str, first_image: str) -> str:
    """Data source for reporting, from the ``source`` field and the first image path."""
    s = source.upper()
    for needle, name in (("ODIR", "ODIR"), ("VQA_RAD", "VQA-RAD"), ("MS_CXR_T", "MS-CXR-T"),
                         ("EMBED", "EMBED"), ("LUMIERE", "LUMIERE"), ("DEMO", "DEMO")):
        if needle in s:
            return name
    if "LUMIERE" in first_image:
        return "LUMIERE"
    return source.split("_")[0] or "unknown"


def _lenient_options(question: str) -> tuple[str, dict[str, str]]:
    """Trailing ``X: text`` lines, skipping blank lines and letter gaps (ODIR item 62)."""
    lines = question.strip("\n").split("\n")
    options: dict[str, str] = {}
    cut = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].strip():
            continue
        m = _LENIENT_OPTION.match(lines[i])
        if not m:
            break
        options[m.group(1)] = m.group(2)
        cut = i
    return "\n".join(lines[:cut]).strip(), dict(sorted(options.items()))


def parse_turns(user: str, assistant: str) -> tuple[str, dict[str, str], str | None]:
    """Stem, options and gold letter (None for open items) of one conversation."""
    question = _IMAGE_PREFIX.sub("", user)
    parsed = parse_question(question)
    stem, options = parsed.stem, parsed.options
    gold = _GOLD.match(assistant)
    if not parsed.closed and gold:
        stem2, options2 = _lenient_options(question)
        if len(options2) >= 2 and gold.group(1) in options2:
            stem, options = stem2, options2
    if len(options) >= 2:
        if not gold or gold.group(1) not in options:
            raise LoaderError(f"closed question whose answer {assistant[:60]!r} names no option")
        return stem, options, gold.group(1)
    return stem, {}, None


def subset_for(path: Path) -> tuple[str, Ability]:
    """Subset name and ability of a file: the Med-MIM table, else inferred from its name."""
    info = _BY_FILE.get(path.name)
    if info:
        return info.subset, info.ability
    low = path.stem.lower()
    ability: Ability = next((a for w, a in _ABILITY_WORDS if w in low), "other")
    return path.stem, ability


def _item(raw: dict[str, Any], path: Path, index: int, subset: str, ability: Ability,
          image_root: Path) -> EvalItem:
    if not isinstance(raw, dict) or not {"images", "conversation"} <= set(raw):
        raise LoaderError(f"{path.name} item {index}: expected keys id, images, conversation, source")
    conv = raw["conversation"]
    user = next(t["content"] for t in conv if t["role"] == "user")
    assistant = next(t["content"] for t in conv if t["role"] == "assistant")
    n_placeholders = len(re.match(r"^(?:<image>)*", user).group(0)) // len("<image>")  # type: ignore[union-attr]
    if n_placeholders != len(raw["images"]):
        raise LoaderError(f"{path.name} item {index}: {n_placeholders} <image> tags, {len(raw['images'])} images")
    try:
        stem, options, gold = parse_turns(user, assistant)
    except LoaderError as e:
        raise LoaderError(f"{path.name} item {index}: {e}") from e
    images = list(raw["images"])
    return EvalItem(
        file=path.name, index=index, subset=subset, ability=ability,
        source=derive_source(str(raw.get("source", "")), images[0] if images else ""),
        item_id=str(raw.get("id", "")), stem=stem, options=options, gold_letter=gold,
        gold_text=assistant.strip(), images=images, resolved=[image_root / p for p in images],
        image_meta=raw.get("image_meta"), patient_id=raw.get("patient_id"),
    )


def load_file(path: Path, image_root: Path | None = None, subset: str | None = None,
              ability: Ability | None = None) -> list[EvalItem]:
    """All items of one Med-MIM-format file; images resolve under ``image_root`` (default: beside it)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise LoaderError(f"Cannot read benchmark file {path}: {e}") from e
    if not isinstance(data, list):
        raise LoaderError(f"{path} must hold a JSON list of items, found {type(data).__name__}")
    name, inferred = subset_for(path)
    root = Path(image_root) if image_root else path.parent
    return [_item(raw, path, i, subset or name, ability or inferred, root) for i, raw in enumerate(data)]


def load_medmim(medmim_dir: Path, image_root: Path | None = None) -> list[EvalItem]:
    """The six Med-MIM benchmark files of a folder (the instruction file is not read)."""
    medmim_dir = Path(medmim_dir)
    missing = [s.file for s in MEDMIM_SUBSETS if not (medmim_dir / s.file).is_file()]
    if missing:
        raise LoaderError(f"{medmim_dir} lacks Med-MIM files: {', '.join(missing)}")
    root = Path(image_root) if image_root else medmim_dir
    items: list[EvalItem] = []
    for info in MEDMIM_SUBSETS:
        items.extend(load_file(medmim_dir / info.file, root, info.subset, info.ability))
    return items


def missing_report(items: list[EvalItem]) -> dict[str, list[str]]:
    """Item key -> missing image paths, for items whose images are not all found."""
    return {it.key: miss for it in items if (miss := it.missing_images)}
