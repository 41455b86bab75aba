"""Answers as DICOM SEG and TID 1500 SR, on real DICOM files that pydicom ships (no PACS needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from mimir.domain import Answer, Case, CaseImage, Evidence, ToolStep
from mimir.memory.db import Database, open_database
from mimir.memory.ingest import ingest_paths
from mimir.memory.models import Image, ToolRun
from mimir.results.export import MixedPatients, export_answer
from mimir.results.seg import INDEX, build_seg, tracking_uid
from mimir.results.sources import Refused, seg_run, source_series
from mimir.settings import Settings
from mimir.tools.analysis.geometry import index_lesion, measure_mask
from mimir.tools.analysis.imaging import load_array

LABELS = {1: "non-enhancing lesion", 2: "enhancing tumour"}


def _visit(folder: Path, patient: str, day: str, n: int, name: str = "MR_small.dcm") -> Path:
    """A real pydicom test image as one visit of ``patient`` (new study, series and instance UIDs)."""
    ds = pydicom.dcmread(get_testdata_file(name))
    ds.PatientID, ds.StudyDate, ds.BodyPartExamined = patient, day, "BRAIN"
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[patient, day, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[patient, day, "series", name])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[patient, day, "sop", name])
    path = folder / f"{patient}_{n}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _lesion(shape: tuple[int, ...], centre: tuple[int, int], radius: int) -> np.ndarray:
    """Enhancing rim (2) around a non-enhancing core (1), off-centre so a transposition would show."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d = np.hypot(yy - centre[0], xx - centre[1])
    mask = np.zeros(shape[:2], dtype=np.uint8)
    mask[d <= radius] = 2
    mask[d <= radius * 0.5] = 1
    return mask


def _segment_run(db: Database, image_path: Path, mask: np.ndarray, out: Path, patient: str | None = None) -> int:
    """A recorded ``segment`` run with a NIfTI mask on the grid MONAI reads the image into, as a bundle writes it."""
    _, meta = load_array(image_path)
    nib.save(nib.Nifti1Image(mask, np.asarray(meta["affine"], dtype=float)), str(out))
    measured = measure_mask(mask, (0.3125, 0.3125), LABELS)
    from mimir.memory.hashing import file_hash

    output = {"expert": "test_lesion_expert", "image_index": 0, "mask_path": str(out),
              "labels_present": [m.label for m in measured], "measurements": [m.model_dump() for m in measured],
              "index_lesion": (lesion.model_dump() if (lesion := index_lesion(mask, (0.3125, 0.3125), LABELS)) else None)}
    with db.session() as s:
        run = ToolRun(tool="segment", version="2", cache_key=f"k-{out.name}", input_hashes=[file_hash(image_path)],
                      arguments={"image_index": 0}, output=output, artifacts=[str(out)], status="ok")
        s.add(run)
        s.flush()
        return run.id


@pytest.fixture
def visits(settings: Settings, tmp_path: Path) -> tuple[Database, Case, Answer, dict[str, np.ndarray]]:
    """Two MR visits of one patient in the timeline, each segmented, and the answer that compared them."""
    db = open_database(settings)
    folder = tmp_path / "dicom"
    folder.mkdir()
    paths = [_visit(folder, "P-SEG", "20240110", 1), _visit(folder, "P-SEG", "20240702", 2)]
    report = ingest_paths(db, paths, settings)
    ids = [i.image_id for i in report.items]
    masks = {"first": _lesion((64, 64), (20, 40), 6), "second": _lesion((64, 64), (22, 38), 9)}
    runs = [_segment_run(db, p, m, tmp_path / f"mask_{k}.nii.gz") for p, (k, m) in zip(paths, masks.items(), strict=True)]
    case = Case(question="Has the enhancing tumour grown since the prior?\nA: yes\nB: no", patient_id="P-SEG",
                images=[CaseImage(path=str(p), image_id=i) for p, i in zip(paths, ids, strict=True)])
    answer = Answer(text="A: yes", letter="A", ability="temporal", closed=True,
                    evidence=[Evidence(statement="From image 1 to image 2: increase (+125%)", values={"percent_change": 125.0})],
                    steps=[ToolStep(tool="segment", tool_run_id=runs[0], image_indices=[0]),
                           ToolStep(tool="segment", tool_run_id=runs[1], image_indices=[1], status="cached"),
                           ToolStep(tool="compare", image_indices=[0, 1])])
    return db, case, answer, masks


def _dciodvfy_errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stderr + out.stdout).splitlines() if line.startswith("Error")]


