"""TotalSegmentator through mimir: the real pipeline on a real CT, offline weights only."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import nibabel as nib
import pytest

from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolCannotHandle, ToolUnavailable
from mimir.tools.framework.runner import ToolRunner
from mimir.tools.totalseg import required_folders
from tests.fixtures.tools_totalseg import DATASET, small_ct_atlas, write_random_total_fast


def _runner(settings: Settings, image: CaseImage) -> ToolRunner:
    return ToolRunner(build_registry(settings, plugins=False), ToolContext(settings, images=[image]))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Records (and refuses) any attempt to open a network connection in this process."""
    attempts: list[tuple[object, ...]] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_required_folders_match_totalsegmentator_layout() -> None:
    assert required_folders("total", fast=True, roi_subset=False) == [DATASET]
    assert len(required_folders("total", fast=False, roi_subset=False)) == 5
    assert required_folders("total", fast=True, roi_subset=True)[-1].startswith("Dataset298_")


def test_missing_weights_fail_fast_with_folder_and_command(
    tmp_path: Path, no_network: list[tuple[object, ...]]
) -> None:
    home = tmp_path / "ts-home"
    settings = Settings(data_dir=tmp_path / "data", totalseg_home=home).ensure_dirs()
    ct = small_ct_atlas(tmp_path)
    start = time.perf_counter()
    with pytest.raises(ToolUnavailable) as err:
        _runner(settings, CaseImage(path=str(ct), modality="CT")).call("totalsegmentator", {"image_index": 0})
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert str(home / "nnunet" / "results" / DATASET) in message
    assert "totalseg_import_weights -i <zip>" in message
    assert no_network == []
    assert [p for p in settings.artifacts_dir.rglob("*") if p.is_file()] == []


def test_mr_volume_is_refused_for_ct_task(tmp_path: Path) -> None:
    write_random_total_fast(tmp_path / "h" / "nnunet" / "results")
    settings = Settings(data_dir=tmp_path / "data", totalseg_home=tmp_path / "h").ensure_dirs()
    ct = small_ct_atlas(tmp_path)
    with pytest.raises(ToolCannotHandle, match="task 'total' is for CT; ct_head.nii.gz is MR .use task 'total_mr'"):
        _runner(settings, CaseImage(path=str(ct), modality="MR")).call("totalsegmentator", {"image_index": 0})


@pytest.mark.slow
def test_real_pipeline_on_ct_atlas(tmp_path: Path) -> None:
    home = tmp_path / "ts-home"
    write_random_total_fast(home / "nnunet" / "results")
    settings = Settings(data_dir=tmp_path / "data", totalseg_home=home, device="cpu").ensure_dirs()
    ct = small_ct_atlas(tmp_path)
    runner = _runner(settings, CaseImage(path=str(ct), modality="CT"))
    assert runner.registry.get("totalsegmentator").unavailable_reason(settings) is None
    out = runner.call("totalsegmentator", {"image_index": 0, "task": "total", "fast": True})
    res = out.result
    assert nib.load(res.mask_path).shape == nib.load(ct).shape
    from totalsegmentator.map_to_binary import class_map

    assert res.label_names == class_map["total"]
    assert set(res.volumes_ml) <= set(class_map["total"].values())
    voxel_ml = 1.0 / 1000  # the atlas has 1 mm voxels
    data = nib.load(res.mask_path).get_fdata()
    total_labelled = float((data > 0).sum()) * voxel_ml
    assert sum(res.volumes_ml.values()) == pytest.approx(total_labelled, rel=1e-3)
    assert json.loads((home / "config.json").read_text())["send_usage_stats"] is False
    assert runner.call("totalsegmentator", {"image_index": 0, "task": "total", "fast": True}).cached
