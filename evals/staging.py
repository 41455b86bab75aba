"""Build a runner's view of an item: neutral image names in a private folder, nothing else.

File names in Med-MIM carry visit weeks, study dates and UIDs, so images are hard-linked (or copied
when a link is impossible) to ``img_0.png``, ``img_1.png`` ... in a fresh temporary folder. Symbolic
links are avoided: resolving one would reveal the original path.
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


@contextmanager
def staged_input(item: EvalItem, with_images: bool = True) -> Iterator[RunnerInput]:
    """Yield the item's :class:`RunnerInput`; its image folder is removed afterwards."""
    if not with_images:
        yield RunnerInput(question=item.stem, options=dict(item.options))
        return
    with tempfile.TemporaryDirectory(prefix="mimir-eval-") as tmp:
        paths: list[Path] = []
        for i, src in enumerate(item.resolved):
            dest = Path(tmp) / f"img_{i}{src.suffix.lower()}"
            _neutral_copy(src, dest)
            paths.append(dest)
        yield RunnerInput(
            question=item.stem, options=dict(item.options), images=paths,
            image_meta=[dict(m) for m in item.image_meta] if item.image_meta else None,
            patient_id=item.patient_id,
        )
