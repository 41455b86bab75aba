"""Out-of-distribution inputs for testing the fingerprints: scanner-like shifts, real scans, wrong inputs.

Every function writes PNG or DICOM files into a folder and returns their paths. Shifts start from
an in-distribution PNG: Gaussian noise, a smooth multiplicative bias field, a contrast (gamma)
change, a lower resolution, a crop to a smaller field of view, and a quarter turn. Real scans are
the single-frame 2-D CT, MR and radiograph files that pydicom and pydicom-data ship (none used by
the demo generator), kept as DICOM and also rendered as 8-bit PNG, so a header check cannot catch
them. Package pictures are other real images that ship with Python packages, as PNG: coronal and
sagittal slices of the templates the generator starts from (nilearn's MNI152 T1, TotalSegmentator's
CT brain atlas; the generator makes axial slices), and scikit-image's photographs and phantom.
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


def _rotate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.rot90(x, k=int(rng.choice([1, 3])), axes=(0, 1))


def _crop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape[:2]
    r0, c0 = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
    return x[r0 : r0 + h // 2, c0 : c0 + w // 2]


SHIFTS: dict[str, Shift] = {"noise": _noise, "bias field": _bias, "contrast": _contrast,
                            "resolution": _resolution, "crop": _crop, "rotation": _rotate}


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


def package_pictures(out: Path) -> list[Path]:
    """Other real images shipped with packages, as PNG: template slices in other orientations, photographs."""
    written = [write_png(out / f"mni152-{name}.png", img) for name, img in _template_slices(_mni152())]
    written += [write_png(out / f"ct-atlas-{name}.png", img) for name, img in _template_slices(_ct_atlas())]
    import skimage.data as sk

    for name in ("camera", "astronaut", "retina", "coffee", "shepp_logan_phantom", "microaneurysms"):
        try:
            img = np.asarray(getattr(sk, name)(), dtype=np.float64)
        except Exception:  # noqa: BLE001 - an image this scikit-image would download
            continue
        written.append(write_png(out / f"skimage-{name}.png", img))
    return written


def _template_slices(volume: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    if volume is None:
        return []
    out = []
    for axis, plane in ((0, "sagittal"), (1, "coronal")):
        for frac in (0.35, 0.5, 0.65):
            index = int(volume.shape[axis] * frac)
            out.append((f"{plane}-{index}", np.rot90(np.take(volume, index, axis=axis))))
    return out


def _mni152() -> np.ndarray | None:
    try:
        from nilearn import datasets

        return np.asarray(datasets.load_mni152_template(resolution=1).get_fdata(), dtype=np.float64)
    except Exception:  # noqa: BLE001 - nilearn absent
        return None


def _ct_atlas() -> np.ndarray | None:
    try:
        import nibabel as nib
        import totalsegmentator

        path = Path(totalsegmentator.__file__).parent / "resources" / "ct_brain_atlas_1mm.nii.gz"
        hu = np.asarray(nib.load(path).get_fdata(), dtype=np.float64)  # type: ignore[attr-defined]
        return np.clip(hu, 0.0, 80.0)  # the brain window the demo CT is shown in
    except Exception:  # noqa: BLE001 - TotalSegmentator absent
        return None
