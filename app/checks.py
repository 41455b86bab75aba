"""Content checks of staged uploads: readable to the end, and within the pixel and voxel limits.

Sizes come from headers before any pixel is decoded, so an image bomb (a small PNG of 14000 x 14000
pixels, a 1 MB .nii.gz of 1 GiB) is refused without being expanded; decompressed bytes count
against the upload's budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mimir.app.uploads import Budget, Staged, UploadRejected, UploadTooLarge


def check(s: Staged, budget: Budget) -> None:
    """Refuse a staged file that is unreadable or over a limit (manifests are read at ingest)."""
    CHECKS.get(s.kind, _nothing)(s, budget)


def _nothing(s: Staged, budget: Budget) -> None:
    del s, budget


def _too_many(s: Staged, what: str, n: int, limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"'{s.name}' has {n:,} {what}, over the limit of {limit:,}")


def _dicom(s: Staged, budget: Budget) -> None:
    import pydicom

    try:
        ds = pydicom.dcmread(s.path)
    except Exception as e:  # pydicom raises many types for broken files; we re-raise as one
        raise UploadRejected(f"'{s.name}' is not a readable DICOM file: {e}") from e
    if "PixelData" not in ds:
        return
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    pixels = int(ds.get("Rows", 0) or 0) * int(ds.get("Columns", 0) or 0)
    if frames == 1 and pixels > budget.limits.image_pixels:
        raise _too_many(s, "pixels", pixels, budget.limits.image_pixels)
    if pixels * frames > budget.limits.volume_voxels:
        raise _too_many(s, "voxels", pixels * frames, budget.limits.volume_voxels)
    expected = pixels * frames * int(ds.get("SamplesPerPixel", 1) or 1) * (int(ds.get("BitsAllocated", 8) or 8) // 8)
    if not ds.file_meta.TransferSyntaxUID.is_compressed:
        if len(ds.PixelData) < expected:
            raise UploadRejected(f"'{s.name}' is truncated: {len(ds.PixelData)} of {expected} pixel bytes")
    else:
        budget.take(expected, s.name)  # what decoding it will take


def _raster(s: Staged, budget: Budget) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(s.path) as im:  # reads the header only
            w, h = im.size
            if w * h > budget.limits.image_pixels:
                raise _too_many(s, f"pixels ({w} x {h})", w * h, budget.limits.image_pixels)
            budget.take(w * h * len(im.getbands()), s.name)
            im.load()
    except Image.DecompressionBombError as e:
        raise UploadTooLarge(f"'{s.name}' is too large an image: {e}") from e
    except (OSError, UnidentifiedImageError, SyntaxError) as e:
        raise UploadRejected(f"'{s.name}' is not a readable {s.kind.upper()} image: {e}") from e


def _nifti(s: Staged, budget: Budget) -> None:
    from mimir.memory.ingest.nifti import check_complete, data_end, nifti_header
    from mimir.memory.ingest.records import BadFile

    try:
        img, shape = nifti_header(s.path)
        voxels = math.prod(shape)
        if voxels > budget.limits.volume_voxels:
            raise _too_many(s, f"voxels {shape}", voxels, budget.limits.volume_voxels)
        end = data_end(img)
        if s.path.name.endswith(".gz"):
            budget.take(end, s.name)
        check_complete(s.path, end)
    except BadFile as e:
        raise UploadRejected(f"'{s.name}': {e}") from e


CHECKS: dict[str, Callable[[Staged, Budget], None]] = {
    "dicom": _dicom, "png": _raster, "jpeg": _raster, "nifti": _nifti,
}
