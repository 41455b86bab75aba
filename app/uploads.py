"""Uploads: checked whole before anything is stored, stored only under the data directory.

A rejected upload says why and changes nothing: files are staged in a temporary folder (archives
unpacked there, refusing unsafe member names), every staged file is checked by content (type,
size, readable to its end), and only then copied into storage under names mimir chooses.
"""

from __future__ import annotations

import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from mimir.app.errors import BadInput
from mimir.settings import Settings


class UploadRejected(BadInput):
    """The upload was refused; nothing was stored."""


@dataclass(frozen=True)
class IncomingFile:
    """One uploaded file as received: a temp path and the client's name, which is never trusted."""

    name: str
    path: Path


@dataclass(frozen=True)
class Staged:
    """A file that passed every check, with its type."""

    name: str
    path: Path
    kind: str


def sniff(data: bytes, name: str) -> str:
    """Type by content: dicom, nifti, png, jpeg, zip, manifest; else raise UploadRejected."""
    lower = name.lower()
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if data[:2] == b"\x1f\x8b" and lower.endswith(".nii.gz"):
        return "nifti"
    if len(data) >= 348 and data[344:348] in (b"n+1\x00", b"ni1\x00"):
        return "nifti"
    if lower.endswith((".json", ".csv")):
        return "manifest"
    what = "a DICOM file (no DICM preamble)" if lower.endswith((".dcm", ".dicom")) else "of a supported type"
    raise UploadRejected(f"'{name}' is not {what}; accepted: DICOM, NIfTI, PNG, JPEG, zip, manifest CSV/JSON")


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(512)


def _unzip(f: IncomingFile, into: Path, limit: int) -> list[IncomingFile]:
    try:
        with zipfile.ZipFile(f.path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            for m in members:
                p = PurePosixPath(m.filename)
                if p.is_absolute() or ".." in p.parts or "\\" in m.filename:
                    raise UploadRejected(f"'{f.name}' contains an unsafe path '{m.filename}'")
            total = sum(m.file_size for m in members)
            if total > limit:
                raise UploadRejected(f"'{f.name}' unpacks to {total / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit")
            out = []
            for j, m in enumerate(members):
                dest = into / f"{f.path.name}_{j:05d}"
                with zf.open(m) as src, dest.open("wb") as fh:
                    shutil.copyfileobj(src, fh)
                out.append(IncomingFile(name=f"{f.name}:{m.filename}", path=dest))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise UploadRejected(f"'{f.name}' is not a readable zip: {e}") from e


def _check_dicom(s: Staged) -> None:
    import pydicom

    try:
        ds = pydicom.dcmread(s.path)
    except Exception as e:  # noqa: BLE001 - pydicom raises many types for broken files; we re-raise as one
        raise UploadRejected(f"'{s.name}' is not a readable DICOM file: {e}") from e
    if "PixelData" in ds and not ds.file_meta.TransferSyntaxUID.is_compressed:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        expected = ds.Rows * ds.Columns * frames * ds.get("SamplesPerPixel", 1) * (ds.BitsAllocated // 8)
        if len(ds.PixelData) < expected:
            raise UploadRejected(f"'{s.name}' is truncated: {len(ds.PixelData)} of {expected} pixel bytes")


def _check_raster(s: Staged) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(s.path) as im:
            im.load()
    except (OSError, UnidentifiedImageError) as e:
        raise UploadRejected(f"'{s.name}' is not a readable {s.kind.upper()} image: {e}") from e


def _check_nifti(s: Staged) -> None:
    import nibabel as nib

    try:
        np.asarray(nib.load(str(s.path)).dataobj)  # type: ignore[attr-defined]  # reads every voxel
    except Exception as e:  # noqa: BLE001 - nibabel/gzip/numpy raise many types for broken files
        raise UploadRejected(f"'{s.name}' is not a readable NIfTI file: {e}") from e


CHECKS = {"dicom": _check_dicom, "png": _check_raster, "jpeg": _check_raster, "nifti": _check_nifti}


def stage(files: list[IncomingFile], settings: Settings, into: Path) -> list[Staged]:
    """Unpack and check every file; raise UploadRejected naming the first problem."""
    if not files:
        raise UploadRejected("no files in the upload")
    limit = settings.upload_max_mb * 2**20
    staged: list[Staged] = []
    queue = list(files)
    while queue:
        f = queue.pop(0)
        size = f.path.stat().st_size
        if size > limit:
            raise UploadRejected(f"'{f.name}' is {size / 2**20:.1f} MB, over the {settings.upload_max_mb} MB limit")
        kind = sniff(_head(f.path), f.name)
        if kind == "zip":
            queue.extend(_unzip(f, into, limit))
            continue
        s = Staged(f.name, f.path, kind)
        CHECKS.get(kind, lambda _: None)(s)
        staged.append(s)
    return staged


SUFFIX = {"dicom": ".dcm", "png": ".png", "jpeg": ".jpg", "nifti": ".nii"}


def store(staged: list[Staged], settings: Settings) -> tuple[Path, dict[str, Path]]:
    """Copy checked files into a fresh folder under the data dir, under names mimir chooses.

    Returns the folder and a map from each file's uploaded base name to its stored path (used to
    point a manifest's rows at the stored files).
    """
    dest = settings.storage_dir / "uploads" / uuid.uuid4().hex
    dest.mkdir(parents=True)
    names: dict[str, Path] = {}
    for i, s in enumerate(staged):
        if s.kind == "manifest":
            suffix = ".json" if s.name.lower().endswith(".json") else ".csv"
        elif s.kind == "nifti" and _head(s.path)[:2] == b"\x1f\x8b":
            suffix = ".nii.gz"
        else:
            suffix = SUFFIX[s.kind]
        target = dest / f"{i:05d}{suffix}"
        shutil.copyfile(s.path, target)
        names[PurePosixPath(s.name.split(":")[-1]).name] = target
    return dest, names
