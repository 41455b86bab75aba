"""MONAI bundle experts through the tool runner: real bundles, real images, the expert engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom.data
import pytest
import torch
from monai.bundle import ConfigWorkflow
from PIL import Image
from sqlalchemy import func, select

from mimir.domain import CaseImage
from mimir.memory.db import open_database
from mimir.memory.models import Finding, Patient, ToolRun
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle
from mimir.tools.framework.runner import ToolRunner
from tests.fixtures.tools_bundles import make_bundle, mni_slice_png, mni_volume

MR2 = {0: "background", 1: "brain"}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of trusted bundles: MR 2D and 3D segmentation, CT 2D segmentation, MR classifier."""
    root = tmp_path_factory.mktemp("bundles")
    make_bundle(root, "mr2d_seg", dims=2, modality="MR", labels=MR2)
    make_bundle(root, "mr3d_seg", dims=3, modality="MR", labels={0: "background", 1: "brain", 2: "csf"})
    make_bundle(root, "ct2d_seg", dims=2, modality="CT", labels={0: "background", 1: "bleed"},
                mimir_block=False)
    make_bundle(root, "mr2d_cls", dims=2, modality="MR", labels={0: "T1", 1: "T2"}, task="classification")
    return root


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real images: an MNI152 PNG slice, a small MNI152 volume, pydicom's CT, an unreadable file."""
    d = tmp_path_factory.mktemp("images")
    bad = d / "broken.nii.gz"
    bad.write_bytes(b"this is not an image")
    ct = d / "CT_small.dcm"
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), ct)
    return {"png": mni_slice_png(d), "vol": mni_volume(d), "ct": ct, "bad": bad}


@pytest.fixture
def bsettings(tmp_path: Path, bundles: Path) -> Settings:
    """Settings whose only trusted bundles are the test's (mimir's own folder left empty)."""
    own = tmp_path / "own-experts"
    own.mkdir()
    return Settings(data_dir=tmp_path / "data", experts_dir=own, bundles_dirs=[bundles]).ensure_dirs()


@pytest.fixture
def workflow_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the expert engine's predictions (each one is a model invocation) and ConfigWorkflow runs."""
    from mimir.tools.bundles.engine import ExpertEngine

    calls: list[str] = []
    predict, run = ExpertEngine.predict, ConfigWorkflow.run

    def counting(self: ExpertEngine, inputs: list[object], batch_size: int = 16, fingerprint: bool = False) -> object:
        calls.append(self.bundle.name)
        return predict(self, inputs, batch_size, fingerprint)  # type: ignore[arg-type]

    def counting_workflow(self: ConfigWorkflow) -> object:
        calls.append(str(self.parser["bundle_root"]))
        return run(self)

    monkeypatch.setattr(ExpertEngine, "predict", counting)
    monkeypatch.setattr(ConfigWorkflow, "run", counting_workflow)
    return calls


def _runner(settings: Settings, *imgs: CaseImage, **kw: object) -> ToolRunner:
    return ToolRunner(build_registry(settings, plugins=False), ToolContext(settings, images=list(imgs), **kw))


def _files(d: Path) -> list[Path]:
    return [p for p in d.rglob("*") if p.is_file()]


def test_segment_png_slice_writes_mask_of_input_shape(bsettings: Settings, images: dict[str, Path]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["png"]), modality="MR"))
    out = runner.call("segment", {"image_index": 0})
    mask = nib.load(out.result.mask_path)
    width, height = Image.open(images["png"]).size
    assert mask.shape[:2] == (width, height)  # MONAI reads PNGs width first, for image and mask alike
    assert out.result.expert == "mr2d_seg"
    assert out.result.mask_path in out.artifacts
    assert set(out.result.labels_present) <= {"brain"}
    assert all(m.area_mm2 is not None and m.volume_ml is None for m in out.result.measurements)
    assert out.result.spacing_source.startswith("default 1 mm")


