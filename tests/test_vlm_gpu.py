"""A real VLM on a GPU: set MIMIR_TEST_VLM_PATH to a local Hugging Face model folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.vlm_images import retina_pngs

pytestmark = pytest.mark.gpu


def test_real_model_answers_about_two_images(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    path = os.environ.get("MIMIR_TEST_VLM_PATH")
    if not path:
        pytest.skip("set MIMIR_TEST_VLM_PATH to a local VLM folder (e.g. medgemma-4b-it)")
    from mimir.tools.vlm.factory import profile_for
    from mimir.tools.vlm.hf_backend import HFBackend
    from mimir.tools.vlm.strategies import StrategyClient

    profile = profile_for(os.environ.get("MIMIR_TEST_VLM_PROFILE", Path(path).name))
    client = StrategyClient(HFBackend(Path(path), device="cuda"), profile, strategy="joint")
    resp = client.answer(retina_pngs(tmp_path, 2), "What kind of photograph are these?",
                         {"A": "fundus photographs of the retina", "B": "chest radiographs"})
    assert resp.letter == "A", resp.text
