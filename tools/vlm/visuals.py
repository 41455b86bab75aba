"""Turn case image files into model inputs: 2D images, slices of 3D volumes, or whole CT volumes.

Nothing is silently dropped: a 3D volume sent to a 2D model becomes ``slices`` images, each counted
against the model's image limit; a 3D-native model (MedM-VL-CT) gets one fixed-size volume.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from mimir.tools.vlm.base import ImageRef, Visual
from mimir.tools.vlm.profiles import ModelProfile, VolumeSpec

_NIFTI = (".nii", ".nii.gz")


def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(_NIFTI)


def _is_dicom(path: Path) -> bool:
    return path.suffix.lower() in (".dcm", ".dicom")


def load_array(path: Path) -> tuple[np.ndarray, bool]:
    """Pixel data and whether it is CT (Hounsfield units), for NIfTI and DICOM files."""
    if _is_nifti(path):
        import nibabel as nib

        return np.asarray(nib.load(str(path)).dataobj, dtype=np.float32), False  # type: ignore[attr-defined]
    import pydicom

    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array.astype(np.float32)
    slope, intercept = float(getattr(ds, "RescaleSlope", 1)), float(getattr(ds, "RescaleIntercept", 0))
    return arr * slope + intercept, getattr(ds, "Modality", "") == "CT"


def _to_uint8(arr: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    lo = float(np.percentile(arr, 0.5)) if lo is None else lo
    hi = float(np.percentile(arr, 99.5)) if hi is None else hi
    scaled = (np.clip(arr, lo, hi) - lo) / max(hi - lo, 1e-6)
    return (scaled * 255).astype(np.uint8)


def _pil_from_array(arr: np.ndarray):  # PIL image
    from PIL import Image

    return Image.fromarray(_to_uint8(arr)).convert("RGB")


def is_volume(arr: np.ndarray) -> bool:
    """True for a 3D array with more than one slice (a trailing RGB axis is not a volume)."""
    arr = np.squeeze(arr)
    return arr.ndim == 3 and arr.shape[-1] not in (3, 4) and min(arr.shape) > 1


def slice_indices(depth: int, n: int) -> list[int]:
    """``n`` evenly spaced slice indices through ``depth`` slices (all of them when fewer)."""
    if depth <= n:
        return list(range(depth))
    return [int(round(x)) for x in np.linspace(depth * 0.1, depth * 0.9 - 1, n)]


def volume_for_ct_model(arr: np.ndarray, spec: VolumeSpec) -> np.ndarray:
    """A (D, H, W) uint8 volume: HU clipped to the spec's window, scaled to 0-255, resized."""
    import torch
    import torch.nn.functional as F

    vol = np.squeeze(arr).astype(np.float32)
    if vol.ndim == 3 and vol.shape[0] > vol.shape[2]:  # NIfTI is (X, Y, Z): put slices first
        vol = np.transpose(vol, (2, 1, 0))
    vol = (np.clip(vol, spec.hu_min, spec.hu_max) - spec.hu_min) / (spec.hu_max - spec.hu_min)
    t = torch.from_numpy(vol)[None, None]
    t = F.interpolate(t, size=tuple(spec.shape), mode="trilinear", align_corners=False)
    return (t[0, 0].clamp(0, 1).numpy() * 255).astype(np.uint8)


def load_visuals(ref: ImageRef, label: str, profile: ModelProfile) -> list[Visual]:
    """The model inputs for one case image under ``profile`` (one or more Visuals)."""
    path = Path(ref)
    if not path.is_file():
        raise FileNotFoundError(f"{label}: no such image file {path}")
    if not (_is_nifti(path) or _is_dicom(path)):
        from PIL import Image

        with Image.open(path) as im:
            return [Visual(label=label, image=im.convert("RGB"), source=str(path))]
    arr, _ = load_array(path)
    if not is_volume(arr):
        return [Visual(label=label, image=_pil_from_array(np.squeeze(arr)), source=str(path))]
    if profile.volume is not None:
        vol = volume_for_ct_model(arr, profile.volume)
        return [Visual(kind="volume", label=label, volume=vol, source=str(path))]
    vol = np.squeeze(arr)
    axis = int(np.argmin(vol.shape)) if _is_dicom(path) else 2
    picks = slice_indices(vol.shape[axis], profile.slices_per_volume)
    return [
        Visual(label=f"{label}, slice {i + 1}/{vol.shape[axis]}",
               image=_pil_from_array(np.take(vol, i, axis=axis)), source=str(path))
        for i in picks
    ]


def png_data_url(visual: Visual) -> str:
    """A ``data:image/png;base64,...`` URL for a 2D visual."""
    buf = io.BytesIO()
    visual.pil().save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def npy_data_url(visual: Visual) -> str:
    """A ``data:application/x-npy;base64,...`` URL carrying a volume (understood by ``mimir serve-vlm``)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(visual.volume), allow_pickle=False)
    return "data:application/x-npy;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def decode_data_url(url: str) -> tuple[str, bytes]:
    """(mime type, payload) of a base64 data URL; ValueError for anything else."""
    if not url.startswith("data:") or ";base64," not in url:
        raise ValueError(f"expected a base64 data URL, got {url[:40]!r}")
    head, payload = url[5:].split(";base64,", 1)
    return head, base64.b64decode(payload)
