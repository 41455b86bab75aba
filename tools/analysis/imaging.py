"""Image and mask reading for the tools, through MONAI's ``LoadImage``.

Everything is read the way a MONAI bundle reads it, so a mask a bundle wrote lines up with the image
it came from (MONAI's PIL reader puts PNG width first: a 40x60 PNG loads as 60x40, and so does its
mask). Arrays are spatial-first with a trailing channel axis for colour images.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mimir.tools.framework.errors import ToolCannotHandle

log = logging.getLogger(__name__)
PLAIN_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class ImageData:
    """A loaded image: pixels, spacing (mm) and what a tool checks before running."""

    path: Path
    array: np.ndarray
    spacing: tuple[float, ...]
    spacing_source: str
    channels: int
    modality: str | None
    affine: np.ndarray | None = None

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Shape without the channel axis."""
        return tuple(self.array.shape[:-1] if self.channels > 1 else self.array.shape)

    @property
    def grey_as_colour(self) -> bool:
        """A grey image stored with identical colour channels (common for PNG/JPEG exports)."""
        if self.channels == 1:
            return False
        first = self.array[..., :1]
        return bool(np.all(self.array[..., : min(self.channels, 3)] == first))

    @property
    def dims(self) -> int:
        """2 or 3: spatial axes longer than one voxel."""
        return sum(1 for s in self.spatial_shape if s > 1)


class _NoGpuDecoderNotice(logging.Filter):
    """Drop MONAI's notice that its GPU DICOM decoder (nvImageCodec) is not installed.

    MONAI's ``LoadImage`` builds every reader it knows on each call, so without nvImageCodec (a
    CUDA-only extra) the notice is logged once per image read; pydicom decodes the same files.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "nvImageCodec is not available" not in record.getMessage()


def quiet_gpu_decoder_notice() -> None:
    """Install the filter (and the matching warning filter) once; the readers stay as MONAI picks them."""
    monai_log = logging.getLogger("monai.data.nvimgcodec_pydicom_plugin")
    if any(isinstance(f, _NoGpuDecoderNotice) for f in monai_log.filters):
        return
    monai_log.addFilter(_NoGpuDecoderNotice())
    warnings.filterwarnings("ignore", message="NvImgCodecPydicomReader: nvImageCodec decoder plugin did not register",
                            category=UserWarning)


def _reader_errors() -> tuple[type[BaseException], ...]:
    from nibabel.filebasedimages import ImageFileError

    return (OSError, ValueError, RuntimeError, ImageFileError, EOFError)


_LOCAL = threading.local()


def _loader() -> Any:
    """The calling thread's MONAI ``LoadImage``, built once per thread.

    Building its readers costs as much as decoding a slice; readers keep per-read state, so each
    thread keeps its own.
    """
    loader = getattr(_LOCAL, "loader", None)
    if loader is None:
        from monai.transforms import LoadImage

        loader = _LOCAL.loader = LoadImage(image_only=False)
    return loader


def load_array(path: str | Path) -> tuple[np.ndarray, dict]:
    """Pixels and MONAI metadata of a file or DICOM folder, or ToolCannotHandle if unreadable."""
    quiet_gpu_decoder_notice()
    p = Path(path)
    if not p.exists():
        raise ToolCannotHandle(f"image file {p} does not exist")
    try:
        data, meta = _loader()(str(p))
    except _reader_errors() as e:
        raise ToolCannotHandle(f"cannot read {p.name} as an image ({type(e).__name__}: {e})") from e
    return np.asarray(data), dict(meta)


def dicom_modality(path: Path) -> str | None:
    """The Modality tag of a DICOM file (or the first file of a folder), if any."""
    import pydicom

    first = next((c for c in sorted(path.iterdir()) if c.is_file()), None) if path.is_dir() else path
    if first is None:
        return None
    try:
        ds = pydicom.dcmread(first, stop_before_pixels=True, specific_tags=["Modality"])
    except (pydicom.errors.InvalidDicomError, OSError):
        return None
    return str(ds.get("Modality") or "") or None


def load_image(
    path: str | Path, modality: str | None = None, default_spacing: float = 1.0
) -> ImageData:
    """Read an image; modality comes from the caller, else the DICOM header."""
    p = Path(path)
    array, meta = load_array(p)
    return image_data(p, array, meta, modality, default_spacing)


def image_data(p: Path, array: np.ndarray, meta: dict, modality: str | None = None,
               default_spacing: float = 1.0) -> ImageData:
    """An image from a reader's pixels and MONAI metadata, as ``load_image`` gives it."""
    channel_dim = meta.get("original_channel_dim")
    channels = int(array.shape[-1]) if isinstance(channel_dim, int) else 1
    n_spatial = array.ndim - (1 if channels > 1 else 0)
    plain = p.suffix.lower() in PLAIN_IMAGE_SUFFIXES
    if plain:
        spacing = (default_spacing,) * n_spatial
        source = f"default {default_spacing:g} mm (no spacing in {p.suffix} files)"
    else:
        spacing = tuple(float(s) for s in _pixdim(meta, n_spatial))
        source = "image header"
    if modality is None and not plain and (p.is_dir() or p.suffix.lower() in (".dcm", "")):
        modality = dicom_modality(p)
    affine = np.asarray(meta["affine"], dtype=float) if meta.get("affine") is not None else None
    return ImageData(p, array, spacing, source, channels, modality.upper() if modality else None, affine)


