"""Out-of-distribution inputs for testing the fingerprints: scanner-like shifts, real scans, wrong inputs.

Every function writes PNG or DICOM files into a folder and returns their paths. Shifts start from
an in-distribution PNG: Gaussian noise, a smooth multiplicative bias field, a contrast (gamma)
change, a lower resolution, and a crop to a smaller field of view. Real scans are the single-frame
2-D CT, MR and radiograph files that pydicom and pydicom-data ship (none used by the demo
generator), kept as DICOM and also rendered as 8-bit PNG, so a header check cannot catch them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

Shift = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, 0.1, x.shape)


def _bias(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * np.linspace(-1, 1, w)[None, :] + np.sin(angle) * np.linspace(-1, 1, h)[:, None]
    field = np.exp(0.6 * ramp)
    return x * (field[..., None] if x.ndim == 3 else field)


def _contrast(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x, 0, 1) ** (rng.choice([0.35, 3.0]))


def _resolution(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    del rng
    img = Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8))
    small = img.resize((img.width // 4, img.height // 4), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float64) / 255.0


def _crop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape[:2]
    r0, c0 = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
    return x[r0 : r0 + h // 2, c0 : c0 + w // 2]


SHIFTS: dict[str, Shift] = {"noise": _noise, "bias field": _bias, "contrast": _contrast,
                            "resolution": _resolution, "crop": _crop}


def write_png(path: Path, image: np.ndarray) -> Path:
    """An 8-bit PNG of a float image (min-max scaled)."""
    lo, hi = float(image.min()), float(image.max())
    scaled = (image - lo) / (hi - lo) if hi > lo else image * 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(scaled * 255).astype(np.uint8)).save(path)
    return path


def shifted(images: list[Path], out: Path, seed: int = 0) -> dict[str, list[Path]]:
    """Each PNG under every shift: shift name -> written files."""
    rng = np.random.default_rng(seed)
    written: dict[str, list[Path]] = {name: [] for name in SHIFTS}
    for i, src in enumerate(p for p in images if p.suffix.lower() == ".png"):
        x = np.asarray(Image.open(src), dtype=np.float64) / 255.0
        for name, shift in SHIFTS.items():
            y = np.clip(shift(x, rng), 0.0, 1.0)
            written[name].append(write_png(out / name.replace(" ", "-") / f"{i:04d}.png", y))
    return written


def package_scans() -> list[Path]:
    """Single-frame 2-D CT, MR and radiograph (CR, DX) DICOMs shipped with pydicom and pydicom-data."""
    import pydicom

    roots = [Path(pydicom.__file__).parent / "data" / "test_files"]
    try:
        import data_store  # pydicom-data

        roots.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    found = []
    for path in sorted(p for r in roots if r.is_dir() for p in r.rglob("*.dcm")):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - deliberately broken test files
            continue
        if ds.get("Modality") in ("CT", "MR", "CR", "DX") and int(ds.get("NumberOfFrames", 1) or 1) == 1 \
                and int(ds.get("SamplesPerPixel", 1)) == 1 and "Rows" in ds:
            found.append(path)
    return found


def as_png(scans: list[Path], out: Path) -> list[Path]:
    """The scans rendered as 8-bit PNG (no header, so no modality to check)."""
    import pydicom

    written = []
    for i, path in enumerate(scans):
        try:
            pixels = pydicom.dcmread(path).pixel_array.astype(np.float64)
        except Exception:  # noqa: BLE001 - a codec this environment lacks
            continue
        if pixels.ndim == 2:
            written.append(write_png(out / f"{i:03d}-{path.stem}.png", pixels))
    return written
