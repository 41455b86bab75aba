"""Strategy choice, 3D volumes, profiles, prompts, the factory and the registered tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
import numpy as np
import pytest
from fixtures.vlm_images import ct_volume_nifti, retina_pngs

from mimir.domain import CaseImage
from mimir.settings import Settings, VLMEndpoint
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolArgumentError, ToolUnavailable
from mimir.tools.framework.registry import Registry
from mimir.tools.vlm.base import ChatRequest, Generation, Usage
from mimir.tools.vlm.factory import make_client
from mimir.tools.vlm.profiles import get_profile, load_profiles
from mimir.tools.vlm.prompting import default_book
from mimir.tools.vlm.strategies import StrategyClient
from mimir.tools.vlm.tool import register
from mimir.tools.vlm.visuals import load_visuals


class RecordingBackend:
    """Stands in for a model server: records each request, answers 'B' to closed questions."""

    model = "recorder"

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    def generate(self, request: ChatRequest) -> Generation:
        self.requests.append(request)
        return Generation(text="B" if request.choices else f"seen {len(request.visuals)}", usage=Usage(prompt_tokens=5))

    def stream(self, request: ChatRequest) -> Iterator[str]:
        yield self.generate(request).text


def test_every_shipped_profile_is_valid_and_consistent() -> None:
    profiles = load_profiles()
    assert {"mantis-8b-siglip-llama3", "med-mantis", "llava-med-v1.5", "mim-llava-med", "medm-vl-2d-3b",
            "medm-vl-ct-chest-3b", "medgemma-4b-it", "medgemma-27b-it", "lingshu-7b"} <= set(profiles)
    for name in ("mantis-8b-siglip-llama3", "med-mantis"):
        p = profiles[name]
        assert p.image_tokens == 729 and p.context_length == 8192 and p.system_prompt
        assert '{"architectures": ["MantisForConditionalGeneration"]}' in p.vllm.args  # type: ignore[union-attr]
    for name in ("llava-med-v1.5", "mim-llava-med"):
        assert profiles[name].image_tokens == 576 and profiles[name].default_strategy == "decomposed"
    medm = profiles["medm-vl-2d-3b"]
    assert medm.vllm and medm.vllm.chat_template and medm.image_tokens == 256 and medm.default_strategy == "decomposed"
    ct = profiles["medm-vl-ct-chest-3b"]
    assert ct.serve_vlm and ct.context_length == 2048 and ct.volume and ct.volume.shape == (32, 256, 256)
    planner = [p for p in profiles.values() if p.kind == "planner"]
    assert planner and "--enable-auto-tool-choice" in planner[0].vllm.args  # type: ignore[union-attr]


def test_prompts_are_strict() -> None:
    with pytest.raises(jinja2.UndefinedError, match="n_images"):
        default_book().render("open", question="What changed?")
    p = default_book().render("open", question="What changed?", n_images=2, image_labels=["image 1", "image 2"])
    assert "image 1, image 2" in p.user and "radiology" in p.system


def test_auto_goes_joint_when_images_fit_and_decomposed_when_they_do_not(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 3)
    backend = RecordingBackend()
    mantis = StrategyClient(backend, get_profile("med-mantis"))
    assert mantis.answer(images, "Stable?", {"A": "no", "B": "yes"}).strategy == "joint"  # 3*729 < 8192
    small = get_profile("med-mantis").model_copy(update={"context_length": 2048})
    resp = StrategyClient(backend, small).answer(images, "Stable?", {"A": "no", "B": "yes"})
    assert resp.strategy == "decomposed" and resp.letter == "B" and resp.usage.prompt_tokens == 20


def test_a_volume_becomes_counted_slices_for_2d_models(tmp_path: Path) -> None:
    ct = ct_volume_nifti(tmp_path, depth=12)
    profile = get_profile("llava-med-v1.5")
    visuals = load_visuals(ct, "image 1", profile)
    assert len(visuals) == profile.slices_per_volume and all(v.kind == "image" for v in visuals)
    assert visuals[0].label.startswith("image 1, slice ")
    assert len({v.pil().tobytes() for v in visuals}) == len(visuals)
    backend = RecordingBackend()
    resp = StrategyClient(backend, profile).answer([ct, retina_pngs(tmp_path, 1)[0]], "Compare.")
    assert resp.requests == profile.slices_per_volume + 1 + 1  # every slice and the photo described


def test_a_volume_goes_whole_and_hu_windowed_to_the_ct_model(tmp_path: Path) -> None:
    ct = ct_volume_nifti(tmp_path)
    [visual] = load_visuals(ct, "image 1", get_profile("medm-vl-ct-chest-3b"))
    assert visual.kind == "volume" and visual.volume.shape == (32, 256, 256) and visual.volume.dtype == np.uint8
    import nibabel as nib

    hu = np.full((64, 64, 40), -2000.0, dtype=np.float32)  # (X, Y, Z): below the window
    hu[:, 32:, :] = 3000.0  # above the window
    hu[:, :, 20:] = 0.0  # water, mid-window
    path = tmp_path / "phantom.nii.gz"
    nib.save(nib.Nifti1Image(hu, np.eye(4)), str(path))
    [phantom] = load_visuals(path, "image 1", get_profile("medm-vl-ct-chest-3b"))
    vol = phantom.volume  # (D, H, W): slices first
    assert vol[2, 5, 5] == 0 and vol[2, 250, 5] == 255 and abs(int(vol[30, 5, 5]) - 127) <= 1


def test_factory(settings: Settings, tmp_path: Path) -> None:
    assert make_client(settings) is None
    settings.vlm = [VLMEndpoint(profile="med-mantis", base_url="http://127.0.0.1:9/v1")]
    client = make_client(settings)
    assert isinstance(client, StrategyClient) and client.model == "med-mantis" and client.strategy == "auto"
    with pytest.raises(KeyError, match="configured: med-mantis"):
        make_client(settings, "lingshu-7b")


def test_tools_answer_through_the_context_client(settings: Settings, tmp_path: Path) -> None:
    registry = Registry("t")
    register(registry)
    spec = registry.get("vlm_answer")
    assert "MIMIR_VLM" in (spec.unavailable_reason(settings) or "")
    images = [CaseImage(path=str(p)) for p in retina_pngs(tmp_path, 2)]
    ctx = ToolContext(settings=settings, images=images)
    with pytest.raises(ToolUnavailable, match="no VLM configured"):
        spec.func(spec.input_model(image_indices=[0], question="q"), ctx)
    backend = RecordingBackend()
    ctx.vlm = StrategyClient(backend, get_profile("med-mantis"))
    out = spec.func(spec.input_model(image_indices=[1, 0], question="Stable?", options={"A": "no", "B": "yes"}), ctx)
    assert out.letter == "B" and out.image_indices == [1, 0]  # type: ignore[attr-defined]
    assert [v.source for v in backend.requests[0].visuals] == [images[1].path, images[0].path]
    with pytest.raises(ToolArgumentError, match="out of range"):
        spec.func(spec.input_model(image_indices=[5], question="q"), ctx)
    described = registry.get("vlm_describe").func(registry.get("vlm_describe").input_model(image_index=0), ctx)
    assert described.text == "seen 1"  # type: ignore[attr-defined]