def test_seg_and_sr_of_an_answer(visits, tmp_path: Path) -> None:
    db, case, answer, masks = visits
    report, datasets = export_answer(db, case, answer, tmp_path / "out")
    assert report.patient_id == "P-SEG" and report.refused == []
    assert [o.kind for o in report.objects] == ["SEG", "SEG", "SR", "TEXT"]
    segs = [hd.seg.segread(o.path) for o in report.objects if o.kind == "SEG"]
    for seg, ds_src, mask in zip(segs, [case.images[0], case.images[1]], masks.values(), strict=True):
        source = pydicom.dcmread(ds_src.path)
        assert seg.StudyInstanceUID == source.StudyInstanceUID and seg.PatientID == "P-SEG"
        assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
        numbers = {seg.get_segment_description(n).segment_label: n for n in seg.get_segment_numbers()}
        assert set(numbers) == {*LABELS.values(), INDEX}
        pixels = seg.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=[numbers["enhancing tumour"]])
        # MONAI reads DICOM columns first: the mask's transpose is the image's row-major grid
        assert np.array_equal(pixels[0, ..., 0].astype(bool), (mask == 2).T)
        lesion = seg.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=[numbers[INDEX]])
        assert np.array_equal(lesion[0, ..., 0].astype(bool), (mask > 0).T)
        assert seg.get_segment_description(numbers[INDEX]).tracking_uid == tracking_uid("P-SEG", INDEX)

    sr = hd.sr.srread(next(o.path for o in report.objects if o.kind == "SR"))
    assert sr.StudyInstanceUID == pydicom.dcmread(case.images[1].path).StudyInstanceUID  # the newest visit's study
    groups = sr.content.get_volumetric_roi_measurement_groups(tracking_uid=tracking_uid("P-SEG", INDEX))
    assert len(groups) == 2  # the index lesion, followed across both visits under one tracking UID
    sizes = sorted(g.get_measurements(name=hd.sr.CodedConcept("42798000", "SCT", "Area"))[0].value for g in groups)
    assert sizes == pytest.approx(sorted(float((m > 0).sum()) * 0.3125**2 for m in masks.values()), rel=1e-3)
    for g in groups:
        m = g.get_measurements()[0]
        assert m.unit.value == "mm2"
        said = {i.ConceptNameCodeSequence[0].CodeMeaning: i.TextValue for i in m[0].ContentSequence}
        assert said["Algorithm Name"] == "mimir segment / test_lesion_expert" and said["Algorithm Version"] == "2"
        assert g.finding_sites[0].value.meaning == "Brain" and g.finding_type.meaning == "Lesion"
    text = {item.ConceptNameCodeSequence[0].CodeMeaning: item.TextValue
            for box in sr.ContentSequence if box.ValueType == "CONTAINER" for item in box.get("ContentSequence", [])
            if item.ValueType == "TEXT"}
    assert text["Request"] == case.question and text["Impression"] == "A: yes"
    assert "increase (+125%)" in text["Finding"]
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "Has the enhancing tumour grown" in summary and "SEG " in summary
    again, _ = export_answer(db, case, answer, tmp_path / "again")
    assert [o.sop_instance_uid for o in again.objects] == [o.sop_instance_uid for o in report.objects]
    if shutil.which("dciodvfy"):
        for o in report.objects[:3]:
            assert _dciodvfy_errors(Path(o.path)) == [], o.kind
    assert len(datasets) == 3


def test_what_cannot_be_dicom_is_refused_with_the_reason(visits, settings: Settings, tmp_path: Path) -> None:
    db, case, answer, masks = visits
    with db.session() as s:
        first = s.get(Image, case.images[0].image_id)
        moved = Path(first.storage_path).rename(tmp_path / "moved.dcm")
    png = tmp_path / "slice.png"
    from PIL import Image as PILImage

    PILImage.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(png)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"patient,date,modality,description,laterality,view,body_part,path\nP-SEG,2024-09-01,MR,AX T1,,,BRAIN,{png.name}\n")
    png_id = ingest_paths(db, [png], settings, manifest=manifest).items[0].image_id
    run_png = _segment_run(db, moved, masks["first"], tmp_path / "png_mask.nii.gz")
    run_empty = _segment_run(db, Path(case.images[1].path), np.zeros((64, 64), dtype=np.uint8), tmp_path / "empty.nii.gz")
    case = case.model_copy(update={"images": [*case.images, CaseImage(path=str(png), image_id=png_id)]})
    answer = answer.model_copy(update={"steps": [*answer.steps, ToolStep(tool="segment", tool_run_id=run_png, image_indices=[2]),
                                                 ToolStep(tool="segment", tool_run_id=run_empty, image_indices=[1])]})
    report, _ = export_answer(db, case, answer, tmp_path / "out")
    reasons = {r.tool_run_id: r.reason for r in report.refused}
    assert "its file" in reasons[answer.steps[0].tool_run_id] and "is missing" in reasons[answer.steps[0].tool_run_id]
    assert "is a png file" in reasons[run_png]
    assert "is empty" in reasons[run_empty]
    assert [o.kind for o in report.objects] == ["SEG", "SR", "TEXT"]  # the second visit is still written

    with db.session() as s:
        with pytest.raises(Refused, match="not in the timeline"):
            source_series(s, str(tmp_path / "unknown.dcm"), None, "0" * 64)
        with pytest.raises(Refused, match="it is not a segmentation"):
            s.add(ToolRun(tool="compare", version="1", cache_key="c1", output={"percent_change": 3.0}))
            s.flush()
            seg_run(s, s.query(ToolRun).filter_by(cache_key="c1").one().id)


