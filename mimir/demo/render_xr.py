"""Build chest-radiograph and mammography patients: plan, render every film and write PNG, DICOM, labels.

Each film is written as ``png/<hex>.png`` (256 x 256, as Med-MIM's images are shown), as
``dicom/<hex>.dcm`` (the 512 x 512 film with full CR/DX or MG headers) and its label as
``labels/<hex>.png`` (256 x 256; chest 0-4, breast 0-2). There are no volumes, so no series or NIfTI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimir.demo.chest import render_frame, resize
from mimir.demo.chest_anatomy import PIXEL_MM, chest_subject
from mimir.demo.chest_plan import plan_chest
from mimir.demo.mammo import mammo_image, mammo_subject
from mimir.demo.mammo_anatomy import MG_PIXEL_MM
from mimir.demo.patient_plan import PatientPlan
from mimir.demo.plan_xr import age_at, chest_kind, plan_mammo
from mimir.demo.render import PNG_SIZE, PlanError, Visit, _meta, _rel, _truth, _visit
from mimir.demo.truth import ImageTruth, PatientTruth, VisitTruth
from mimir.demo.writers import DicomMeta, base_dataset, opaque_name, uid, write_instance, write_png

#: Source-to-detector distance (mm) and radiographic magnification of each chest projection.
CHEST_GEOMETRY = {"PA": (1800.0, 1.08), "AP": (1000.0, 1.16)}
#: DICOM patient orientation of each mammographic view (rows, columns), chest wall on the image's left for R.
MG_ORIENTATION = {("R", "CC"): ["A", "R"], ("R", "MLO"): ["A", "FR"], ("L", "CC"): ["P", "L"], ("L", "MLO"): ["P", "FL"]}


def _write_film(v: Visit, meta: DicomMeta, image: np.ndarray, labels: np.ndarray, name: str, spacing: float,
                extra: dict[str, object]) -> ImageTruth:
    """PNG, DICOM and label PNG of one film; the truth record of the image."""
    png, dcm, lab = (v.out / "png" / f"{name}.png", v.out / "dicom" / f"{name}.dcm", v.out / "labels" / f"{name}.png")
    write_png(png, resize(image, PNG_SIZE))
    write_png(lab, resize(labels, PNG_SIZE, label=True))
    ds = base_dataset(meta)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.PixelSpacing = [round(spacing, 6)] * 2
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    for key, value in extra.items():
        setattr(ds, key, value)
    write_instance(dcm, ds, np.round(np.clip(image, 0, 1) * 4095.0), 1, uid(meta.series_uid, "image"))
    area = float((labels > 0).sum()) * spacing**2
    return ImageTruth(png=_rel(png, v.out), dicom=_rel(dcm, v.out), label_png=_rel(lab, v.out), modality=meta.modality,
                      sequence="MG" if meta.modality == "MG" else "XR", description=meta.series_description,
                      laterality=meta.laterality, view=meta.view, finding_mm2=round(area, 2),
                      study_uid=meta.study_uid, series_uid=meta.series_uid)


def build_cxr(plan: PatientPlan, rng: np.random.Generator, seed: int, out: Path, rank: int) -> PatientTruth:
    """Plan, verify and write the ``rank``-th chest-radiograph patient (one frontal film per visit)."""
    finding, _ = chest_kind(seed, rank)
    subject = chest_subject(rng)
    chest = plan_chest(rng, subject, finding, plan.trajectory, len(plan.dates))
    if chest is None:
        raise PlanError(f"no clear-cut {plan.trajectory} {finding} plan for {plan.patient_id} (seed {seed})")
    modality = "DX" if rng.random() < 0.5 else "CR"
    visits = []
    for i, frame in enumerate(chest.frames):
        v = _visit(plan, i, seed, out, rng)
        sid, magnification = CHEST_GEOMETRY[frame.view]
        description = "CHEST PA" if frame.view == "PA" else "CHEST AP PORTABLE"
        meta = _meta(v, modality, description, 1, "CHEST", "XR CHEST 1 VIEW", view=frame.view)
        extra: dict[str, object] = {
            "PatientOrientation": ["L", "F"], "DistanceSourceToDetector": sid, "KVP": 120 if frame.view == "PA" else 90,
            "ImagerPixelSpacing": [round(PIXEL_MM * magnification, 6)] * 2,
            "EstimatedRadiographicMagnificationFactor": magnification,
        }
        if modality == "DX":
            extra["ImageLaterality"] = "U"  # the chest is an unpaired body part
        image = render_frame(subject, frame, rng)
        name = opaque_name(seed, plan.patient_id, i, "chest")
        im = _write_film(v, meta, image, frame.labels, name, PIXEL_MM, extra)
        visits.append(VisitTruth(index=i, study_date=plan.dates[i], change_from_previous=chest.changes[i],
                                 finding_mm2=round(chest.areas[i], 2), age_years=age_at(plan.birth_date, plan.dates[i]), images=[im]))
    truth = _truth(plan, visits, None)
    return truth.model_copy(update={"finding": finding, "finding_side": chest.side})


def _mg_meta(v: Visit, side: str, view: str, age: float) -> tuple[DicomMeta, dict[str, object]]:
    meta = _meta(v, "MG", f"{side} {view}", {"CC": 1, "MLO": 2}[view] + (0 if side == "R" else 2), "BREAST",
                 "MAMMOGRAPHY SCREENING BILATERAL", laterality=side, view=view)
    extra: dict[str, object] = {"PatientOrientation": MG_ORIENTATION[(side, view)], "PatientAge": f"{int(age):03d}Y",
                                "ImagerPixelSpacing": [MG_PIXEL_MM] * 2, "BreastImplantPresent": "NO",
                                "DistanceSourceToDetector": 660.0, "KVP": 29}
    return meta, extra


def build_mg(plan: PatientPlan, rng: np.random.Generator, seed: int, out: Path) -> PatientTruth:
    """Plan, verify and write a mammography patient (CC and MLO of each breast per yearly visit)."""
    subject = mammo_subject(rng)
    mammo = plan_mammo(rng, subject, plan.trajectory, len(plan.dates))
    if mammo is None:
        raise PlanError(f"no clear-cut {plan.trajectory} mammography plan for {plan.patient_id} (seed {seed})")
    visits = []
    for i, lesion in enumerate(mammo.lesions):
        v = _visit(plan, i, seed, out, rng)
        age = age_at(plan.birth_date, plan.dates[i])
        images = []
        for side in ("R", "L"):
            for view in ("CC", "MLO"):
                image, labels = mammo_image(subject, side, view, [(mammo.side, lesion)] if lesion else [], rng)
                meta, extra = _mg_meta(v, side, view, age)
                name = opaque_name(seed, plan.patient_id, i, "mg", side, view)
                images.append(_write_film(v, meta, image, labels, name, MG_PIXEL_MM, extra))
        visits.append(VisitTruth(index=i, study_date=plan.dates[i], change_from_previous=mammo.changes[i],
                                 finding_mm2=round(mammo.areas[i], 2), age_years=age, birads=mammo.birads[i], images=images))
    first = next((le for le in mammo.lesions if le is not None), None)
    return _truth(plan, visits, None).model_copy(update={
        "finding": first.kind if first else None, "finding_side": mammo.side if first else None,
        "morphology": first.morphology if first else None, "breast_density": subject.density})
