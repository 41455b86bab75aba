"""Every MONAI config parse mimir makes at run time looks modules up in a snapshot of sys.modules.

MONAI's own component locator walks ``sys.modules`` while it parses; a module imported by another
thread during that walk fails the parse ("dictionary changed size during iteration"). That happened
in ``mimir eval --concurrency 4`` when out-of-distribution checks parsed their bundle beside running
tools. Here MONAI's own walk is made to fail outright, so a parser that still uses it fails the test
every time, not once in a while.
"""

from __future__ import annotations

import pytest

from mimir.tools.experts.train import bundle_dir


@pytest.fixture
def monai_walk_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    from monai.bundle.config_item import ComponentLocator

    def walk(self: ComponentLocator) -> list[str]:
        raise AssertionError("MONAI's sys.modules walk used: unsafe while other threads import")

    monkeypatch.setattr(ComponentLocator, "_find_module_names", walk)


@pytest.mark.usefixtures("monai_walk_forbidden")
@pytest.mark.parametrize("name", ["brain_mri_lesion_seg", "mr_sequence_classifier"])
def test_out_of_distribution_features_parse_with_the_snapshot_locator(name: str) -> None:
    from mimir.tools.ood.features import FeatureExtractor

    task = "segmentation" if name.endswith("_seg") else "classification"
    extractor = FeatureExtractor(bundle_dir(name), task)
    assert extractor.network is not None and extractor.preprocessing is not None


@pytest.mark.usefixtures("monai_walk_forbidden")
def test_image_embedder_parses_with_the_snapshot_locator() -> None:
    from mimir.tools.experts import embed

    net, preprocessing, channels = embed._load.__wrapped__(str(bundle_dir("brain_mri_lesion_seg")))
    assert hasattr(net, "embed") and preprocessing is not None and channels >= 1


@pytest.mark.usefixtures("monai_walk_forbidden")
def test_the_engine_parses_with_the_snapshot_locator() -> None:
    from mimir.tools.bundles.engine import ExpertEngine
    from mimir.tools.bundles.workflow import read_bundle

    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")), "cpu")
    assert engine.network is not None
