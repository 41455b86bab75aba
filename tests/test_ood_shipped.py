"""Every shipped expert carries a fingerprint that loads, flags real out-of-distribution files, and lets
unseen demo images through.

The fingerprints were fitted on demo patients of seed 61001 (``mimir experts fingerprint --all
--demo-seed 61001``); the experts were trained on seed 0. The demo images here come from seed 90001,
used for nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mimir.tools.bundles.workflow import BundleInfo
from mimir.tools.ood import fingerprint
from mimir.tools.ood.assess import assess, loaded
from mimir.tools.ood.demo_fit import SHIPPED_SEED, demo_kinds, shipped_bundles, training_seeds
from mimir.tools.ood.fitting import accepted_images

UNSEEN_SEED = 90001
HEAD_CT = Path(__import__("data_store").__file__).parent / "data" / "693_UNCI.dcm"
BUNDLES = shipped_bundles()


@pytest.fixture(scope="module")
def unseen_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two demo patients of every kind a shipped expert reads (key images, PNG and DICOM), from an unseen seed."""
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    kinds = tuple(sorted({k for b in BUNDLES for k in demo_kinds(b)}))
    out = tmp_path_factory.mktemp("unseen") / "demo"
    build_demo(out, patients=2 * len(kinds), seed=UNSEEN_SEED,
               opts=BuildOptions(series=False, nifti=False, kinds=kinds))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.name for b in BUNDLES])
def test_the_shipped_fingerprint_is_present_and_loads(bundle: BundleInfo) -> None:
    fp = fingerprint.load(bundle.root)
    assert fp is not None, f"{bundle.name}: run `mimir experts fingerprint {bundle.name} --demo-seed {SHIPPED_SEED}`"
    assert fp.bundle == bundle.name and fp.images >= 100 and str(SHIPPED_SEED) in fp.source
    assert SHIPPED_SEED not in training_seeds(bundle) and UNSEEN_SEED not in training_seeds(bundle)
    pair = loaded(bundle.root)
    assert pair is not None
    assert set(fp.groups) == set(fingerprint.GROUPS)
    assert all(len(s.mean) == len(s.precision) and s.threshold > 0 for s in fp.groups.values())
    assert (bundle.task == "classification") == (fp.temperature is not None)
    card = (bundle.root / "docs" / "README.md").read_text()
    assert "## Fingerprint" in card and f"--demo-seed {SHIPPED_SEED}" in card


@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.name for b in BUNDLES])
def test_unseen_demo_images_are_not_declined(bundle: BundleInfo, unseen_demo: Path) -> None:
    every = accepted_images(bundle, unseen_demo)
    images = every[:: max(1, len(every) // 8)]  # about 8, spread over PNG and DICOM
    assert len(images) >= 2
    verdicts = [assess(bundle.root, path).verdict for path, _ in images]
    assert verdicts.count("out") == 0, list(zip([p.name for p, _ in images], verdicts, strict=True))


def test_the_real_head_ct_is_declined_by_the_ct_expert() -> None:
    ct = next(b for b in BUNDLES if b.name == "head_ct_haemorrhage_seg")
    a = assess(ct.root, HEAD_CT)
    assert a.verdict == "out" and a.score is not None and a.score < 0.05 and "unlike training" in a.reason


def test_a_photograph_is_declined_by_every_expert(tmp_path: Path) -> None:
    """scikit-image's photographs as plain PNG (grey for grey experts, colour for colour ones): no header
    tells their modality, the fingerprint must."""
    import skimage.data
    from PIL import Image

    grey, colour = tmp_path / "camera.png", tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.camera()).save(grey)
    Image.fromarray(skimage.data.astronaut()).save(colour)
    for bundle in BUNDLES:
        a = assess(bundle.root, colour if bundle.channels == 3 else grey)
        assert a.verdict == "out", (bundle.name, a)


def test_an_answer_on_the_real_head_ct_names_the_declined_image_and_why(tmp_path: Path) -> None:
    """The question of the case that motivated the check: before it, the real head CT got a confident
    haemorrhage measurement and a letter; now the expert declines it and the answer says so."""
    import pydicom

    from mimir.agent.entry import Agent
    from mimir.domain import Case, CaseImage
    from mimir.settings import Settings

    other = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    question = ("Compared with the first scan, is the haemorrhage in the second scan larger, smaller or about the "
                "same size?\nA: larger\nB: smaller\nC: about the same size")
    case = Case(question=question, images=[CaseImage(path=str(other), modality="CT"),
                                           CaseImage(path=str(HEAD_CT), modality="CT")])
    answer = Agent(Settings(data_dir=tmp_path / "data").ensure_dirs()).answer(case)
    assert answer.status == "abstained" and answer.letter is None
    reason = answer.abstain_reason or ""
    assert "image 2: expert 'head_ct_haemorrhage_seg' declined: the image is unlike its training images" in reason
    assert not [s for s in answer.steps if s.tool == "segment" and s.status == "ok" and 1 in s.image_indices]
