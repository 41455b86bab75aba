"""PNG/JPEG files: pixels carry no patient facts, so a manifest row must supply them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from mimir.memory.ingest.records import BadFile, ImageRecord, SkipFile, derived_uid, guess_sequence
from mimir.memory.ingest.sidecar import ImageMeta

RASTER_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


def is_raster(path: Path) -> bool:
    """True for PNG and JPEG names."""
    return path.suffix.lower() in RASTER_SUFFIXES


def read_raster(path: Path, content_hash: str, meta: ImageMeta | None) -> ImageRecord:
    """Size from the file, everything else from the manifest row."""
    if meta is None or not meta.patient:
        raise SkipFile("no manifest entry: pass --manifest with a row for this file (patient, date, ...)")
    try:
        with PILImage.open(path) as im:
            im.verify()
            cols, rows = im.size
    except PILImage.DecompressionBombError as e:
        raise BadFile(f"too large an image: {e}") from e
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise BadFile(f"not a readable image: {type(e).__name__}: {e}") from e
    study_uid = meta.study_uid or derived_uid("study", meta.patient, meta.study_date, meta.modality, meta.body_part)
    return ImageRecord(
        path=str(path), content_hash=content_hash, file_format=RASTER_SUFFIXES[path.suffix.lower()],
        patient_key=meta.patient, study_uid=study_uid,
        series_uid=derived_uid("series", study_uid, meta.description, meta.view, meta.laterality),
        study_date=meta.study_date, modality=meta.modality, series_description=meta.description,
        sequence=meta.sequence or guess_sequence(meta.description), view=meta.view,
        laterality=meta.laterality, body_part=meta.body_part, rows=rows, cols=cols, n_slices=1,
        report=meta.report,
    )
