"""Pictures for reviewers: thumbnails, mask overlays on their images, and measurement plots.

Images and masks are both read through MONAI's LoadImage (as the tools read them), so a mask lines
up with its image; 2D raster files (PNG, JPEG, DICOM) come out of MONAI transposed, and are turned
back for display.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from mimir.app.refusals import Unreadable
from mimir.tools.analysis.imaging import load_array, load_mask

RASTER = {".png", ".jpg", ".jpeg", ".dcm", ""}
#: RGBA per label: non-enhancing lesion amber, enhancing red, further labels cycle.
LABEL_COLOURS = [(255, 191, 0, 110), (230, 30, 30, 150), (40, 160, 255, 130), (60, 220, 90, 130)]


def _display(array: np.ndarray, path: Path) -> np.ndarray:
    """MONAI array -> (rows, cols[, slices|channels]) as a person looks at it (a 4-D image: its first volume)."""
    a = np.squeeze(np.asarray(array))
    if path.suffix.lower() in RASTER:
        return np.swapaxes(a, 0, 1)
    while a.ndim > 3:
        a = a[..., 0]
    return np.rot90(a) if a.ndim >= 2 else a


def _read(path: Path, loader: Callable[[Path], Any] = lambda p: load_array(p)[0]) -> np.ndarray:
    """Pixels of a stored file as loaded; Unreadable (never a server error) when it is missing or broken."""
    try:
        return np.asarray(loader(path))
    except (OSError, RuntimeError, ValueError, EOFError, MemoryError) as e:
        raise Unreadable(f"a stored file cannot be read ({type(e).__name__}); ingest it again") from e


def _fast(path: Path) -> np.ndarray | None:
    """A DICOM or raster picture read directly (pydicom, Pillow) in display orientation; None otherwise.

    These give what MONAI's readers give after :func:`_display`, without waiting for MONAI's import.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".dcm":
            import pydicom

            ds = pydicom.dcmread(path)
            a = ds.pixel_array.astype(np.float32)
            if a.ndim == 2:
                return a * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
            return None  # multi-frame and colour DICOM: MONAI's reader decides the layout
        if suffix in (".png", ".jpg", ".jpeg"):
            with PILImage.open(path) as im:
                return np.asarray(im.convert("RGB") if im.mode in ("P", "CMYK", "LA", "PA") else im)
    except (OSError, ValueError, AttributeError, RuntimeError, EOFError) as e:
        raise Unreadable(f"a stored file cannot be read ({type(e).__name__}); ingest it again") from e
    return None


def display_array(path: Path) -> np.ndarray:
    """Pixels of a stored image as a person looks at them: (rows, cols[, slices|channels])."""
    fast = _fast(path)
    return fast if fast is not None else _display(_read(path), path)


def _to_uint8(plane: np.ndarray) -> np.ndarray:
    plane = plane.astype(np.float32)
    lo, hi = np.percentile(plane, [1, 99.5]) if plane.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return (np.clip((plane - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def n_slices(path: str | Path) -> int:
    """Number of axial slices a viewer can step through (1 for 2D images)."""
    p = Path(path)
    a = display_array(p)
    return int(a.shape[2]) if a.ndim == 3 and a.shape[2] not in (3, 4) else 1


def _plane(array: np.ndarray, slice_index: int | None) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] not in (3, 4):
        k = array.shape[2] // 2 if slice_index is None else int(np.clip(slice_index, 0, array.shape[2] - 1))
        return array[:, :, k]
    return array


def picture(path: str | Path, slice_index: int | None = None, mask_path: str | Path | None = None) -> PILImage.Image:
    """The image (one slice of a volume) as RGB, with the mask's labels drawn over it if given."""
    p = Path(path)
    plane = _plane(display_array(p), slice_index)
    rgb = plane if plane.ndim == 3 else np.repeat(_to_uint8(plane)[..., None], 3, axis=2)
    base = PILImage.fromarray(_to_uint8(rgb) if rgb.dtype != np.uint8 else rgb).convert("RGBA")
    if mask_path is not None:
        mask = _plane(_display(_read(Path(mask_path), load_mask), p), slice_index)
        if mask.shape[:2] != plane.shape[:2]:
            raise Unreadable(f"the mask's shape {mask.shape} does not match the image's {plane.shape}")
        layer = np.zeros((*mask.shape[:2], 4), np.uint8)
        for label in (v for v in np.unique(mask) if v > 0):
            layer[mask == label] = LABEL_COLOURS[(int(label) - 1) % len(LABEL_COLOURS)]
        base = PILImage.alpha_composite(base, PILImage.fromarray(layer, "RGBA"))
    return base.convert("RGB")


def png_bytes(img: PILImage.Image, max_side: int | None = None) -> bytes:
    """Encode as PNG, optionally shrunk to ``max_side`` pixels."""
    if max_side:
        img = img.copy()
        img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def trajectory_plot(series: dict[str, tuple[str, list[tuple[str, float]]]], out: Path) -> Path:
    """Plot each finding over time to the PNG file ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(trajectory_png(series))
    return out


def trajectory_png(series: dict[str, tuple[str, list[tuple[str, float]]]]) -> bytes:
    """Each finding over time as PNG bytes: one panel per unit, one line per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_unit: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for label, (unit, points) in series.items():
        by_unit.setdefault(unit or "value", {})[label] = points
    units = sorted(by_unit, key=lambda u: (u not in ("mm2", "mm²", "mL", "ml"), u))[:3]
    fig, axes = plt.subplots(1, max(len(units), 1), figsize=(4.2 * max(len(units), 1), 3.2), dpi=110, squeeze=False)
    for ax, unit in zip(axes[0], units, strict=False):
        for label, points in by_unit[unit].items():
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_ylabel(unit, fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=10)
        ax.tick_params(labelsize=10)
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
