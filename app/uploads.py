"""Uploads: checked whole in a staging folder before anything is stored.

Files arrive in ``<data>/staging/<random>/`` under names the server chooses. Archives are unpacked
there (nested ones too, to a fixed depth), refusing unsafe member names; every byte written or
decompressed counts against one budget per upload, checked while it is written, so a small archive
cannot expand past the limit. Each file is checked by content (type, pixel or voxel count, readable
to its end) and renamed with its type's suffix; only then does ingestion move it into storage.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from mimir.app.ids import display_name
from mimir.app.refusals import BadInput, TooLarge
from mimir.settings import Settings

_CHUNK = 1 << 20


class UploadRejected(BadInput):
    """The upload was refused; nothing was stored."""


class UploadTooLarge(UploadRejected, TooLarge):
    """The upload, an archive member or an image is over a limit."""


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may hold."""

    total_bytes: int
    image_pixels: int
    volume_voxels: int
    max_files: int = 10_000
    max_depth: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        """The configured limits."""
        return cls(settings.upload_max_mb * 2**20, settings.image_max_pixels, settings.volume_max_voxels)


class Budget:
    """Bytes an upload has written or decompressed so far, against its limit."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.used = 0
        self.files = 0

    def take(self, n: int, what: str) -> None:
        """Count ``n`` more bytes of ``what``; UploadTooLarge past the limit."""
        self.used += n
        if self.used > self.limits.total_bytes:
            mb = self.limits.total_bytes / 2**20
            raise UploadTooLarge(f"the upload unpacks to more than {mb:.0f} MB (at '{what}'); send less at once")

    def count_file(self) -> None:
        """One more file in the upload; UploadTooLarge past the file limit."""
        self.files += 1
        if self.files > self.limits.max_files:
            raise UploadTooLarge(f"more than {self.limits.max_files} files in one upload")


@dataclass(frozen=True)
class IncomingFile:
    """One uploaded file as received: a staged path and a display name (never used as a path)."""

    name: str
    path: Path


@dataclass(frozen=True)
class Staged:
    """A file that passed every check, renamed with its type's suffix."""

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


def head(path: Path) -> bytes:
    """The first 512 bytes of a file."""
    with path.open("rb") as f:
        return f.read(512)


def copy_counted(src: IO[bytes], dest: Path, budget: Budget, what: str) -> None:
    """Copy ``src`` to ``dest`` in chunks, counting each against the budget as it is written."""
    with dest.open("wb") as out:
        while chunk := src.read(_CHUNK):
            budget.take(len(chunk), what)
            out.write(chunk)


def _unzip(f: IncomingFile, into: Path, budget: Budget) -> list[IncomingFile]:
    try:
        with zipfile.ZipFile(f.path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            for m in members:
                p = PurePosixPath(m.filename)
                if p.is_absolute() or ".." in p.parts or "\\" in m.filename:
                    raise UploadRejected(f"'{f.name}' contains an unsafe path '{display_name(m.filename, '?')}'")
            out = []
            for j, m in enumerate(members):
                budget.count_file()
                name = f"{f.name}:{display_name(m.filename, f'member {j + 1}')}"
                dest = into / f"{f.path.name}-{j:05d}"
                with zf.open(m) as src:  # sizes in the archive are not trusted: bytes are counted
                    copy_counted(src, dest, budget, name)
                out.append(IncomingFile(name=name, path=dest))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as e:
        raise UploadRejected(f"'{f.name}' is not a readable zip: {e}") from e


def stage(files: list[IncomingFile], settings: Settings, into: Path) -> list[Staged]:
    """Unpack every archive, then check every file, under ``into``; UploadRejected names the first problem."""
    from mimir.app.checks import check

    if not files:
        raise UploadRejected("no files in the upload")
    budget = Budget(UploadLimits.from_settings(settings))
    leaves = _unpack(files, into, budget)
    staged: list[Staged] = []
    for f, kind in leaves:
        dest = into / f"{len(staged):05d}{suffix(kind, f)}"
        shutil.move(f.path, dest)
        staged.append(Staged(f.name, dest, kind))
        check(staged[-1], budget)
    return staged


def _unpack(files: list[IncomingFile], into: Path, budget: Budget) -> list[tuple[IncomingFile, str]]:
    """Every file of the upload with its type, archives unpacked (all of them before any file is checked)."""
    leaves = []
    queue = [(f, 0) for f in files]
    while queue:
        f, depth = queue.pop(0)
        if depth == 0:
            budget.count_file()
            budget.take(f.path.stat().st_size, f.name)
        kind = sniff(head(f.path), f.name)
        if kind != "zip":
            leaves.append((f, kind))
            continue
        if depth >= budget.limits.max_depth:
            raise UploadTooLarge(f"'{f.name}' nests archives deeper than {budget.limits.max_depth} levels")
        queue += [(m, depth + 1) for m in _unzip(f, into, budget)]
        f.path.unlink()
    return leaves


def suffix(kind: str, f: IncomingFile) -> str:
    """The suffix ingestion reads a file of this kind by."""
    if kind == "manifest":
        return ".json" if f.name.lower().endswith(".json") else ".csv"
    if kind == "nifti":
        return ".nii.gz" if head(f.path)[:2] == b"\x1f\x8b" else ".nii"
    return {"dicom": ".dcm", "png": ".png", "jpeg": ".jpg"}[kind]
