"""The expert engine: each bundle parsed once, the same masks as MONAI's ConfigWorkflow, shared by threads."""

from __future__ import annotations

import shutil
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom.data
import pytest

from mimir.tools.bundles.engine import EnginePool, ExpertEngine, snapshot_locator
from mimir.tools.bundles.workflow import read_bundle, run_workflow
from mimir.tools.experts.bundle import read_mask, read_predictions
from mimir.tools.experts.evaluate import write_png
from mimir.tools.experts.train import bundle_dir
from tests.fixtures.tools_bundles import make_bundle, mni_slice_png, mni_volume


@pytest.fixture(scope="module")
def slices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Fresh generated MR and CT slices with lesions (anatomy pool 1), a real MR DICOM and a real brain PNG."""
    from mimir.demo.synth import ct_slice_sample, mri_slice_sample

    d = tmp_path_factory.mktemp("slices")
    rng = np.random.default_rng(20261201)
    mr, ct = [], []
    while len(mr) < 3:
        images, label = mri_slice_sample(rng, size=256, pool=1)
        if label.any():
            mr.append(write_png(images["T1C"], d / f"mr{len(mr)}.png"))
    while len(ct) < 2:
        image, label = ct_slice_sample(rng, size=256, pool=1)
        if label.any():
            ct.append(write_png(image, d / f"ct{len(ct)}.png"))
    dcm = d / "MR_small.dcm"
    shutil.copy(pydicom.data.get_testdata_file("MR_small.dcm"), dcm)
    return {"brain_mri_lesion_seg": [*mr, dcm, mni_slice_png(d)], "head_ct_haemorrhage_seg": ct}


@pytest.mark.parametrize("name", ["brain_mri_lesion_seg", "head_ct_haemorrhage_seg"])
def test_engine_gives_the_masks_of_monai_configworkflow(name: str, slices: dict[str, list[Path]], tmp_path: Path) -> None:
    paths = slices[name]
    engine = ExpertEngine(read_bundle(bundle_dir(name)))
    predictions = engine.predict(paths, batch_size=2)  # batches of two, and one image alone
    run_workflow(bundle_dir(name), paths, tmp_path)
    lesions = 0
    for path, pred in zip(paths, predictions, strict=True):
        expected = read_mask(tmp_path, path)
        assert pred.mask is not None and pred.mask.shape == expected.shape, path.name
        assert np.array_equal(pred.mask, expected), path.name
        lesions += int((expected > 0).any())
    assert lesions >= 2  # the comparison covers real lesions, not only empty masks


@pytest.fixture(scope="module")
def test_bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundles")
    make_bundle(root, "mr3d_seg", dims=3, modality="MR", labels={0: "background", 1: "brain", 2: "csf"})
    make_bundle(root, "mr2d_cls", dims=2, modality="MR", labels={0: "T1", 1: "T2"}, task="classification")
    return root


def test_3d_bundle_and_classifier_match_configworkflow(test_bundles: Path, tmp_path: Path) -> None:
    volume, picture = mni_volume(tmp_path), mni_slice_png(tmp_path)
    seg = ExpertEngine(read_bundle(test_bundles / "mr3d_seg")).predict([volume])[0]
    run_workflow(test_bundles / "mr3d_seg", [volume], tmp_path / "seg")
    assert np.array_equal(seg.mask, read_mask(tmp_path / "seg", volume))  # a sliding-window inferer, natively 3D
    cls = ExpertEngine(read_bundle(test_bundles / "mr2d_cls")).predict([picture])[0]
    run_workflow(test_bundles / "mr2d_cls", [picture], tmp_path / "cls")
    assert cls.probabilities is not None
    assert np.allclose(cls.probabilities, read_predictions(tmp_path / "cls")[str(picture)], atol=1e-6)


def test_one_engine_is_loaded_once_and_shared_by_threads(slices: dict[str, list[Path]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    original = ExpertEngine.__init__

    def counting(self: ExpertEngine, *args: object, **kwargs: object) -> None:
        loads.append("load")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ExpertEngine, "__init__", counting)
    pool, bundle = EnginePool(), read_bundle(bundle_dir("brain_mri_lesion_seg"))
    paths = slices["brain_mri_lesion_seg"] * 4  # PNG and DICOM readers, from eight threads at once
    alone = [p.mask for p in pool.get(bundle).predict(paths[:5])]

    def one(path: Path) -> np.ndarray:
        mask = pool.get(bundle).predict([path])[0].mask
        assert mask is not None
        return mask

    with ThreadPoolExecutor(max_workers=8) as ex:
        together = list(ex.map(one, paths))
    assert loads == ["load"]
    for i, mask in enumerate(together):
        assert np.array_equal(mask, alone[i % 5])


def test_component_lookup_survives_imports_in_other_threads() -> None:
    """MONAI walks sys.modules while it parses; the engine's locator reads a snapshot of it instead."""
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            name = f"_mimir_probe_{n % 64}"
            sys.modules[name] = types.ModuleType(name)
            sys.modules.pop(name, None)
            n += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(300):
            names = snapshot_locator()._find_module_names()
            assert "monai" in names
    finally:
        stop.set()
        worker.join()