def test_segment_nifti_volume_auto_picks_3d_expert(bsettings: Settings, images: dict[str, Path]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["vol"]), modality="MR"))
    out = runner.call("segment", {"image_index": 0})
    assert out.result.expert == "mr3d_seg"
    assert nib.load(out.result.mask_path).shape == nib.load(images["vol"]).shape
    assert out.result.spacing_mm == pytest.approx([6.0, 6.0, 6.0])
    assert all(m.volume_ml is not None for m in out.result.measurements)


def test_same_image_is_segmented_once(
    bsettings: Settings, images: dict[str, Path], workflow_runs: list[str], tmp_path: Path
) -> None:
    copy = tmp_path / "same-content.png"
    shutil.copy(images["png"], copy)
    db = open_database(bsettings)
    with db.session() as s:
        s.add(Patient(patient_key="P1"))
    with db.session() as s:
        runner = _runner(bsettings, CaseImage(path=str(images["png"])), CaseImage(path=str(copy)),
                         session=s, patient_id="P1")
        first = runner.call("segment", {"image_index": 0, "expert": "mr2d_seg"})
        again = runner.call("segment", {"image_index": 0, "expert": "mr2d_seg"})
        copied = runner.call("segment", {"image_index": 1, "expert": "mr2d_seg"})
    assert len(workflow_runs) == 1
    assert (first.cached, again.cached, copied.cached) == (False, True, True)
    assert first.tool_run_id == again.tool_run_id == copied.tool_run_id
    assert again.result == first.result
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ToolRun)) == 1
        n_findings = s.scalar(select(func.count()).select_from(Finding).where(Finding.tool_run_id == first.tool_run_id))
        assert n_findings == len(first.result.labels_present)
    # a fresh process reuses the timeline's ToolRun: still one model invocation
    with db.session() as s:
        later = _runner(bsettings, CaseImage(path=str(images["png"])), session=s)
        assert later.call("segment", {"image_index": 0, "expert": "mr2d_seg"}).cached
    assert len(workflow_runs) == 1


def test_changed_expert_files_are_not_answered_from_the_cache(
    bundles: Path, images: dict[str, Path], workflow_runs: list[str], tmp_path: Path
) -> None:
    """Retrained weights or an edited config make new cache keys: the timeline's old run is not reused."""
    trusted = tmp_path / "trusted"
    shutil.copytree(bundles / "mr2d_seg", trusted / "mr2d_seg")
    own = tmp_path / "own-experts"
    own.mkdir()
    settings = Settings(data_dir=tmp_path / "data", experts_dir=own, bundles_dirs=[trusted]).ensure_dirs()
    db = open_database(settings)
    image = CaseImage(path=str(images["png"]), modality="MR")

    def segment() -> bool:
        with db.session() as s:
            return _runner(settings, image, session=s).call("segment", {"image_index": 0}).cached

    assert (segment(), segment()) == (False, True)
    weights = trusted / "mr2d_seg" / "models" / "model.pt"
    state = torch.load(weights, weights_only=True)
    torch.save({k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}, weights)
    assert (segment(), segment()) == (False, True)
    metadata = trusted / "mr2d_seg" / "configs" / "metadata.json"
    metadata.write_text(metadata.read_text().replace("{", '{"version_note": "edited", ', 1))
    assert segment() is False
    assert len(workflow_runs) == 3


def _assert_nothing_written(settings: Settings, runner: ToolRunner) -> None:
    assert _files(settings.artifacts_dir) == []
    assert runner.stored_run(1) is None


def test_volume_to_2d_expert_runs_slice_by_slice(bsettings: Settings, images: dict[str, Path]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["vol"]), modality="MR"))
    out = runner.call("segment", {"image_index": 0, "expert": "mr2d_seg"}).result
    volume = nib.load(images["vol"])
    assert out.slice_wise and out.dims == 3
    assert nib.load(out.mask_path).shape == volume.shape
    assert np.allclose(nib.load(out.mask_path).affine, volume.affine)  # the mask lies in the volume's geometry
    assert all(m.volume_ml is not None and m.craniocaudal_mm is not None for m in out.measurements)


