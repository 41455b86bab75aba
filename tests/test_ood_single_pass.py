"""The input check rides on the expert's own network pass: the same numbers, one pass, a fallback.

The fingerprint of an input (``mimir.tools.ood.features``) needs the network's deepest activation.
The expert engine keeps it from the pass that segments or classifies the image, so the check must
give what the feature extractor's own pass gives, and the ``segment`` and ``classify`` tools must
not run the network a second time for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.bundles.engine import ENGINES, ExpertEngine
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.experts.data import draw_raw
from mimir.tools.experts.train import bundle_dir
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.runner import ToolRunner
from mimir.tools.ood.assess import assess, assess_groups, loaded
from mimir.tools.ood.features import GROUPS, FeatureExtractor

#: Experts of both tasks, and the demo drawer of images each one was trained on.
EXPERTS = ("brain_mri_lesion_seg", "head_ct_haemorrhage_seg", "mr_sequence_classifier")


def _pictures(expert: str, folder: Path, n: int, seed: int) -> list[Path]:
    from mimir.demo.writers import write_png

    drawer = "brain_mri_lesion_seg" if expert == "mr_sequence_classifier" else expert
    paths = []
    for i, sample in enumerate(draw_raw(drawer, np.random.default_rng(seed), n, (256,))):
        paths.append(folder / f"{expert}-{i}.png")
        write_png(paths[-1], sample.image)
    return paths


@pytest.mark.parametrize("expert", EXPERTS)
def test_the_engine_pass_gives_the_extractor_numbers_and_verdict(expert: str, tmp_path: Path) -> None:
    bundle = read_bundle(bundle_dir(expert))
    paths = _pictures(expert, tmp_path, 5, 31)
    pair = loaded(bundle.root)
    assert pair is not None
    extractor = pair[0]
    batched = ENGINES.get(bundle).predict(paths, batch_size=4, fingerprint=True)  # a batch of 4, then 1
    single = ENGINES.get(bundle).predict(paths[:1], fingerprint=True)
    for path, pred in zip(paths, batched, strict=True):
        own = extractor.measure(path).groups
        assert pred.fingerprint is not None and set(pred.fingerprint) == set(GROUPS)
        for group in GROUPS:
            np.testing.assert_allclose(pred.fingerprint[group], own[group], rtol=1e-4, atol=1e-5, err_msg=group)
        assert assess_groups(bundle.root, pred.fingerprint) == assess(bundle.root, path)
    np.testing.assert_allclose(single[0].fingerprint["features"], batched[0].fingerprint["features"], atol=1e-5)
    assert all(p.fingerprint is None for p in ENGINES.get(bundle).predict(paths[:2]))  # only when asked


@pytest.mark.parametrize(("tool", "expert"), [("segment", "brain_mri_lesion_seg"), ("classify", "mr_sequence_classifier")])
def test_the_tools_check_their_input_without_a_second_pass(tool: str, expert: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = _pictures(expert, tmp_path, 1, 32)[0]
    expected = assess(bundle_dir(expert), path)

    def no_second_pass(self: FeatureExtractor, image: object) -> object:
        raise AssertionError("the input check ran a network pass of its own")

    monkeypatch.setattr(FeatureExtractor, "measure", no_second_pass)
    settings = Settings(data_dir=tmp_path / "data").ensure_dirs()
    ctx = ToolContext(settings, images=[CaseImage(path=str(path), modality="MR")])
    outcome = ToolRunner(build_registry(settings, plugins=False), ctx).call(tool, {"image_index": 0, "expert": expert})
    assert outcome.result.ood == expected


def test_an_inferer_that_never_runs_the_whole_input_falls_back_to_the_check_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A windowed inferer runs the network on pieces: their activations are not the input's, so none is kept."""
    expert = "brain_mri_lesion_seg"
    path = _pictures(expert, tmp_path, 1, 33)[0]
    engine = ENGINES.get(read_bundle(bundle_dir(expert)))
    original = engine.inferer
    monkeypatch.setattr(engine, "inferer", lambda x, network: original(x.clone(), network))  # another tensor
    logits, deep = engine.forward_capturing(engine.preprocess([path]))
    assert deep is None and logits.shape[0] == 1
    assert engine.predict([path], fingerprint=True)[0].fingerprint is None
    settings = Settings(data_dir=tmp_path / "data").ensure_dirs()
    ctx = ToolContext(settings, images=[CaseImage(path=str(path), modality="MR")])
    outcome = ToolRunner(build_registry(settings, plugins=False), ctx).call("segment", {"image_index": 0, "expert": expert})
    assert outcome.result.ood == assess(bundle_dir(expert), path)


def test_engines_share_no_capture_between_threads() -> None:
    """Two threads capturing on one engine each get their own batch's activation."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    engine: ExpertEngine = ENGINES.get(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    batches = [torch.rand(2, 1, 128, 128, generator=torch.Generator().manual_seed(s)) for s in range(6)]
    alone = [engine.forward_capturing(b)[1] for b in batches]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda b: engine.forward_capturing(b)[1], batches))
    for a, t in zip(alone, together, strict=True):
        assert a is not None and t is not None
        np.testing.assert_allclose(np.asarray(t), np.asarray(a), atol=1e-5)
