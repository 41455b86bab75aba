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

from mimir.tools.bundles.config import snapshot_locator
from mimir.tools.bundles.engine import EnginePool, ExpertEngine
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


def _sized_slices(folder: Path, n: int) -> list[Path]:
    """Fresh MR slices resized to sizes the expert's 128 x 128 input reaches by whole, fractional and no factors."""
    from PIL import Image

    from mimir.demo.synth import mri_slice_sample

    rng = np.random.default_rng(20261205)
    sizes = [(256, 256), (128, 128), (200, 200), (300, 240), (96, 160), (384, 384), (181, 217)]
    paths = []
    for i in range(n):
        picture = Image.open(write_png(mri_slice_sample(rng, size=256, pool=1)[0]["T1C"], folder / f"raw{i}.png"))
        paths.append(folder / f"s{i}.png")
        picture.resize(sizes[i % len(sizes)]).save(paths[-1])
    return paths


def test_the_pass_runs_on_plain_tensors_and_its_logits_carry_the_batch_s_metadata(tmp_path: Path) -> None:
    """The logits equal the inferer's on the MetaTensor batch itself, values and metadata, as MONAI runs it."""
    import torch
    from monai.data import MetaTensor

    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    batch = engine.preprocess(_sized_slices(tmp_path, 1) * 3)
    seen: list[type] = []
    hook = engine.network.register_forward_pre_hook(lambda _, args: seen.append(type(args[0])))
    try:
        logits = engine.forward(batch)
    finally:
        hook.remove()
    assert seen and all(t is torch.Tensor for t in seen)  # no MetaTensor bookkeeping inside the pass
    with torch.inference_mode():
        monai_way = engine.inferer(batch, engine.network)
    assert isinstance(logits, MetaTensor) and isinstance(monai_way, MetaTensor)
    assert torch.equal(logits.as_tensor(), monai_way.as_tensor())
    assert logits.is_batch == monai_way.is_batch is True
    assert logits.meta.keys() == monai_way.meta.keys()
    assert torch.equal(logits.affine, monai_way.affine)
    assert len(logits.applied_operations) == len(monai_way.applied_operations) == 3


def test_outputs_of_several_tensors_each_get_the_batch_s_metadata() -> None:
    """A network giving a tuple or a dict (deep supervision, several heads) keeps MONAI's metadata on each tensor."""
    import torch
    from monai.data import MetaTensor
    from monai.data.utils import list_data_collate

    from mimir.tools.bundles.engine import _with_meta_of

    batch = list_data_collate([{"image": MetaTensor(torch.zeros(1, 4, 4), affine=torch.eye(4) * k)} for k in (1, 2)])["image"]
    out = _with_meta_of(batch, (torch.ones(2, 1, 4, 4), {"aux": torch.ones(2, 3)}, "not a tensor"))
    assert isinstance(out, tuple) and out[2] == "not a tensor"
    for t in (out[0], out[1]["aux"]):
        assert isinstance(t, MetaTensor) and t.is_batch and torch.equal(t.affine, batch.affine)
    assert _with_meta_of(torch.zeros(2), torch.ones(2)).__class__ is torch.Tensor  # a plain batch gives plain logits


def test_post_transforms_on_the_batch_give_the_per_image_masks(tmp_path: Path) -> None:
    """Softmax and Invertd run once per batch; every mask is what MONAI's per-image post transforms give."""
    from monai.engines.utils import engine_apply_transform

    from mimir.tools.bundles.engine import _decollated

    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    assert engine.batch_post.activation == "softmax" and engine.batch_post.invert
    paths = _sized_slices(tmp_path, 21)
    predictions = engine.predict(paths, batch_size=8)
    items = [engine._prepare(p) for p in paths]
    lesions = 0
    for group, batch, logits in engine._forward_groups(items):
        for i, (b, o) in zip(group, _decollated(batch, logits), strict=True):
            _, out = engine_apply_transform(b, o, engine.postprocessing)  # the bundle's post transforms, per image
            expected = engine._result(out["pred"])
            assert np.array_equal(predictions[i].mask, expected.mask), paths[i].name
            assert np.array_equal(predictions[i].affine, expected.affine), paths[i].name  # the grid Invertd restores
            lesions += int(expected.mask.any())
    assert lesions >= 5


def test_predict_each_hands_every_prediction_on_in_input_order(tmp_path: Path) -> None:
    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    paths = _sized_slices(tmp_path, 9)
    seen: list[tuple[int, str]] = []

    def then(i: int, pred: object) -> tuple[int, int]:
        seen.append((i, threading.current_thread().name))
        return i, int(np.asarray(pred.mask).sum())  # type: ignore[attr-defined]

    out = engine.predict_each(paths, then, batch_size=4)
    assert [i for i, _ in out] == list(range(9))
    assert [s for _, s in out] == [int(p.mask.sum()) for p in engine.predict(paths, batch_size=4)]  # type: ignore[union-attr]
    assert sorted(i for i, _ in seen) == list(range(9))
    assert all(name.startswith("mimir-engine") for _, name in seen)  # behind the network passes, not in the caller
    with pytest.raises(RuntimeError, match="LoadImage"):  # a bad input fails the call (MONAI's reader error)
        engine.predict_each([*paths[:3], tmp_path / "missing.png"], then, batch_size=2)


def test_segment_files_writes_each_mask_once_and_measures_it(tmp_path: Path) -> None:
    import nibabel as nib

    from mimir.tools.analysis.imaging import load_image
    from mimir.tools.segment import report_mask, segment_files

    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    paths = _sized_slices(tmp_path, 5)
    results = segment_files(engine, paths, tmp_path / "masks", batch_size=3)
    for path, pred, (mask_file, report) in zip(paths, engine.predict(paths), results, strict=True):
        image = load_image(path)
        assert mask_file == tmp_path / "masks" / f"{path.stem}_seg.nii.gz"
        saved = nib.load(mask_file)
        assert np.array_equal(np.asarray(saved.dataobj), pred.mask) and saved.shape == image.spatial_shape
        assert report == report_mask(np.asarray(pred.mask), image, engine.bundle.labels)
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == sorted(f"{p.stem}_seg.nii.gz" for p in paths)


def test_the_loaded_picture_is_handed_on_only_when_it_is_the_files_own(tmp_path: Path) -> None:
    """Tools measure on the pixels the expert read when a plain read gives the same; colour pictures are read again."""
    from PIL import Image

    from mimir.tools.analysis.imaging import image_data, load_image
    from mimir.tools.segment import report_mask, segment_files

    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    grey = _sized_slices(tmp_path, 3)
    rng = np.random.default_rng(14)
    colour = tmp_path / "colour.png"
    tint = rng.uniform(0.6, 1.0, 3)
    Image.fromarray((np.asarray(Image.open(grey[0]))[..., None] * tint).astype(np.uint8), "RGB").save(colour)
    paths = [*grey, colour]
    for pred, path in zip(engine.predict(paths, batch_size=2), paths, strict=True):
        plain = load_image(path)
        if path == colour:
            assert pred.source is None
            continue
        assert pred.source is not None
        kept = image_data(path, pred.source.array, pred.source.meta)
        assert np.array_equal(kept.array, plain.array) and kept.array.dtype == plain.array.dtype
        assert np.array_equal(kept.affine, plain.affine) and (kept.spacing, kept.channels) == (plain.spacing, plain.channels)
    _, report = segment_files(engine, [colour], tmp_path / "masks")[0]
    assert report == report_mask(np.asarray(engine.predict([colour])[0].mask), load_image(colour), engine.bundle.labels)
