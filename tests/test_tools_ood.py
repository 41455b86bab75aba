"""Experts that know their limits: fingerprints, verdicts with reasons, calibration, declined inputs.

The fingerprint tests fit a copy of mimir's CT haemorrhage expert on freshly generated CT slices,
then score new generated slices (in distribution) and pydicom-data's real head CT 693_UNCI.dcm, a
512x512 plain CT the demo generator never uses.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.experts.data import draw_raw
from mimir.tools.experts.train import bundle_dir
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.framework.runner import ToolRunner
from mimir.tools.ood import calibration, fingerprint
from mimir.tools.ood.assess import assess, judge
from mimir.tools.ood.features import GROUPS
from mimir.tools.ood.fitting import fingerprint_bundle

HEAD_CT = Path(__import__("data_store").__file__).parent / "data" / "693_UNCI.dcm"


def test_temperature_scaling_recovers_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 4))
    labels = np.asarray([rng.choice(4, p=p) for p in calibration.softmax(logits, 2.5)])  # true T = 2.5
    t = calibration.fit_temperature(logits[:3000], labels[:3000])
    assert 2.1 < t < 2.9
    held, y = logits[3000:], labels[3000:]
    before, after = calibration.ece(calibration.softmax(held), y), calibration.ece(calibration.softmax(held, t), y)
    assert after < 0.05 < before
    p = calibration.softmax(held[:1])[0]
    assert np.allclose(calibration.rescale(p, t), calibration.softmax(held[:1], t)[0], atol=1e-9)


def _vectors(rng: np.random.Generator, n: int, shift: dict[str, float] | None = None) -> list[dict[str, np.ndarray]]:
    dims = {"features": 12, "intensity": 19, "noise": 1, "geometry": 2, "layout": 64}
    return [{g: rng.normal((shift or {}).get(g, 0.0), 1.0, dims[g]) for g in GROUPS} for _ in range(n)]


def test_verdicts_name_the_unusual_check() -> None:
    rng = np.random.default_rng(1)
    fp = fingerprint.fit("x", "1", _vectors(rng, 400))
    fresh = [judge(fp, fp.ratios(v)) for v in _vectors(rng, 300)]
    assert sum(a.verdict == "out" for a in fresh) <= 6  # at most 2 % declined
    assert np.mean([a.score for a in fresh]) > 0.3
    far = judge(fp, fp.ratios(_vectors(rng, 1, {"intensity": 3.0})[0]))
    assert far.verdict == "out" and far.reason.startswith("intensity histogram unlike training")
    assert far.score is not None and far.score < 0.01
    with pytest.raises(ValueError, match="at least 20"):
        fingerprint.fit("x", "1", _vectors(rng, 10))


@pytest.fixture(scope="module")
def ct_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the CT haemorrhage expert, fingerprinted on 64 generated CT slices (PNG, with a manifest)."""
    from mimir.demo.writers import write_png

    root = tmp_path_factory.mktemp("bundles")
    bundle = root / "head_ct_haemorrhage_seg"
    shutil.copytree(bundle_dir("head_ct_haemorrhage_seg"), bundle)
    (bundle / "models" / fingerprint.FILE).unlink(missing_ok=True)
    images = root / "fit-images"
    samples = draw_raw("head_ct_haemorrhage_seg", np.random.default_rng(11), 64, (256,))
    images.mkdir()
    with (images / "manifest.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["path", "modality"])
        for i, s in enumerate(samples):
            write_png(images / f"ct{i:03d}.png", s.image)
            out.writerow([f"ct{i:03d}.png", "CT"])
    fp = fingerprint_bundle(read_bundle(bundle), images)
    assert fp.images == 64 and (bundle / "models" / fingerprint.FILE).is_file()
    return bundle


def test_generated_ct_is_in_distribution_and_the_real_head_ct_is_not(ct_bundle: Path, tmp_path: Path) -> None:
    from mimir.demo.writers import write_png

    fresh = draw_raw("head_ct_haemorrhage_seg", np.random.default_rng(12), 12, (256,))
    verdicts = []
    for i, s in enumerate(fresh):
        write_png(tmp_path / f"{i}.png", s.image)
        verdicts.append(assess(ct_bundle, tmp_path / f"{i}.png").verdict)
    assert verdicts.count("out") <= 1, verdicts
    real = assess(ct_bundle, HEAD_CT)
    assert real.verdict == "out" and "unlike training" in real.reason, real


def test_segment_declines_the_real_head_ct_and_says_why(ct_bundle: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    settings = Settings(data_dir=tmp_path / "data", experts_dir=own, bundles_dirs=[ct_bundle.parent]).ensure_dirs()
    ctx = ToolContext(settings, images=[CaseImage(path=str(HEAD_CT), modality="CT")])
    with pytest.raises(ToolCannotHandle, match="declined: the image is unlike its training images") as e:
        ToolRunner(build_registry(settings, plugins=False), ctx).call("segment", {"image_index": 0})
    assert "in-distribution score" in str(e.value)
    assert not list((settings.artifacts_dir).rglob("*_seg.nii.gz"))  # no mask of a declined input is kept


def test_a_bundle_without_fingerprint_is_unknown_not_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(bundle_dir("head_ct_haemorrhage_seg"), bundle)
    (bundle / "models" / fingerprint.FILE).unlink(missing_ok=True)
    a = assess(bundle, HEAD_CT)
    assert a.verdict == "unknown" and a.score is None and "fingerprint" in a.reason



def test_a_borderline_input_is_stated_as_a_doubt_and_a_typical_one_is_not() -> None:
    from mimir.tools.ood.gate import doubt

    result = {"expert": "head_ct_haemorrhage_seg", "image_index": 1,
              "ood": {"score": 0.02, "verdict": "borderline", "reason": "noise or texture unlike training (1.3x its usual range)"}}
    assert doubt(result) == ("image 2 is a borderline input for expert 'head_ct_haemorrhage_seg' (noise or texture "
                             "unlike training (1.3x its usual range); in-distribution score 0.02)")
    assert doubt({**result, "ood": {"score": 0.8, "verdict": "in", "reason": "like the expert's training images"}}) is None
    assert doubt({"expert": "e"}) is None and doubt(None) is None


def test_one_image_size_in_training_does_not_make_every_other_size_out() -> None:
    """Geometry: all fitted images 256 x 256. A size within about 10 % is in; half or double is out."""
    rng = np.random.default_rng(3)
    vectors = _vectors(rng, 200)
    for v in vectors:
        v["geometry"] = np.asarray([np.log(256 * 256) / 2, 0.0])
    fp = fingerprint.fit("x", "1", vectors)

    def geometry_ratio(side: int) -> float:
        return fp.ratios({**vectors[0], "geometry": np.asarray([np.log(side * side) / 2, 0.0])})["geometry"]

    assert geometry_ratio(256) < 1e-6 and geometry_ratio(262) <= 1.0
    assert geometry_ratio(128) > fingerprint.OUT_RATIO and geometry_ratio(512) > fingerprint.OUT_RATIO