def test_one_patient_per_export(visits, settings: Settings, tmp_path: Path) -> None:
    db, case, answer, _ = visits
    other = _visit(tmp_path, "P-OTHER", "20240801", 3)
    other_id = ingest_paths(db, [other], settings).items[0].image_id
    mixed = case.model_copy(update={"images": [*case.images, CaseImage(path=str(other), image_id=other_id)]})
    with pytest.raises(MixedPatients, match="P-OTHER, P-SEG"):
        export_answer(db, mixed, answer, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    wrong = case.model_copy(update={"patient_id": "P-OTHER"})
    with pytest.raises(MixedPatients):
        export_answer(db, wrong, answer, tmp_path / "out")


def test_series_mask_lands_on_each_slice(settings: Settings, tmp_path: Path) -> None:
    """A 3D mask on a real CT series (slices stored out of order) becomes a multi-frame SEG, slice by slice."""
    db = open_database(settings)
    folder = tmp_path / "series"
    folder.mkdir()
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    series_uid = generate_uid(entropy_srcs=["series-3d"])
    for k in range(5):
        ds = base.copy()
        ds.PatientID, ds.SeriesInstanceUID, ds.InstanceNumber = "P-3D", series_uid, 5 - k  # numbers run against position
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["sop-3d", str(k)])
        ds.ImagePositionPatient = [base.ImagePositionPatient[0], base.ImagePositionPatient[1], -75.0 + 5.0 * k]
        ds.SliceLocation = -75.0 + 5.0 * k
        arr = base.pixel_array.copy()
        arr[40 + 3 * k : 60 + 3 * k, 70:90] = 3000  # a block (1976 HU) that moves down from slice to slice
        ds.PixelData = arr.tobytes()
        ds.save_as(folder / f"{k}.dcm", enforce_file_format=True)
    ingest_paths(db, [folder], settings)
    volume, meta = load_array(folder)
    mask = (volume > 1900).astype(np.uint8)  # MONAI applies the rescale: Hounsfield units
    nib.save(nib.Nifti1Image(mask, np.asarray(meta["affine"], dtype=float)), str(tmp_path / "m.nii.gz"))
    measured = measure_mask(mask, (0.66, 0.66, 5.0), {1: "haemorrhage"})
    with db.session() as s:
        s.add(ToolRun(tool="segment", version="2", cache_key="k3d", arguments={}, artifacts=[],
                      output={"mask_path": str(tmp_path / "m.nii.gz"), "measurements": [m.model_dump() for m in measured]}))
        s.flush()
        run = seg_run(s, s.query(ToolRun).filter_by(cache_key="k3d").one().id)
        source = source_series(s, str(folder), None, None)
    seg = build_seg(run, source, "P-3D").dataset
    assert seg.NumberOfFrames == 5
    back = hd.seg.Segmentation.from_dataset(seg)
    for ds in source.datasets:
        px = back.get_pixels_by_source_instance([ds.SOPInstanceUID], segment_numbers=[1])[0, ..., 0]
        assert np.array_equal(px.astype(bool), ds.pixel_array - 1024 > 1900), ds.InstanceNumber
    shifted = tmp_path / "shifted.nii.gz"
    affine = np.asarray(meta["affine"], dtype=float).copy()
    affine[2, 3] += 500.0  # the mask now lies half a metre away from its images
    nib.save(nib.Nifti1Image(mask, affine), str(shifted))
    with pytest.raises(Refused, match="does not line up"):
        build_seg(run.model_copy(update={"mask_path": shifted}), source, "P-3D")
