"""Volumes and series through ``segment`` and ``classify``: mimir's 2D experts slice by slice, measured in 3D.

One demo MRI patient (NIfTI volumes and DICOM series of every visit) is segmented with the shipped
lesion expert and scored against the build's own label volumes; the same volume stored in another
voxel order gives the same mask in world space; a lesion-free brain reads as no measurable lesion.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mimir.demo.build import build_demo
from mimir.demo.render import BuildOptions
from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.experts.evaluate import dice
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.runner import ToolRunner

#: Patient 0 of seed 11 is an MRI patient with a partial resection at the second visit.
SEED = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    build_demo(out, patients=1, seed=SEED, workers=1, opts=BuildOptions())
    return out


@pytest.fixture(scope="module")
def visits(demo: Path) -> list[dict]:
    truth = json.loads((demo / "ground_truth.json").read_text())["patients"][0]
    assert truth["kind"] == "mri" and truth["trajectory"] == "resection_partial"
    return truth["visits"]


def _image(visit: dict, sequence: str = "T1C") -> dict:
    return next(im for im in visit["images"] if im["sequence"] == sequence)


def _segment(settings: Settings, path: Path, **args: object) -> object:
    ctx = ToolContext(settings, images=[CaseImage(path=str(path), modality="MR")])
    return ToolRunner(build_registry(settings, plugins=False), ctx).call("segment", {"image_index": 0, **args}).result


def test_nifti_volume_matches_the_label_volume(demo: Path, visits: list[dict], settings: Settings) -> None:
    for visit in visits[:2]:
        t1c = _image(visit)
        result = _segment(settings, demo / t1c["nifti"])
        assert result.expert == "brain_mri_lesion_seg" and result.slice_wise and result.dims == 3
        assert "residual_on_slice" in result.limits  # what the bundle declares it misses travels with its result
        mask = np.asarray(nib.load(result.mask_path).dataobj)
        truth = np.asarray(nib.load(demo / t1c["label_nifti"]).dataobj)
        assert mask.shape == truth.shape
        assert dice(mask > 0, truth > 0) >= 0.85
        target = result.index_lesion
        assert target is not None and target.unit == "mL" and target.measurable
        assert target.size == pytest.approx(visit["whole_ml"], rel=0.15)
        assert target.craniocaudal_mm is not None and target.craniocaudal_mm > 10
        # the rest of the lesion (oedema, necrotic core, resection cavity) is the non-enhancing label
        rest = visit["whole_ml"] - visit["enhancing_ml"]
        assert target.label_sizes["non-enhancing lesion"] == pytest.approx(rest, rel=0.25)
        if visit["change_from_previous"] is None:  # before surgery: the enhancing rim
            assert target.enhancing_size == pytest.approx(visit["enhancing_ml"], rel=0.25)
        else:  # after a partial resection: a residual rim, smaller than before
            assert 0.05 < target.enhancing_size < visits[0]["enhancing_ml"]


def test_series_folder_gives_the_volume_of_the_nifti(demo: Path, visits: list[dict], settings: Settings) -> None:
    t1c = _image(visits[0])
    series = _segment(settings, demo / t1c["series_dir"])
    assert series.dims == 3 and series.shape[2] == len(list((demo / t1c["series_dir"]).iterdir()))
    assert series.index_lesion is not None
    assert series.index_lesion.size == pytest.approx(visits[0]["whole_ml"], rel=0.15)
    assert nib.load(series.mask_path).shape == tuple(series.shape)


def test_voxel_order_does_not_change_the_mask(demo: Path, visits: list[dict], settings: Settings, tmp_path: Path) -> None:
    source = nib.load(demo / _image(visits[0])["nifti"])
    data = np.asarray(source.dataobj)
    # the same volume stored with its first two axes swapped and reversed (LPS-like order)
    # (voxel (i, j, k) of the new file is voxel (n0 - 1 - j, n1 - 1 - i, k) of the original)
    flip = np.array([[0, -1, 0, data.shape[0] - 1], [-1, 0, 0, data.shape[1] - 1], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    moved = np.ascontiguousarray(data[::-1, ::-1, :].transpose(1, 0, 2))
    path = tmp_path / "reordered.nii.gz"
    nib.save(nib.Nifti1Image(moved, source.affine @ flip), path)
    first = _segment(settings, demo / _image(visits[0])["nifti"])
    second = _segment(settings, path)
    a = nib.as_closest_canonical(nib.load(first.mask_path))
    b = nib.as_closest_canonical(nib.load(second.mask_path))
    assert np.allclose(a.affine, b.affine)
    assert np.asarray(a.dataobj).any() and np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj))


def test_lesion_free_brain_reads_no_measurable_lesion(settings: Settings, tmp_path: Path) -> None:
    from mimir.demo.synth import TumourState, brain_subject, brain_visit
    from mimir.demo.writers import write_nifti

    rng = np.random.default_rng(20261205)
    subject = brain_subject(rng)
    visit = brain_visit(subject, TumourState(), rng)
    path = tmp_path / "normal.nii.gz"
    write_nifti(path, visit["T1C"], subject.affine, scale=4095.0)
    result = _segment(settings, path)
    assert result.disease != "measurable", result.assessment
    assert result.assessment.startswith(("no lesion", "no measurable lesion"))


def test_whole_series_from_the_timeline_and_volume_classification(demo: Path, visits: list[dict],
                                                                  settings: Settings) -> None:
    from mimir.domain import Case
    from mimir.memory.db import open_database
    from mimir.memory.ingest.demo import load_demo
    from mimir.memory.registration import register_case

    db = open_database(settings)
    load_demo(db, demo, settings, include_png=False)
    key = demo / _image(visits[0])["dicom"]
    with db.session() as s:
        case = register_case(s, Case(question="?", images=[CaseImage(path=str(key))]), settings)
        ctx = ToolContext(settings, images=case.images, session=s)
        runner = ToolRunner(build_registry(settings, plugins=False), ctx)
        whole = runner.call("segment", {"image_index": 0, "whole_series": True}).result
        one = runner.call("segment", {"image_index": 0}).result
    assert (whole.dims, one.dims) == (3, 2)  # the key image's acquisition series, not the key image
    assert whole.index_lesion is not None and whole.index_lesion.size == pytest.approx(visits[0]["whole_ml"], rel=0.15)
    t2 = demo / _image(visits[0], "T2")["nifti"]
    ctx = ToolContext(settings, images=[CaseImage(path=str(t2), modality="MR")])
    labelled = ToolRunner(build_registry(settings, plugins=False), ctx).call("classify", {"image_index": 0}).result
    assert labelled.label == "T2" and labelled.slices is not None and labelled.slices >= 20


def test_a_volume_is_checked_on_its_widest_slice(demo: Path, visits: list[dict], settings: Settings,
                                                 tmp_path: Path) -> None:
    from mimir.tools.framework.errors import ToolCannotHandle

    result = _segment(settings, demo / _image(visits[0])["nifti"])
    assert result.ood is not None and result.ood.verdict in ("in", "borderline"), result.ood
    assert result.ood.score is not None and "the most typical" in result.ood.reason
    # the same geometry filled with noise: declined before the expert runs, with the reason
    source = nib.load(demo / _image(visits[0])["nifti"])
    noise = np.random.default_rng(5).uniform(0.0, 4095.0, source.shape).astype(np.float32)
    path = tmp_path / "noise.nii.gz"
    nib.save(nib.Nifti1Image(noise, source.affine), path)
    with pytest.raises(ToolCannotHandle, match="declined: the image is unlike its training images") as e:
        _segment(settings, path)
    assert "axial slice" in str(e.value) and "in-distribution score" in str(e.value)
