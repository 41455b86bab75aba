"""Build one demo patient: plan, render every visit and write PNG, DICOM, NIfTI and label files.

Layout under the output folder (all names opaque): ``png/<hex>.png`` (256x256 key slices, the Med-MIM
style images), ``dicom/<hex>.dcm`` (the same key slice as a single-slice DICOM with full headers),
``series/<hex>/<hex>.dcm`` (full DICOM series), ``nifti/<hex>.nii.gz`` (+ ``.json`` sidecar) and
``labels/<hex>.nii.gz`` / ``labels/<hex>.png`` (ground-truth masks: 0/1/2 for MRI, 0/1 for CT).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from mimir.demo.anatomy import VOXEL_MM, display_slice
from mimir.demo.brain import CONTRASTS, brain_subject, brain_visit
from mimir.demo.ct import ct_subject, ct_visit, window_ct
from mimir.demo.dicom_series import write_series
from mimir.demo.fundus import fundus_eye
from mimir.demo.patient_plan import (
    PatientPlan,
    choose_kind,
    draw_bleeds,
    draw_tumours,
    identity,
    measure_ct,
    measure_mri,
    step_changes,
)
from mimir.demo.truth import ImageTruth, Kind, PatientTruth, VisitTruth
from mimir.demo.writers import (
    DicomMeta,
    base_dataset,
    lps_position,
    opaque_name,
    uid,
    write_instance,
    write_nifti,
    write_png,
)

PNG_SIZE = 256
MR_DESCRIPTIONS = {"T1": "AX T1", "T1C": "AX T1 POST", "T2": "AX T2", "FLAIR": "AX T2 FLAIR"}
MR_SERIES_NUMBER = {"T1": 1, "T2": 2, "FLAIR": 3, "T1C": 4}
BODY_PARTS = {"MR": "BRAIN", "CT": "HEAD", "OP": "EYE", "CR": "CHEST", "DX": "CHEST", "MG": "BREAST"}


@dataclass(frozen=True)
class BuildOptions:
    """What to write besides PNG and key-image DICOM files."""

    series: bool = True
    nifti: bool = True
    series_step: int = 2
    kinds: tuple[Kind, ...] | None = None  # None: mimir.demo.patient_plan.DEFAULT_KINDS


class PlanError(RuntimeError):
    """No clear-cut plan was found for a patient (should not happen; report the seed)."""


@dataclass
class Visit:
    """What one visit's writer needs."""

    plan: PatientPlan
    index: int
    study_uid: str
    study_time: str
    out: Path
    seed: int


def _meta(v: Visit, modality: str, description: str, number: int, body: str, study: str,
          laterality: str | None = None, view: str | None = None, key: bool = False) -> DicomMeta:
    p = v.plan
    return DicomMeta(
        patient_id=p.patient_id, patient_name=p.patient_name, birth_date=p.birth_date, sex=p.sex,
        study_uid=v.study_uid, series_uid=uid(v.seed, p.patient_id, v.index, description, laterality, key),
        study_date=p.dates[v.index], study_time=v.study_time, modality=modality, series_description=description,
        series_number=number + (100 if key else 0), body_part=body, study_description=study,
        accession=f"A{opaque_name(v.study_uid)[:10].upper()}", laterality=laterality, view=view,
    )


def _key_position(affine: np.ndarray, shape: tuple[int, ...], z: int) -> tuple[float, float, float]:
    """LPS position of the first pixel of a 256x256 key image (128-voxel canvas zoomed by 2)."""
    rr0, cc0 = (128 - shape[1]) // 2, (128 - shape[0]) // 2
    x, y, zz = lps_position(affine, shape[0] - 1 + cc0, shape[1] - 1 + rr0, z)
    half = VOXEL_MM / 4
    return x - half, y - half, zz


def _rel(path: Path, out: Path) -> str:
    return path.relative_to(out).as_posix()


def _sidecar(meta: DicomMeta, sequence: str) -> dict[str, object]:
    return {"patient": meta.patient_id, "date": meta.study_date.isoformat(), "modality": meta.modality,
            "description": meta.series_description, "study_uid": meta.study_uid, "sequence": sequence,
            "body_part": meta.body_part, "view": "AXIAL"}


