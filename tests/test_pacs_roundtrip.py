"""A demo patient through a real PACS and back: DICOMweb ingest, a question, SEG and SR stored on Orthanc and read back."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import highdicom as hd
import nibabel as nib
import numpy as np
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from mimir.domain import Case, CaseImage
from mimir.memory import cli as memory_cli
from mimir.memory.db import open_database
from mimir.memory.models import Image, Patient, Series, Study, ToolRun
from mimir.results import cli as results_cli
from mimir.results.seg import INDEX, tracking_uid
from mimir.settings import Settings

if TYPE_CHECKING:
    from fixtures.pacs_orthanc import PacsDemo, PacsServer

pytest_plugins = ["fixtures.pacs_orthanc"]  # a real Orthanc with demo patients stored on it
QUESTION = "Has the enhancing tumour grown since the prior?\nA: yes\nB: no"


@pytest.fixture
def app(orthanc: PacsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """``mimir ingest`` and ``mimir export`` on a fresh data dir, with the test PACS configured."""
    for key, value in {"MIMIR_DATA_DIR": str(tmp_path / "data"), **orthanc.env}.items():
        monkeypatch.setenv(key, value)
    app = typer.Typer()
    memory_cli.register(app)
    results_cli.register(app)
    return app


def _key_slices(settings: Settings, patient: str, sequence: str) -> list[tuple[int, str]]:
    """(image id, path) of the patient's single-image series of ``sequence``, oldest visit first."""
    with open_database(settings).session() as s:
        rows = s.execute(select(Image.id, Image.storage_path, Series.id).join(Series).join(Study).join(Patient)
                         .where(Patient.patient_key == patient, Series.sequence == sequence)
                         .order_by(Study.study_date)).all()
    counts: dict[int, int] = {}
    for _, _, series in rows:
        counts[series] = counts.get(series, 0) + 1
    return [(i, p) for i, p, series in rows if counts[series] == 1]


def _grown(demo: PacsDemo, patient: str) -> bool:
    gt = json.loads((demo.folder / "ground_truth.json").read_text())
    visits = next(p for p in gt["patients"] if p["patient_id"] == patient)["visits"]
    return visits[1]["slice_enhancing_mm2"] > visits[0]["slice_enhancing_mm2"]


def _read_back(orthanc: PacsServer, study: str, sop: str, out: Path):  # a pydicom Dataset
    client = orthanc.client()
    found = client.search_for_instances(study_instance_uid=study, search_filters={"SOPInstanceUID": sop},
                                        fields=["SeriesInstanceUID"])
    assert len(found) == 1, f"{sop} is not on the PACS"
    series = found[0]["0020000E"]["Value"][0]
    ds = client.retrieve_instance(study, series, sop)
    ds.save_as(out, enforce_file_format=True)
    return ds