def test_slice_to_3d_expert_is_refused(bsettings: Settings, images: dict[str, Path], workflow_runs: list[str]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["png"]), modality="MR"))
    with pytest.raises(ToolCannotHandle, match=r"takes 3D images; mni_axial.png is 2D"):
        runner.call("segment", {"image_index": 0, "expert": "mr3d_seg"})
    assert workflow_runs == []
    _assert_nothing_written(bsettings, runner)


def test_mr_to_ct_bundle_is_refused(bsettings: Settings, images: dict[str, Path], workflow_runs: list[str]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["png"]), modality="MR"))
    with pytest.raises(ToolCannotHandle, match=r"'ct2d_seg' is for CT images; mni_axial.png is MR"):
        runner.call("segment", {"image_index": 0, "expert": "ct2d_seg"})
    assert workflow_runs == []
    _assert_nothing_written(bsettings, runner)


def test_unreadable_file_is_refused(bsettings: Settings, images: dict[str, Path]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["bad"])))
    with pytest.raises(ToolCannotHandle, match="cannot read broken.nii.gz"):
        runner.call("segment", {"image_index": 0})
    _assert_nothing_written(bsettings, runner)


def test_bad_arguments_name_the_field_and_value(bsettings: Settings, images: dict[str, Path]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["png"])))
    with pytest.raises(ToolArgumentError, match=r"image_index: .*\(got 'first'\)"):
        runner.call("segment", {"image_index": "first"})
    with pytest.raises(ToolArgumentError, match="Unknown segmentation expert 'nope'; installed: "):
        runner.call("segment", {"image_index": 0, "expert": "nope"})
    with pytest.raises(ToolArgumentError, match="image_index 3 is out of range"):
        runner.call("segment", {"image_index": 3})


def test_ct_dicom_picks_ct_expert_from_header(bsettings: Settings, images: dict[str, Path]) -> None:
    info = read_bundle(next(d for d in bsettings.bundles_dirs[0].iterdir() if d.name == "ct2d_seg"))
    assert (info.task, info.modalities, info.dims) == ("segmentation", ("CT",), 2)  # from network_data_format
    out = _runner(bsettings, CaseImage(path=str(images["ct"]))).call("segment", {"image_index": 0})
    assert out.result.expert == "ct2d_seg"
    assert out.result.shape == [128, 128]
    assert out.result.spacing_source == "image header"


def test_classify_returns_label_and_probabilities(bsettings: Settings, images: dict[str, Path]) -> None:
    out = _runner(bsettings, CaseImage(path=str(images["png"]), modality="MR")).call(
        "classify", {"image_index": 0}
    )
    probs = out.result.probabilities
    assert set(probs) == {"T1", "T2"} and sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
    assert out.result.label == max(probs, key=lambda k: probs[k])
    assert Path(out.result.predictions_path).is_file()


def test_no_bundles_makes_segment_unavailable(tmp_path: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    settings = Settings(data_dir=tmp_path / "d", experts_dir=empty)
    reason = build_registry(settings, plugins=False).get("segment").unavailable_reason(settings)
    assert reason is not None and "no segmentation bundle" in reason and str(empty) in reason


def test_measure_takes_a_segment_run_id(bsettings: Settings, images: dict[str, Path]) -> None:
    runner = _runner(bsettings, CaseImage(path=str(images["vol"]), modality="MR"))
    seg = runner.call("segment", {"image_index": 0, "expert": "mr3d_seg"})
    measured = runner.call("measure", {"image_index": 0, "segment_run_id": seg.tool_run_id}).result
    assert measured.mask_path == seg.result.mask_path
    assert [(m.label, m.volume_ml) for m in measured.measurements] == [
        (m.label, m.volume_ml) for m in seg.result.measurements
    ]
    assert measured.intensity_unit == "image units"