def _pixdim(meta: dict, n: int) -> list[float]:
    affine = meta.get("affine")
    if affine is None:
        return [1.0] * n
    a = np.asarray(affine, dtype=float)
    return [float(np.linalg.norm(a[:n, i])) or 1.0 for i in range(n)]


def load_mask(path: str | Path) -> np.ndarray:
    """An integer label mask (spatial shape only), or ToolCannotHandle if unreadable."""
    array, _ = load_array(path)
    array = np.squeeze(array) if array.ndim > 3 else array
    return np.rint(array).astype(np.int32)


def file_stem(path: str | Path) -> str:
    """A file name without image suffixes (``scan.nii.gz`` -> ``scan``)."""
    name = Path(path).name
    for suffix in (".nii.gz", ".nii", ".dcm", *PLAIN_IMAGE_SUFFIXES, ".mha", ".nrrd"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def nifti_header(shape: tuple[int, ...], affine: np.ndarray | None) -> bytes:
    """The bytes nibabel writes before a uint8 mask's voxels (header and extension flag), in the mask's geometry.

    The header depends only on the shape and the affine (masks of one picture size share it), so
    it is built once per pair; nibabel's own header code (quaternions, sform, qform) builds it.
    """
    full = np.eye(4)
    if affine is not None:
        a = np.asarray(affine, dtype=float)
        n = min(a.shape[0] - 1, 3)
        full[:n, :n], full[:n, 3] = a[:n, :n], a[:n, -1]
    return _header_bytes(tuple(int(s) for s in shape), full.tobytes())


@functools.lru_cache(maxsize=64)
def _header_bytes(shape: tuple[int, ...], affine: bytes) -> bytes:
    import nibabel as nib

    full = np.frombuffer(affine, dtype=float).reshape(4, 4)
    img = nib.Nifti1Image(np.zeros(shape, dtype=np.uint8), full)
    img.set_qform(full, code=1)
    img.set_sform(full, code=1)
    whole = img.to_bytes()
    return whole[: len(whole) - int(np.prod(shape))]  # the voxels (one byte each) come last


def nifti_bytes(mask: np.ndarray, affine: np.ndarray | None) -> bytes:
    """A label mask as the bytes of a uint8 NIfTI-1 file (MONAI's affine, RAS world), as nibabel writes them."""
    data = np.asarray(mask, dtype=np.uint8)
    return nifti_header(data.shape, affine) + data.tobytes(order="F")


def write_mask(mask: np.ndarray, affine: np.ndarray | None, path: Path) -> Path:
    """Save a label mask once, as uint8 NIfTI in its image's geometry (MONAI's affine, RAS world).

    A ``.nii.gz`` path gets the NIfTI bytes gzip-compressed in one pass (level 1, nibabel's own
    default; nibabel's writer would feed the compressor row by row).
    """
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own per write: two questions may segment the same image at once (same target)
    zipped = path.name.lower().endswith(".gz")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part.nii" + (".gz" if zipped else ""))
    data = nifti_bytes(mask, affine)
    try:
        tmp.write_bytes(gzip.compress(data, compresslevel=1) if zipped else data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