@pytest.mark.slow
def test_demo_patient_through_the_pacs_and_back(app: typer.Typer, orthanc: PacsServer, pacs_demo: PacsDemo,
                                                tmp_path: Path) -> None:
    from mimir.agent.entry import Agent

    patient = pacs_demo.patients[0]
    runner = CliRunner()
    pulled = runner.invoke(app, ["ingest", "--dicomweb", orthanc.url, "--patient", patient, "--json"])
    assert pulled.exit_code == 0, pulled.output
    assert json.loads(pulled.stdout)["counts"] == {"ingested": pacs_demo.instances[patient], "skipped": 0, "failed": 0}

    settings = Settings()
    (first, first_path), (second, second_path) = _key_slices(settings, patient, "T1C")[:2]
    case = Case(question=QUESTION, patient_id=patient, images=[CaseImage(path=first_path, image_id=first),
                                                                 CaseImage(path=second_path, image_id=second)])
    answer = Agent(settings).answer(case, thread_id="pacs-round-trip")
    assert answer.status == "ok" and answer.letter == ("A" if _grown(pacs_demo, patient) else "B")
    runs = [s.tool_run_id for s in answer.steps if s.tool == "segment"]
    assert len(runs) == 2 and None not in runs

    exported = runner.invoke(app, ["export", "pacs-round-trip", "--dicom", "--stow", "--json"])
    assert exported.exit_code == 0, exported.output
    report = json.loads(exported.stdout)
    objects = [o for o in report["objects"] if o["kind"] != "TEXT"]
    assert [o["kind"] for o in objects] == ["SEG", "SEG", "SR"] and report["refused"] == []
    assert sorted(report["stored"]) == sorted(o["sop_instance_uid"] for o in objects)

    with open_database(settings).session() as s:
        masks = {r: s.get(ToolRun, r).output for r in runs}
    lesions = []
    for o in objects[:2]:
        seg = hd.seg.Segmentation.from_dataset(_read_back(orthanc, o["study_uid"], o["sop_instance_uid"], tmp_path / "seg.dcm"))
        output = masks[o["tool_run_id"]]
        mask = np.asarray(nib.load(output["mask_path"]).dataobj)
        source = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
        numbers = {seg.get_segment_description(n).segment_label: n for n in seg.get_segment_numbers()}
        assert INDEX in numbers and seg.get_segment_description(numbers[INDEX]).tracking_uid == tracking_uid(patient, INDEX)
        whole = seg.get_pixels_by_source_instance([source], segment_numbers=[numbers[INDEX]])[0, ..., 0]
        assert whole.sum() == round(output["index_lesion"]["size"])  # 1 mm pixels: area in mm2 = pixel count
        for m in output["measurements"]:
            px = seg.get_pixels_by_source_instance([source], segment_numbers=[numbers[m["label"]]])[0, ..., 0]
            assert np.array_equal(px.astype(bool), (mask == m["value"]).T)  # the expert's own mask, pixel for pixel
        lesions.append(output["index_lesion"]["size"])
        if shutil.which("dciodvfy"):
            check = subprocess.run(["dciodvfy", str(tmp_path / "seg.dcm")], capture_output=True, text=True, timeout=60)
            assert [x for x in check.stderr.splitlines() if x.startswith("Error")] == []

    sr = hd.sr.Comprehensive3DSR.from_dataset(_read_back(orthanc, objects[2]["study_uid"], objects[2]["sop_instance_uid"],
                                                         tmp_path / "sr.dcm"))
    assert sr.PatientID == patient
    groups = sr.content.get_volumetric_roi_measurement_groups(tracking_uid=tracking_uid(patient, INDEX))
    areas = [g.get_measurements(name=hd.sr.CodedConcept("42798000", "SCT", "Area"))[0].value for g in groups]
    assert sorted(areas) == pytest.approx(sorted(lesions))
    text = [i.TextValue for box in sr.ContentSequence if box.ValueType == "CONTAINER"
            for i in box.get("ContentSequence", []) if i.ValueType == "TEXT"]
    assert text[0] == QUESTION and text[1].startswith(f"{answer.letter}:")
    if shutil.which("dciodvfy"):
        check = subprocess.run(["dciodvfy", str(tmp_path / "sr.dcm")], capture_output=True, text=True, timeout=60)
        assert [x for x in check.stderr.splitlines() if x.startswith("Error")] == []

    _review_screen(settings, patient, [first, second], {o["sop_instance_uid"] for o in objects[:2]})

    again = runner.invoke(app, ["ingest", "--dicomweb", orthanc.url, "--patient", patient, "--json"])
    counts = json.loads(again.stdout)["counts"]
    assert again.exit_code == 0 and counts["ingested"] == 0 and counts["failed"] == 0  # results are not images
    reasons = {i["reason"] for i in json.loads(again.stdout)["items"]}
    assert {"not an image series: SEG", "not an image series: SR"} <= reasons


def _review_screen(settings: Settings, patient: str, image_ids: list[int], seg_uids: set[str]) -> None:
    """The API and the review screen's actions: pull (nothing new), ask, export as DICOM."""
    from fastapi.testclient import TestClient

    from mimir.app import pacs
    from mimir.app.server import create_app

    client = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    pulled = client.post(f"/api/patients/{patient}/pacs-pull")
    assert pulled.status_code == 200 and pulled.json()["counts"]["ingested"] == 0
    assert "already here" in pacs.on_pull(client.app.state.service, patient)
    stream = client.post("/api/ask", json={"question": QUESTION, "image_ids": image_ids, "patient_id": patient}).text
    thread = json.loads(stream.split("event: thread\ndata: ", 1)[1].split("\n", 1)[0])["thread_id"]
    exported = client.post(f"/api/threads/{thread}/dicom")
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert {o["sop_instance_uid"] for o in body["objects"] if o["kind"] == "SEG"} == seg_uids  # same results, same UIDs
    assert all("path" not in o and "/" not in o["file"] for o in body["objects"])  # no server paths in answers
    zpath, message = pacs.on_export_dicom(client.app.state.service, thread, False)
    assert zpath is not None and message.startswith("2 SEG and 1 SR written")
