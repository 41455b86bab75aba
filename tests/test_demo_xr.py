"""Chest-radiograph and mammography demo patients: real source, simulated findings, headers, truth, questions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from mimir.demo.build import make_items, write_manifest, write_questions
from mimir.demo.chest import chest_sample, chest_visit
from mimir.demo.chest_anatomy import chest_source, chest_subject, scapula_shadows, visit_map
from mimir.demo.chest_findings import FINDINGS, LABELS, ChestFinding
from mimir.demo.mammo import mammo_image, mammo_sample, mammo_subject
from mimir.demo.mammo_lesions import Lesion
from mimir.demo.plan_xr import BIRADS
from mimir.demo.render import BuildOptions, build_patient
from mimir.demo.truth import PatientTruth
from mimir.demo.writers import DicomMeta  # noqa: F401  (the writers module must import cleanly)
from mimir.domain import parse_question
from mimir.memory.db import open_database
from mimir.settings import Settings

SEED = 21
#: Chest and mammography patients only: the cycle is chest, mammography, chest, mammography.
KINDS = BuildOptions(kinds=("cxr", "mg"))
INDICES = [0, 1, 2, 3, 6, 7]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PatientTruth]]:
    out = tmp_path_factory.mktemp("xr")
    truths = [build_patient(SEED, i, out, KINDS) for i in INDICES]
    write_manifest(out, truths)
    write_questions(out, make_items(truths, SEED))
    return out, truths


def test_the_source_is_the_real_chest_radiograph() -> None:
    src = chest_source()
    assert src.image.shape == (1024, 1024) and 0.0 <= src.image.min() and src.image.max() <= 1.0
    for side, mask in src.lungs.items():
        assert 0.08 < mask.mean() < 0.2, side  # each traced lung field covers about a tenth of the film
    right_cols = np.nonzero(src.lungs["R"].any(axis=0))[0]
    assert right_cols.max() < 512 < np.nonzero(src.lungs["L"].any(axis=0))[0].min()  # patient's right on the left
    lung = src.lungs["R"] | src.lungs["L"]
    assert src.image[lung].mean() < src.image[~lung].mean()  # aerated lung is darker than the rest


@pytest.mark.parametrize("kind", FINDINGS)
def test_each_chest_finding_adds_what_it_should(kind: str) -> None:
    subject = chest_subject(np.random.default_rng(3))
    side = "B" if kind == "oedema" else "R"
    small = chest_visit(subject, ChestFinding(kind, side, 0.35), "PA", np.random.default_rng(1))  # type: ignore[arg-type]
    large = chest_visit(subject, ChestFinding(kind, side, 0.8), "PA", np.random.default_rng(1))  # type: ignore[arg-type]
    clear = chest_visit(subject, None, "PA", np.random.default_rng(1))
    mask = large["labels"] > 0
    assert set(np.unique(large["labels"])) == {0, LABELS[kind]}
    assert (large["labels"] > 0).sum() > 1.3 * (small["labels"] > 0).sum()  # extent grows with the parameter
    change = large["image"][mask].mean() - clear["image"][mask].mean()
    assert change < -0.02 if kind == "pneumothorax" else change > 0.04  # air darker; fluid and opacity whiter


def test_ap_films_show_scapulae_and_a_larger_heart() -> None:
    subject = chest_subject(np.random.default_rng(4))
    shadows = scapula_shadows(subject, np.random.default_rng(0))
    lungs = subject.lungs["R"] | subject.lungs["L"]
    upper = np.zeros_like(lungs)
    upper[: lungs.shape[0] // 2] = True
    assert (shadows[lungs & upper] > 0.1).mean() > 0.08  # the scapulae cover the upper lateral lung fields
    assert (shadows[lungs & ~upper] > 0.1).mean() < 0.05
    hr, hc = subject.heart
    probe = (int(hr), int(hc + 0.8 * subject.heart_radius))
    pa, ap = (visit_map(np.random.default_rng(1), subject, view)[1][probe] - hc for view in ("PA", "AP"))
    assert ap < 0.93 * pa  # same positioning draws; on AP the heart's edge is drawn from nearer its centre


def test_samplers_return_what_experts_train_on() -> None:
    rng = np.random.default_rng(0)
    image, label, view = chest_sample(rng, size=128)
    assert image.shape == label.shape == (128, 128) and view in ("PA", "AP") and label.max() <= 4
    image, label, view, side = mammo_sample(rng, size=256)
    assert image.shape == label.shape == (256, 256) and view in ("CC", "MLO") and side in ("L", "R")


def test_mammograms_put_the_chest_wall_on_the_side_dicom_says() -> None:
    subject = mammo_subject(np.random.default_rng(5), density="A")  # fatty: the muscle stands out
    lesion = Lesion("mass", "suspicious", 14.0, 0.5, 1.0, 0.3, seed=9)
    for side in ("R", "L"):
        for view in ("CC", "MLO"):
            image, label = mammo_image(subject, side, view, [("R", lesion)], np.random.default_rng(0))
            breast = image > 0.05
            cols = np.nonzero(breast.any(axis=0))[0]
            assert (cols.min() == 0) == (side == "R") and (cols.max() == image.shape[1] - 1) == (side == "L")
            assert (label == 1).any() == (side == "R")  # the lesion shows in both views of its breast only
            if view == "MLO":  # the pectoral muscle: a bright wedge in the upper chest-wall corner
                corner = image[5:40, 2:30] if side == "R" else image[5:40, -30:-2]
                assert corner.mean() > np.median(image[breast]) + 0.05


def test_headers_are_those_of_cr_dx_and_mg(built: tuple[Path, list[PatientTruth]]) -> None:
    out, truths = built
    seen_views = set()
    for p in truths:
        for v in p.visits:
            for im in v.images:
                ds = pydicom.dcmread(out / im.dicom)
                assert ds.Modality == im.modality and ds.ViewPosition == im.view and ds.StudyDate == v.study_date.strftime("%Y%m%d")
                assert ds.pixel_array.shape == (512, 512) and ds.PresentationIntentType == "FOR PRESENTATION"
                seen_views.add(im.view)
                if p.kind == "mg":
                    assert ds.SOPClassUID.name.startswith("Digital Mammography X-Ray Image Storage")
                    assert ds.ImageLaterality == im.laterality and ds.BodyPartExamined == "BREAST"
                    assert ds.PatientAge == f"{int(v.age_years or 0):03d}Y" and ds.PatientSex == "F"
                else:
                    assert ds.Modality in ("CR", "DX") and ds.BodyPartExamined == "CHEST"
                    assert "ImageLaterality" not in ds or ds.ImageLaterality == "U"
                    assert float(ds.ImagerPixelSpacing[0]) > float(ds.PixelSpacing[0])  # magnified at the detector
        if p.kind == "mg":
            assert all(sorted((im.laterality, im.view) for im in v.images) == [("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO")]
                       for v in p.visits)
    assert {"CC", "MLO", "PA"} <= seen_views


def test_truth_areas_and_change_classes_agree(built: tuple[Path, list[PatientTruth]]) -> None:
    out, truths = built
    for p in truths:
        for a, b in zip(p.visits, p.visits[1:], strict=False):
            assert b.study_date > a.study_date
            if a.finding_mm2 == 0:
                assert b.change_from_previous in ("new", "stable") and (b.change_from_previous == "new") == (b.finding_mm2 > 0)
                continue
            ratio = b.finding_mm2 / a.finding_mm2
            expected = {"progressing": ratio >= 1.45, "improving": ratio <= 0.69, "stable": abs(ratio - 1) <= 0.06}
            assert expected[str(b.change_from_previous)], (p.patient_id, ratio, b.change_from_previous)
        for v in p.visits:
            for im in v.images:
                label = np.asarray(Image.open(out / str(im.label_png)))
                spacing = 390.0 / 256 if p.kind == "cxr" else 240.0 / 256
                assert (label > 0).sum() * spacing**2 == pytest.approx(im.finding_mm2, rel=0.12, abs=40)
            if p.kind == "mg":
                assert v.birads in BIRADS and (v.birads == 1) == (v.finding_mm2 == 0)


def test_questions_are_med_mim_items_with_simulated_gold(built: tuple[Path, list[PatientTruth]]) -> None:
    out, truths = built
    by_png = {im.png: im for p in truths for v in p.visits for im in v.images}
    counts: dict[str, int] = {}
    for ability in ("temporal", "comparison", "coreference", "reasoning"):
        items = json.loads((out / f"demo_{ability}_png.json").read_text())
        counts[ability] = len(items)
        for item in items:
            user, gold = item["conversation"]
            parsed = parse_question(user["content"])
            if "view" in parsed.stem and parsed.closed and "which" in parsed.stem.lower():
                letter = gold["content"].split(":")[0]
                chosen = by_png[item["images"]["ABC".index(letter)]]
                for view in ("CC", "MLO"):
                    if f"{view} view" in parsed.stem and "breast" not in parsed.stem:
                        assert chosen.view == view and sum(by_png[i].view == view for i in item["images"]) == 1
    assert all(counts[a] > 0 for a in counts), counts


def test_timeline_keeps_views_and_sides(built: tuple[Path, list[PatientTruth]], settings: Settings) -> None:
    from sqlalchemy import select

    from mimir.memory.ingest import ingest_paths
    from mimir.memory.models import Series

    out, truths = built
    db = open_database(settings)
    try:
        report = ingest_paths(db, [out / "dicom", out / "png"], settings, manifest=out / "manifest.csv")
        assert report.counts.get("failed", 0) == 0, report.counts
        with db.session() as session:
            rows = {(s.modality, s.view, s.laterality) for s in session.scalars(select(Series))}
    finally:
        db.dispose()
    mg = {(v, lat) for m, v, lat in rows if m == "MG"}
    assert mg == {("CC", "L"), ("CC", "R"), ("MLO", "L"), ("MLO", "R")}
    chest = {(m, v, lat) for m, v, lat in rows if m in ("CR", "DX")}
    assert chest and all(v in ("PA", "AP") and lat is None for _, v, lat in chest)


@pytest.mark.parametrize(("phrase", "target"), [
    ("Is there a mass on the right MLO?", ("R", "MLO")),
    ("Describe the CC view of the left breast.", ("L", "CC")),
    ("Are there calcifications on the LMLO?", ("L", "MLO")),
])
def test_views_and_sides_bind_mentions(built: tuple[Path, list[PatientTruth]], phrase: str, target: tuple[str, str]) -> None:
    from mimir.agent.headers import fill_from_headers
    from mimir.domain import Case, CaseImage
    from mimir.memory.resolver import resolve

    out, truths = built
    visit = next(p for p in truths if p.kind == "mg").visits[0]
    case = fill_from_headers(Case(question=phrase, images=[CaseImage(path=str(out / im.dicom)) for im in visit.images]))
    resolution = resolve(case)
    bound = [b for b in resolution.bindings if b.image_indices]
    assert len(bound) == 1 and len(bound[0].image_indices) == 1, resolution
    image = visit.images[bound[0].image_indices[0]]
    assert (image.laterality, image.view) == target


def test_default_build_makes_every_kind_and_keeps_the_first_five_patients() -> None:
    from mimir.demo.patient_plan import choose_kind

    default = [choose_kind(7, i) for i in range(9)]
    assert {k for k, _ in default} == {"mri", "ct", "fundus", "cxr", "mg"}
    assert default[:5] == [choose_kind(7, i, ("mri", "ct", "fundus")) for i in range(5)]