def _write_volume_image(v: Visit, meta: DicomMeta, key_meta: DicomMeta, volume: np.ndarray, affine: np.ndarray,
                        z: int, sequence: str, opts: BuildOptions) -> ImageTruth:
    """PNG + key DICOM (+ series + NIfTI) of one MR contrast or CT volume."""
    name = opaque_name(v.seed, v.plan.patient_id, v.index, sequence)
    ct = meta.modality == "CT"
    key = display_slice(volume, z, PNG_SIZE, fill=-1000.0 if ct else 0.0)
    png = v.out / "png" / f"{name}.png"
    write_png(png, window_ct(key) if ct else key)
    ds = base_dataset(key_meta)
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.SliceThickness = VOXEL_MM
    if ct:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 80
        stored = np.round(key + 1024.0)
    else:
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
        stored = np.round(key * 4095.0)
    dcm = v.out / "dicom" / f"{name}.dcm"
    write_instance(dcm, ds, stored, 1, uid(key_meta.series_uid, "key"), _key_position(affine, volume.shape, z), 1.0)
    truth = ImageTruth(png=_rel(png, v.out), dicom=_rel(dcm, v.out), modality=meta.modality, sequence=sequence,
                       description=meta.series_description, study_uid=meta.study_uid, series_uid=key_meta.series_uid)
    if opts.nifti:
        nii = v.out / "nifti" / f"{name}.nii.gz"
        write_nifti(nii, volume, affine, _sidecar(meta, sequence), scale=None if ct else 4095.0)
        truth.nifti = _rel(nii, v.out)
    if opts.series:
        folder = v.out / "series" / opaque_name(meta.series_uid)
        if ct:
            meta.extra = {"RescaleSlope": 1, "RescaleIntercept": -1024, "RescaleType": "HU", "WindowCenter": 40, "WindowWidth": 80}
            write_series(folder, volume, affine, meta, 1.0, 1024.0, opts.series_step)
        else:
            meta.extra = {"WindowCenter": 2048, "WindowWidth": 4096}
            write_series(folder, volume, affine, meta, 4095.0, 0.0, opts.series_step)
        truth.series_dir = _rel(folder, v.out)
    return truth


def _write_labels(v: Visit, labels: np.ndarray, affine: np.ndarray, z: int, image: ImageTruth) -> None:
    name = opaque_name(v.seed, v.plan.patient_id, v.index, "labels")
    nii, png = v.out / "labels" / f"{name}.nii.gz", v.out / "labels" / f"{name}.png"
    write_nifti(nii, labels.astype(np.uint8), affine)
    write_png(png, display_slice(labels.astype(np.uint8), z, PNG_SIZE, order=0))
    image.label_nifti, image.label_png = _rel(nii, v.out), _rel(png, v.out)


def _visit(plan: PatientPlan, index: int, seed: int, out: Path, rng: np.random.Generator) -> Visit:
    t = int(rng.integers(7 * 3600, 18 * 3600))
    return Visit(plan, index, uid(seed, plan.patient_id, index, "study"), f"{t // 3600:02d}{t % 3600 // 60:02d}{t % 60:02d}", out, seed)


def build_mri(plan: PatientPlan, rng: np.random.Generator, seed: int, out: Path, opts: BuildOptions) -> PatientTruth:
    """Plan, verify and write an MRI patient (4 contrasts per visit)."""
    subject = brain_subject(rng)
    for attempt in range(16):
        plan.tumours = draw_tumours(rng, plan.trajectory, len(plan.dates))
        measures = measure_mri(subject, plan.tumours)
        changes = step_changes(plan.trajectory, measures)
        if changes is not None:
            break
        if attempt % 4 == 3:
            subject = brain_subject(rng)
    else:
        raise PlanError(f"no clear-cut {plan.trajectory} plan for {plan.patient_id} (seed {seed})")
    z = subject.lesion_slice
    visits = []
    for i in range(len(plan.dates)):
        v = _visit(plan, i, seed, out, rng)
        arrays = brain_visit(subject, plan.tumours[i], rng)
        images = []
        for c in CONTRASTS:
            meta = _meta(v, "MR", MR_DESCRIPTIONS[c], MR_SERIES_NUMBER[c], "BRAIN", "MRI BRAIN WITH AND WITHOUT CONTRAST")
            key_meta = _meta(v, "MR", MR_DESCRIPTIONS[c], MR_SERIES_NUMBER[c], "BRAIN", meta.study_description, view="AXIAL", key=True)
            images.append(_write_volume_image(v, meta, key_meta, arrays[c], subject.affine, z, c, opts))
        _write_labels(v, arrays["labels"], subject.affine, z, images[CONTRASTS.index("T1C")])
        visits.append(VisitTruth.model_validate({"index": i, "study_date": plan.dates[i], "change_from_previous": changes[i],
                                                 "images": images, **measures[i]}))
    return _truth(plan, visits, z)


