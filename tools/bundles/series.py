"""The whole DICOM series behind one case image, found in the timeline.

A case image may be one slice of a series (or a key image: a derived single-image series that
PACS keep beside the acquisition). ``series_source`` returns a folder holding exactly that
acquisition's instances, ready for MONAI's DICOM series reader: the series' own folder when its files
are alone there, else a folder of links under the artifacts directory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from mimir.tools.framework.errors import ToolCannotHandle

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mimir.tools.framework.context import ToolContext


def series_source(ctx: ToolContext, index: int) -> Path:
    """A folder with every instance of the series the case image at ``index`` belongs to."""
    image = ctx.image(index)
    path = Path(image.path)
    if path.is_dir():
        return path
    if ctx.session is None or image.image_id is None:
        raise ToolCannotHandle(f"{path.name} is not in the timeline, so its series is unknown; give the series "
                               "folder or a volume instead")
    files = series_files(ctx.session, image.image_id)
    if len(files) < 2:
        raise ToolCannotHandle(f"{path.name} is the only image of its series in the timeline; there is no volume to segment")
    return _folder_of(files, ctx.artifacts_dir / "series")


def series_files(session: Session, image_id: int) -> list[Path]:
    """Instance files of the image's series; for a lone key image, of the study's acquisition it came from.

    The acquisition is the study's series with the same modality and description and the most instances.
    """
    from sqlalchemy import func, select

    from mimir.memory.models import Image, Series

    row = session.get(Image, image_id)
    if row is None:
        return []
    series = row.series
    if len(series.images) < 2:
        counts = (select(Series.id, func.count(Image.id).label("n")).join(Image, Image.series_id == Series.id)
                  .where(Series.study_id == series.study_id, Series.modality == series.modality,
                         Series.description == series.description)
                  .group_by(Series.id).order_by(func.count(Image.id).desc()))
        best = session.execute(counts).first()
        if best is not None and best.n > 1:
            series = session.get(Series, best.id) or series
    return sorted(Path(i.storage_path) for i in series.images if i.file_format == "dicom")


def _folder_of(files: list[Path], links_root: Path) -> Path:
    parents = {f.parent for f in files}
    if len(parents) == 1:
        folder = parents.pop()
        if sorted(p for p in folder.iterdir() if p.is_file()) == files:
            return folder
    name = hashlib.sha256("\n".join(str(f) for f in files).encode()).hexdigest()[:16]
    folder = links_root / name
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        link = folder / f.name
        if not link.exists():
            os.symlink(f.resolve(), link)
    return folder
