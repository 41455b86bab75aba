"""Known misses of the shipped brain lesion expert, kept as strict expected failures so that they are seen.

Brain lesion 0.2.x was trained for whole volumes (lesion-free volumes read lesion-free 40/40 on seed 77123),
and it lost sensitivity to small lesions on single T1C and T2 key images: on demo patient 0 (seed 0) the
first visit's lesion (244 mm^2 on the key slice) is found on T1 and FLAIR but not at all on T1C or T2
(0.1.0 found 316 and 236 mm^2), and on T2 the third visit's lesion is measured at 68 of 552 mm^2 (0.1.0: 588).
Each key image here must show between half and one and a half times the true area, the third visit's T2
within a quarter of it. A test here passing means the miss is fixed: remove its mark then.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mimir.demo.build import build_demo
from mimir.demo.render import BuildOptions
from mimir.tools.bundles.engine import ExpertEngine
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.experts.train import bundle_dir

DEMO_SEED = 0
#: True lesion area (mm^2) on the key slice of the visits tested here.
TRUE_MM2 = {0: 244.0, 2: 552.0}


@pytest.fixture(scope="module")
def key_images(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Path]:
    import json

    out = tmp_path_factory.mktemp("misses")
    build_demo(out, 1, DEMO_SEED, 1, BuildOptions(series=False, nifti=False))
    truth = json.loads((out / "ground_truth.json").read_text())
    visits = (truth["patients"] if isinstance(truth, dict) else truth)[0]["visits"]
    for index, area in TRUE_MM2.items():
        assert visits[index]["slice_lesion_mm2"] == pytest.approx(area)
    return {(index, im["sequence"]): out / im["dicom"] for index in TRUE_MM2
            for im in visits[index]["images"] if im.get("modality") == "MR"}


@pytest.fixture(scope="module")
def engine() -> ExpertEngine:
    return ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))


_MISSED = pytest.mark.xfail(strict=True, reason="brain lesion 0.2.x misses this 244 mm^2 lesion on T1C and T2 (0 found)")


@pytest.mark.parametrize("sequence", ["T1", "FLAIR", pytest.param("T1C", marks=_MISSED), pytest.param("T2", marks=_MISSED)])
def test_the_small_first_visit_lesion_is_found(key_images: dict[tuple[int, str], Path], engine: ExpertEngine,
                                               sequence: str) -> None:
    mask = engine.predict([key_images[0, sequence]])[0].mask
    assert mask is not None and 0.5 * TRUE_MM2[0] <= int((mask > 0).sum()) <= 1.5 * TRUE_MM2[0]


@pytest.mark.xfail(strict=True, reason="brain lesion 0.2.x finds 68 of this 552 mm^2 lesion on T2")
def test_the_third_visit_lesion_is_measured_whole_on_t2(key_images: dict[tuple[int, str], Path],
                                                        engine: ExpertEngine) -> None:
    # 1 mm pixels on the 256 x 256 key image: the pixel count is the area in mm^2
    mask = engine.predict([key_images[2, "T2"]])[0].mask
    assert mask is not None and 0.75 * TRUE_MM2[2] <= int((mask > 0).sum()) <= 1.25 * TRUE_MM2[2]