def build_ct(plan: PatientPlan, rng: np.random.Generator, seed: int, out: Path, opts: BuildOptions) -> PatientTruth:
    """Plan, verify and write a head CT patient (one volume per visit)."""
    subject = ct_subject(rng)
    for _ in range(16):
        plan.bleeds = draw_bleeds(rng, plan.trajectory, len(plan.dates))
        measures = measure_ct(subject, plan.bleeds)
        changes = step_changes(plan.trajectory, measures)
        if changes is not None:
            break
    else:
        raise PlanError(f"no clear-cut {plan.trajectory} plan for {plan.patient_id} (seed {seed})")
    z = subject.lesion_slice
    visits = []
    for i in range(len(plan.dates)):
        v = _visit(plan, i, seed, out, rng)
        arrays = ct_visit(subject, plan.bleeds[i], rng)
        meta = _meta(v, "CT", "AX BRAIN 2MM", 2, "HEAD", "CT HEAD WITHOUT CONTRAST")
        key_meta = _meta(v, "CT", "AX BRAIN 2MM", 2, "HEAD", meta.study_description, view="AXIAL", key=True)
        image = _write_volume_image(v, meta, key_meta, arrays["HU"], subject.affine, z, "CT", opts)
        _write_labels(v, arrays["labels"], subject.affine, z, image)
        visits.append(VisitTruth.model_validate({"index": i, "study_date": plan.dates[i], "change_from_previous": changes[i],
                                                 "images": [image], **measures[i]}))
    return _truth(plan, visits, z)


def build_fundus(plan: PatientPlan, rng: np.random.Generator, seed: int, out: Path, pair: tuple[str, str]) -> PatientTruth:
    """Write a fundus patient: one visit, left and right eye photographs (DICOM modality OP)."""
    plan.eyes = {"L": pair[0], "R": pair[1]}
    v = _visit(plan, 0, seed, out, rng)
    images = []
    for n, side in enumerate(("L", "R")):
        img, lesions = fundus_eye(rng, side, plan.eyes[side], PNG_SIZE)  # type: ignore[arg-type]
        name = opaque_name(seed, plan.patient_id, 0, "fundus", side)
        png, dcm = out / "png" / f"{name}.png", out / "dicom" / f"{name}.dcm"
        write_png(png, img)
        meta = _meta(v, "OP", "COLOR FUNDUS 45", 1 + n, "EYE", "OPHTHALMIC PHOTOGRAPHY", laterality=side, view="POSTERIOR POLE")
        ds = base_dataset(meta)
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.PixelSpacing = [0.05, 0.05]
        write_instance(dcm, ds, np.round(np.clip(img, 0, 1) * 255).astype(np.uint8), 1, uid(meta.series_uid, "image"))
        images.append(ImageTruth(png=_rel(png, out), dicom=_rel(dcm, out), modality="OP", sequence="FUNDUS",
                                 description=meta.series_description, laterality=side,
                                 diagnosis=plan.eyes[side], lesions=lesions, study_uid=meta.study_uid, series_uid=meta.series_uid))
    return _truth(plan, [VisitTruth(index=0, study_date=plan.dates[0], images=images)], None)


def _truth(plan: PatientPlan, visits: list[VisitTruth], z: int | None) -> PatientTruth:
    return PatientTruth(patient_id=plan.patient_id, patient_name=plan.patient_name, birth_date=plan.birth_date,
                        sex=plan.sex, kind=plan.kind, trajectory=plan.trajectory, slice_index=z,
                        eye_diagnoses=plan.eyes, visits=visits)


def build_patient(seed: int, index: int, out: Path, opts: BuildOptions | None = None) -> PatientTruth:
    """Build patient ``index`` of the set with ``seed`` under ``out``; returns its ground truth."""
    from mimir.demo.patient_plan import EYE_PAIRS, kind_rank

    opts = opts or BuildOptions()
    kind, trajectory = choose_kind(seed, index, opts.kinds)
    rng = np.random.default_rng([seed, index])
    if kind in ("cxr", "mg"):
        from mimir.demo.plan_xr import xr_identity
        from mimir.demo.render_xr import build_cxr, build_mg

        plan = xr_identity(rng, seed, index, kind, trajectory)
        if kind == "cxr":
            return build_cxr(plan, rng, seed, out, kind_rank(index, opts.kinds))
        return build_mg(plan, rng, seed, out)
    plan = identity(rng, seed, index, kind, trajectory)
    if kind == "mri":
        return build_mri(plan, rng, seed, out, opts)
    if kind == "ct":
        return build_ct(plan, rng, seed, out, opts)
    pair = EYE_PAIRS[(kind_rank(index, opts.kinds) + seed) % len(EYE_PAIRS)]
    return build_fundus(plan, rng, seed, out, pair)


def manifest_rows(truth: PatientTruth) -> list[dict[str, str]]:
    """Manifest rows (patient, date, modality, description, laterality, view, body_part, path) for the PNGs."""
    rows = []
    for visit in truth.visits:
        for im in visit.images:
            rows.append({
                "patient": truth.patient_id, "date": date.isoformat(visit.study_date), "modality": im.modality,
                "description": im.description, "laterality": im.laterality or "",
                "view": im.view or ("POSTERIOR POLE" if im.modality == "OP" else "AXIAL"),
                "body_part": BODY_PARTS[im.modality], "path": im.png,
                "study_uid": im.study_uid, "sequence": im.sequence if im.modality == "MR" else "",
            })
    return rows
