"""Metadata for files that carry none themselves: a JSON sidecar or a manifest row."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mimir.memory.ingest.records import norm_laterality


class ImageMeta(BaseModel):
    """What a sidecar ``<file>.json`` or a manifest row may say about one image."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    path: str | None = None
    patient: str | None = Field(default=None, alias="patient_id")
    study_date: date | None = Field(default=None, alias="date")
    modality: str | None = None
    description: str | None = Field(default=None, alias="series_description")
    laterality: str | None = None
    view: str | None = None
    body_part: str | None = None
    study_uid: str | None = None
    sequence: str | None = None
    report: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("laterality", mode="after")
    @classmethod
    def _lat(cls, v: str | None) -> str | None:
        return norm_laterality(v) if v else None


def _rename(row: dict[str, object]) -> dict[str, object]:
    """Accept both the manifest names (patient, date) and the case/sidecar names."""
    aliases = {"patient": "patient_id", "date": "date", "description": "series_description"}
    return {aliases.get(k.strip(), k.strip()): v for k, v in row.items() if k}


def read_sidecar(path: Path) -> ImageMeta | None:
    """``<file>.json`` beside ``path``, if present (``scan.nii.gz.json`` or ``scan.json``)."""
    stem = path.name.split(".")[0]
    for cand in (path.with_name(path.name + ".json"), path.with_name(stem + ".json")):
        if cand.is_file():
            try:
                return ImageMeta.model_validate(_rename(json.loads(cand.read_text())))
            except (json.JSONDecodeError, ValidationError) as e:
                raise ValueError(f"sidecar {cand} is invalid: {e}") from e
    return None


def load_manifest(path: Path) -> dict[str, ImageMeta]:
    """A CSV or JSON manifest, keyed by resolved absolute image path.

    Columns: patient, date, modality, description, laterality, view, body_part, path; relative paths
    are taken relative to the manifest.
    """
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text())
        if isinstance(rows, dict):
            rows = rows.get("images", [])
    else:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    out: dict[str, ImageMeta] = {}
    for n, row in enumerate(rows, start=1):
        try:
            meta = ImageMeta.model_validate(_rename(row))
        except ValidationError as e:
            raise ValueError(f"manifest {path} row {n} is invalid: {e}") from e
        if not meta.path:
            raise ValueError(f"manifest {path} row {n} has no path")
        p = Path(meta.path)
        out[str((p if p.is_absolute() else path.parent / p).resolve())] = meta
    return out
