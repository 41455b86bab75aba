"""Build a runner's view of an item: neutral image names in a private folder, nothing else.

File names in Med-MIM carry visit weeks, study dates and UIDs, so images are hard-linked (or copied
when a link is impossible) to ``img_0.png``, ``img_1.nii.gz`` ... in a fresh temporary folder; a
DICOM series (a folder) becomes ``img_2/`` with its files renamed ``0000.dcm``, ``0001.dcm`` ... in
name order. Symbolic links are avoided: resolving one would reveal the original path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mimir.evals.items import EvalItem, RunnerInput


def _neutral_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def image_suffix(path: Path) -> str:
    """The image type a reader needs from a name: ``.nii.gz`` kept whole, else the last suffix."""
    return ".nii.gz" if path.name.lower().endswith(".nii.gz") else path.suffix.lower()


def stage_image(src: Path, folder: Path, i: int) -> Path:
    """A neutral copy of one image file, or of a series folder's files, named after its position ``i``."""
    if src.is_dir():
        dest = folder / f"img_{i}"
        dest.mkdir()
        for k, f in enumerate(sorted(p for p in src.iterdir() if p.is_file())):
            _neutral_copy(f, dest / f"{k:04d}{f.suffix.lower()}")
        return dest
    dest = folder / f"img_{i}{image_suffix(src)}"
    _neutral_copy(src, dest)
    return dest


@contextmanager
def staged_input(item: EvalItem, with_images: bool = True) -> Iterator[RunnerInput]:
    """Yield the item's :class:`RunnerInput`; its image folder is removed afterwards."""
    if not with_images:
        yield RunnerInput(question=item.stem, options=dict(item.options))
        return
    with tempfile.TemporaryDirectory(prefix="mimir-eval-") as tmp:
        paths = [stage_image(src, Path(tmp), i) for i, src in enumerate(item.resolved)]
        yield RunnerInput(
            question=item.stem, options=dict(item.options), images=paths,
            image_meta=[dict(m) for m in item.image_meta] if item.image_meta else None,
            patient_id=item.patient_id,
        )
