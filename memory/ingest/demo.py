"""Ingest a demo set built by :mod:`mimir.demo` into the patient timeline (DICOM, NIfTI with sidecars, PNGs by manifest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimir.memory.db import Database
    from mimir.memory.ingest.ingest_report import IngestReport
    from mimir.settings import Settings

#: Folders of a demo set that hold images for the timeline (``labels/`` is ground truth, not ingested).
IMAGE_FOLDERS = ("dicom", "series", "nifti", "png")


def demo_paths(out: Path, include_png: bool = True) -> list[Path]:
    """The image folders of the demo set at ``out``; raises when it is not a demo set."""
    if not (out / "suite.json").is_file():
        raise FileNotFoundError(f"{out} holds no demo set (no suite.json); build one with `mimir demo build --out {out}`")
    return [out / name for name in IMAGE_FOLDERS if (out / name).is_dir() and (include_png or name != "png")]


def load_demo(db: Database, out: str | Path, settings: Settings, include_png: bool = True,
              progress: Callable[[int, int, str], None] | None = None) -> IngestReport:
    """Ingest the demo set at ``out``; PNGs get their patient, date and sequence from ``manifest.csv``."""
    from mimir.memory.ingest import ingest_paths

    out = Path(out)
    manifest = out / "manifest.csv" if include_png else None
    return ingest_paths(db, demo_paths(out, include_png), settings, manifest=manifest, progress=progress)
