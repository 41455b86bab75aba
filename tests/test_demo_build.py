"""A small demo set built end to end: files, ground truth, Med-MIM question files, timeline ingestion."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from mimir.demo.build import build_demo
from mimir.demo.dicom_series import write_series
from mimir.demo.render import BuildOptions
from mimir.demo.truth import GroundTruth
from mimir.demo.writers import DicomMeta
from mimir.domain import parse_question
from mimir.memory.db import open_database
from mimir.memory.ingest.demo import load_demo

SEED = 5
N_PATIENTS = 4  # two MRI patients, one head CT, one fundus pair


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "set"
    build_demo(out, patients=N_PATIENTS, seed=SEED, workers=2)
    return out


@pytest.fixture(scope="module")
def truth(demo) -> GroundTruth:
    return GroundTruth.model_validate_json((demo / "ground_truth.json").read_text())


def _hashes(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.relative_to(root).as_posix().startswith(skip)}


def _without_series(gt_text: str) -> dict:
    data = json.loads(gt_text)
    for p in data["patients"]:
        for v in p["visits"]:
            for im in v["images"]:
                im["series_dir"] = None
    return data


def test_same_seed_gives_identical_files(demo, tmp_path):
    again = tmp_path / "again"
    build_demo(again, patients=N_PATIENTS, seed=SEED, workers=1, opts=BuildOptions(series=False))
    first, second = _hashes(demo, skip=("series/",)), _hashes(again)
    gt, suite = "ground_truth.json", "suite.json"
    assert _without_series((demo / gt).read_text()) == _without_series((again / gt).read_text())
    series_files = {f for f in first if f.endswith("_series.json")}  # the series variant needs the series
    assert series_files and not any(f.endswith("_series.json") for f in second)
    listed = json.loads((demo / suite).read_text())
    listed["files"] = [f for f in listed["files"] if f["variant"] != "series"]
    assert listed == json.loads((again / suite).read_text())
    for name in (gt, suite, *series_files):
        first.pop(name)
    second.pop(gt), second.pop(suite)
    assert first == second  # one process or two: the same bytes
    other = tmp_path / "other"
    build_demo(other, patients=1, seed=SEED + 1, workers=1, opts=BuildOptions(series=False, nifti=False))
    assert not set(_hashes(other, skip=("demo_", "suite", "manifest", "ground"))) & set(first)


def test_series_writer_is_deterministic_and_valid(tmp_path):
    from datetime import date

    vol = np.random.default_rng(0).random((20, 24, 10)).astype(np.float32)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    meta = DicomMeta("P", "A^B", date(1970, 1, 2), "F", "1.2.3", "1.2.3.4", date(2020, 3, 4), "101010", "MR",
                     "AX T1", 1, "BRAIN", "MRI BRAIN", "A1")
    write_series(tmp_path / "a", vol, affine, meta, 4095.0)
    write_series(tmp_path / "b", vol, affine, meta, 4095.0)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    files = sorted((tmp_path / "a").iterdir())
    assert len(files) == 5
    ds = pydicom.dcmread(files[0])
    ds.save_as(tmp_path / "ref.dcm", enforce_file_format=True)
    assert (tmp_path / "ref.dcm").read_bytes() == files[0].read_bytes()  # what pydicom itself writes
    k = int(round(float(ds.SliceLocation) / 2))
    assert np.array_equal(ds.pixel_array, np.round(vol[::-1, ::-1, k].T * 4095).astype(np.uint16))


def test_ground_truth_change_classes(truth):
    assert [p.kind for p in truth.patients] == ["mri", "mri", "ct", "fundus"]
    for p in truth.patients:
        for a, b in zip(p.visits[:-1], p.visits[1:], strict=True):
            assert b.study_date > a.study_date
            ratio = b.whole_ml / a.whole_ml
            change = b.change_from_previous
            if change == "progressing":
                assert ratio >= 1.4 and b.slice_lesion_mm2 >= 1.2 * a.slice_lesion_mm2
            elif change == "stable":
                assert abs(ratio - 1) <= 0.05
            elif change == "improving":
                assert ratio <= 0.7 and b.slice_lesion_mm2 < a.slice_lesion_mm2
            elif change == "gross-total resection":
                assert b.enhancing_ml == 0 < a.enhancing_ml and b.cavity_ml > 0
            else:
                assert change == "partial resection" and 0 < b.enhancing_ml < a.enhancing_ml
        if p.kind == "mri":
            assert all(v.whole_ml >= v.enhancing_ml + v.necrotic_ml for v in p.visits)
            assert {im.sequence for im in p.visits[0].images} == {"T1", "T1C", "T2", "FLAIR"}
    fundus = truth.patients[3]
    assert {im.laterality: im.diagnosis for im in fundus.visits[0].images} == fundus.eye_diagnoses


def test_label_files_match_ground_truth_volumes(demo, truth):
    p = truth.patients[0]
    for v in p.visits:
        t1c = next(im for im in v.images if im.sequence == "T1C")
        labels = np.asarray(nib.load(demo / t1c.label_nifti).dataobj)
        assert (labels > 0).sum() * 0.008 == pytest.approx(v.whole_ml, abs=1e-6)
        assert (labels == 2).sum() * 0.008 == pytest.approx(v.enhancing_ml, abs=1e-6)


def _items(demo: Path) -> dict[str, list[dict]]:
    suite = json.loads((demo / "suite.json").read_text())
    return {f["file"]: json.loads((demo / f["file"]).read_text()) for f in suite["files"]}


def test_question_files_follow_med_mim_format(demo):
    files = _items(demo)
    assert {(f.split("_")[1], f.split("_")[2][:-5]) for f in files} == {
        (a, v) for a in ("temporal", "comparison", "coreference", "reasoning") for v in ("png", "dicom")} | {
        (a, v) for a in ("temporal", "comparison") for v in ("nifti", "series")}
    letters_seen = set()
    for name, items in files.items():
        assert items, name
        for item in items:
            assert list(item) == ["id", "images", "conversation", "source"]
            user, gold = item["conversation"]
            assert (user["role"], gold["role"]) == ("user", "assistant")
            n = len(item["images"])
            assert 1 <= n <= 3
            assert user["content"].startswith("<image>" * n) and not user["content"][7 * n:].startswith("<image>")
            assert user["content"].count("<image>") == n
            parsed = parse_question(user["content"])
            if parsed.closed:
                assert user["content"].endswith("\n")
                letter, _, text = gold["content"].partition(": ")
                assert parsed.options[letter] == text
                letters_seen.add(letter)
            for path in item["images"]:
                assert (demo / path).is_dir() if name.endswith("_series.json") else (demo / path).is_file()
                assert path.endswith(".png") == name.endswith("_png.json")
                assert path.endswith(".nii.gz") == name.endswith("_nifti.json")
    assert {"A", "B"} <= letters_seen  # correct options are not always first


def test_png_items_never_need_dates(demo):
    for name, items in _items(demo).items():
        text = " ".join(i["conversation"][0]["content"] for i in items)
        if name.endswith("_png.json"):
            assert "most recent" not in text and "study dates" not in text and "random order" not in text


def test_paths_leak_nothing(demo, truth):
    dates = {v.study_date.strftime(f) for p in truth.patients for v in p.visits for f in ("%Y%m%d", "%Y-%m-%d")}
    ids = {p.patient_id for p in truth.patients}
    names = [p.relative_to(demo).as_posix() for p in demo.rglob("*") if p.is_file()]
    image_names = [n for n in names if n.split("/")[0] in ("png", "dicom", "series", "nifti", "labels")]
    assert len(image_names) > 100
    for n in image_names:
        # only hex digits besides the folder and extension: no sequence, side, week or answer words
        assert re.fullmatch(r"(png|dicom|nifti|labels|series/[0-9a-f]{20})/[0-9a-f]{20}(\.png|\.dcm|\.nii\.gz|\.nii\.gz\.json)", n), n
        assert not any(d in n for d in dates) and not any(i in n for i in ids), n


def test_dicom_key_images_carry_the_timeline_facts(demo, truth):
    for p in truth.patients:
        for v in p.visits:
            for im in v.images:
                ds = pydicom.dcmread(demo / im.dicom)
                assert ds.PatientID == p.patient_id and str(ds.PatientName) == p.patient_name
                assert ds.StudyDate == v.study_date.strftime("%Y%m%d")
                assert ds.StudyInstanceUID == im.study_uid and ds.SeriesInstanceUID == im.series_uid
                assert ds.Modality == im.modality and ds.SeriesDescription == im.description
                png = np.asarray(Image.open(demo / im.png))
                assert ds.pixel_array.shape[:2] == png.shape[:2] == (256, 256)
                if im.modality == "OP":
                    assert ds.ImageLaterality == im.laterality and ds.BodyPartExamined == "EYE"
                    assert np.array_equal(ds.pixel_array, png)
                elif im.modality == "CT":
                    assert (ds.RescaleSlope, ds.RescaleIntercept) == (1, -1024)
                    hu = ds.pixel_array.astype(float) - 1024
                    assert hu.min() <= -990 and 60 <= np.percentile(hu, 99.99)
                else:
                    assert ds.BodyPartExamined == "BRAIN" and ds.PixelSpacing == [1.0, 1.0]
                    assert np.abs(ds.pixel_array / 4095 * 255 - png).max() <= 1.0


def test_nifti_and_series_agree(demo, truth):
    p = truth.patients[2]  # head CT
    im = p.visits[0].images[0]
    img = nib.load(demo / im.nifti)
    assert img.header.get_zooms()[:3] == (2.0, 2.0, 2.0) and nib.aff2axcodes(img.affine) == ("R", "A", "S")
    hu = np.asarray(img.dataobj)
    series = sorted((demo / im.series_dir).iterdir(), key=lambda f: int(pydicom.dcmread(f, stop_before_pixels=True).InstanceNumber))
    ds = pydicom.dcmread(series[3])
    k = 1 + 2 * 3
    assert float(ds.ImagePositionPatient[2]) == pytest.approx(img.affine[2, 3] + 2.0 * k)
    assert np.array_equal(ds.pixel_array.astype(np.float32) - 1024, hu[::-1, ::-1, k].T)
    assert json.loads((demo / (im.nifti + ".json")).read_text())["patient"] == p.patient_id


def test_manifest_rows_describe_every_png(demo):
    rows = json.loads((demo / "manifest.json").read_text())
    pngs = {p.relative_to(demo).as_posix() for p in (demo / "png").iterdir()}
    assert {r["path"] for r in rows} == pngs
    assert (demo / "manifest.csv").read_text().splitlines()[0].startswith("patient,date,modality,description,laterality,view,body_part,path")


def test_load_into_timeline(demo, settings):
    db = open_database(settings)
    try:
        report = load_demo(db, demo, settings)
        again = load_demo(db, demo, settings)
    finally:
        db.dispose()
    assert report.counts["failed"] == 0 and report.counts["ingested"] > 100
    assert again.counts["ingested"] == 0


def test_monai_reads_series_key_image_and_nifti(demo, truth):
    from monai.transforms import LoadImage

    im = next(i for i in truth.patients[0].visits[0].images if i.sequence == "T1C")
    series = LoadImage(reader="PydicomReader", image_only=True)(str(demo / im.series_dir))
    assert tuple(series.shape) == (99, 117, len(range(1, 95, 2)))  # every other 2 mm slice
    assert float(series.affine[2, 2]) == pytest.approx(4.0)
    key = LoadImage(reader="PydicomReader", image_only=True)(str(demo / im.dicom))
    assert tuple(key.shape) == (256, 256)
    volume = LoadImage(image_only=True)(str(demo / im.nifti))
    assert tuple(volume.shape) == (99, 117, 95) and 0.5 < float(volume.max()) <= 1.0


def test_volume_variants_ask_the_dicom_questions_on_the_same_visits(demo, truth):
    files = _items(demo)
    by_path = {}
    for p in truth.patients:
        for v in p.visits:
            for im in v.images:
                by_path.update({im.dicom: im, im.nifti: im, im.series_dir: im})
    for ability in ("temporal", "comparison"):
        dicom = {it["id"]: it for it in files[f"demo_{ability}_dicom.json"]}
        for variant in ("nifti", "series"):
            items = files[f"demo_{ability}_{variant}.json"]
            assert {it["id"] for it in items} == set(dicom)  # every MRI and CT item, none left out
            for it in items:
                twin = dicom[it["id"]]
                assert it["conversation"] == twin["conversation"]
                assert [by_path[p] for p in it["images"]] == [by_path[p] for p in twin["images"]]
