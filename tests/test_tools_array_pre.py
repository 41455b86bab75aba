"""The engine's preprocessing on arrays: the network input MONAI's own transforms give, bit for bit."""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom.data
import pytest
from PIL import Image

from mimir.tools.bundles.array_pre import ArrayPreprocessing
from mimir.tools.bundles.engine import ExpertEngine
from mimir.tools.bundles.slicewise import slice_jobs, to_lps
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.experts.evaluate import write_png
from mimir.tools.experts.train import bundle_dir
from tests.fixtures.tools_bundles import mni_slice_png, mni_volume

#: Every shipped bundle: all read 2D pictures and end their preprocessing with a Resized.
BUNDLES = ["brain_mri_lesion_seg", "chest_xr_finding_seg", "head_ct_haemorrhage_seg", "mammo_lesion_seg",
           "chest_xr_view_classifier", "fundus_laterality_classifier", "mammo_laterality_classifier",
           "mammo_view_classifier", "mr_sequence_classifier"]
#: pydicom's uncompressed single-frame test files: MR, CT, CR; 64 to 1955 pixels, square and not, both byte orders.
DICOM = ["MR_small.dcm", "MR_small_bigendian.dcm", "CT_small.dcm", "examples_overlay.dcm", "693_UNCR.dcm",
         "RG1_UNCR.dcm"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Pictures of every kind mimir draws at many sizes, odd ones out (constant, 16-bit, colour), DICOM, volume slices."""
    from mimir.demo.chest import chest_sample
    from mimir.demo.ct import ct_slice_sample
    from mimir.demo.fundus import fundus_sample
    from mimir.demo.mammo import mammo_sample
    from mimir.demo.synth import mri_slice_sample

    d = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(20261203)
    paths: list[Any] = []
    for i, size in enumerate([256, 200, 128, 97, 300, 64, 512, 255]):
        paths.append(write_png(mri_slice_sample(rng, size=size, pool=1)[0]["T1C"], d / f"mr{i}.png"))
        paths.append(write_png(ct_slice_sample(rng, size=size, pool=1)[0], d / f"ct{i}.png"))
    for i, size in enumerate([256, 131, 384]):
        paths.append(write_png(chest_sample(rng, size=size)[0], d / f"xr{i}.png"))
        paths.append(write_png(mammo_sample(rng, size=size)[0], d / f"mg{i}.png"))
        paths.append(write_png(fundus_sample(rng, size=size)[0], d / f"fundus{i}.png"))
    wide = np.asarray(Image.open(paths[0]))
    Image.fromarray(np.concatenate([wide, wide[:, :90]], axis=1)).save(d / "wide.png")  # 256 x 346
    Image.fromarray(np.full((150, 150), 77, np.uint8)).save(d / "constant.png")
    Image.fromarray((rng.random((180, 240)) * 65535).astype(np.uint16)).save(d / "sixteen.png")
    Image.fromarray((np.asarray(Image.open(paths[1]))[..., None] * rng.uniform(0.5, 1, 3)).astype(np.uint8)).save(d / "rgb.png")
    paths += [d / "wide.png", d / "constant.png", d / "sixteen.png", d / "rgb.png", mni_slice_png(d)]
    for name in DICOM:
        shutil.copy(str(pydicom.data.get_testdata_file(name)), d / name)
        paths.append(d / name)
    volume = nib_volume(mni_volume(d))
    paths += [job.tensor for job in slice_jobs(to_lps(*volume), 180.0, "mni")[::4]]  # loaded slices skip the loader
    return paths


def nib_volume(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    img: Any = nib.load(path)
    return np.asarray(img.dataobj, dtype=np.float32), np.asarray(img.affine)


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ: values bit for bit, dtypes, strides, metadata, applied operations."""
    import torch
    from monai.data import MetaTensor

    if type(a) is not type(b):
        return [f"{where}: {type(a).__name__} vs {type(b).__name__}"]
    if isinstance(a, torch.Tensor):
        plain_a, plain_b = (x.as_tensor() if isinstance(x, MetaTensor) else x for x in (a, b))
        if (a.dtype, a.shape, a.stride()) != (b.dtype, b.shape, b.stride()) or not torch.equal(plain_a, plain_b) \
                or plain_a.numpy().tobytes() != plain_b.numpy().tobytes():  # bits: -0.0 and 0.0 differ here
            return [f"{where}: tensors differ"]
        if not isinstance(a, MetaTensor):
            return []
        out = differences(a.meta, b.meta, f"{where}.meta") + differences(a.applied_operations, b.applied_operations, f"{where}.ops")
        out += differences(a.pending_operations, b.pending_operations, f"{where}.pending")
        if (a.is_batch, a.spatial_ndim, sorted(a.__dict__)) != (b.is_batch, b.spatial_ndim, sorted(b.__dict__)):
            out.append(f"{where}: MetaTensor attributes differ")
        return out
    if isinstance(a, np.ndarray):
        return [] if a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True) else [f"{where}: arrays differ"]
    if isinstance(a, dict):
        if list(a) != list(b):
            return [f"{where}: keys {list(a)} vs {list(b)}"]
        return [e for k in a for e in differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [f"{where}: lengths differ"]
        return [e for i, (x, y) in enumerate(zip(a, b, strict=True)) for e in differences(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


@pytest.mark.parametrize("name", BUNDLES)
def test_array_preprocessing_gives_monais_network_inputs_bit_for_bit(name: str, inputs: list[Any]) -> None:
    """Every item (pixels, dtype, strides, metadata, the Resize record Invertd undoes) is what MONAI's transforms give."""
    engine = ExpertEngine(read_bundle(bundle_dir(name)))
    fast = engine.after_loading
    assert isinstance(fast, ArrayPreprocessing) and fast.steps  # the known steps run here, not in MONAI
    fallbacks: list[Any] = []
    monai_tail = fast.tail

    def tail(d: Any) -> Any:
        fallbacks.append(d)
        return monai_tail(d)

    fast.tail = tail
    for item in inputs:
        loaded = dict(engine._thread_loading()[0]({"image": str(item)})) if isinstance(item, Path) else {"image": item}
        expected = dict(fast.compose(copy.deepcopy(loaded)))  # the bundle's own MONAI transforms
        got = dict(fast(copy.deepcopy(loaded)))
        assert not differences(got, expected), (item if isinstance(item, Path) else "slice", differences(got, expected))
    assert not fallbacks


def test_transforms_it_does_not_know_run_as_monais_own() -> None:
    """An unknown transform after the known ones, or settings it does not take, leave the chain to MONAI."""
    from monai.transforms import Compose, EnsureChannelFirstd, Lambdad, Resized, ScaleIntensityd

    known = [EnsureChannelFirstd("image"), ScaleIntensityd("image")]
    assert not ArrayPreprocessing(Compose([*known, Lambdad("image", lambda x: x * 2)])).steps  # no trailing Resized
    assert not ArrayPreprocessing(Compose([*known, Resized("image", (32, 32), anti_aliasing=True)])).steps
    assert not ArrayPreprocessing(Compose([*known, Resized("image", (32, 32))], lazy=True)).steps
    mixed = ArrayPreprocessing(Compose([EnsureChannelFirstd("image"), Lambdad("image", lambda x: x * 2),
                                        ScaleIntensityd("image"), Resized("image", (32, 32), mode="area")]))
    assert mixed.head is not None and len(mixed.steps) == 2  # MONAI up to the Lambdad, the rest here


def test_block_mean_is_torchs_area_resize_bit_for_bit() -> None:
    """Whole-factor area resizes of random pictures (signed zeros, channels, unequal factors): torch's bits."""
    import torch

    from mimir.tools.bundles.array_pre import block_mean

    rng = np.random.default_rng(8)
    for c, (oh, ow), (fh, fw) in [(1, (128, 128), (2, 2)), (3, (64, 32), (3, 5)), (1, (128, 256), (4, 1)), (2, (7, 9), (6, 6))]:
        x = (rng.normal(size=(c, oh * fh, ow * fw)) * rng.choice([1e-3, 1.0, 1e4])).astype(np.float32)
        x[0, :fh, :fw] = -0.0  # a block of negative zeros: torch's sum starts from +0.0
        expected = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=(oh, ow), mode="area")[0].numpy()
        assert block_mean(x, fh, fw).tobytes() == expected.tobytes()


def test_rescaled_is_monais_rescale_array_bit_for_bit() -> None:
    """Intensity scaling in numpy: MONAI's bits for pictures, signed values, other ranges and constant arrays."""
    import torch
    from monai.transforms.utils import rescale_array

    from mimir.tools.bundles.array_pre import rescaled

    rng = np.random.default_rng(9)
    arrays = [rng.integers(0, 256, (1, 64, 80)).astype(np.float32), rng.normal(size=(3, 40, 40)).astype(np.float32) * 1e3,
              np.full((1, 9, 9), -3.5, np.float32), np.full((1, 9, 9), 2.0, np.float32)]
    for a in arrays:
        for minv, maxv in [(0.0, 1.0), (-1.0, 1.0), (0.1, 0.7)]:
            expected: Any = rescale_array(torch.from_numpy(a.copy()), minv, maxv, dtype=np.float32)
            assert rescaled(a, minv, maxv).tobytes() == expected.numpy().tobytes()
