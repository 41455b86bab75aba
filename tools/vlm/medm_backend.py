"""Backend ``medm_vl``: MedM-VL (2D-3B, CT-Chest-3B) through MedM-VL's own code (package ``lvlm``).

Neither vLLM nor transformers knows MedM-VL's ``LVLMForConditionalGeneration``; ``mimir serve-vlm``
loads it with the repository's code and serves it over the OpenAI-compatible API. The repository
has no pip package: clone it, ``pip install -r requirements.txt`` and put it on ``PYTHONPATH``.
This adapter follows the repository's ``lvlm/inference.py``; it needs a GPU and the real weights,
so only the ``gpu`` tests exercise it.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mimir.tools.vlm.base import ChatRequest, Generation, Usage, VLMRequestRejected
from mimir.tools.vlm.hf_backend import resolve_device

INSTALL_HINT = (
    "MedM-VL's code is not installed: pip install -r requirements.txt from its repository "
    "(git clone https://github.com/MSIIP/MedM-VL) and add the clone to PYTHONPATH so that "
    "`import lvlm` works"
)


def medm_available() -> str | None:
    """None when MedM-VL's package ``lvlm`` is importable, else how to install it."""
    return None if importlib.util.find_spec("lvlm") is not None else INSTALL_HINT


class MedMVLBackend:
    """MedM-VL loaded by its own code; one image or one CT volume per request."""

    def __init__(self, model_path: Path, *, model: str, device: str = "auto", dtype: str = "auto") -> None:
        reason = medm_available()
        if reason:
            raise ModuleNotFoundError(reason)
        self.model_path, self.model = Path(model_path), model
        self._device, self._dtype = device, dtype
        self._lock = threading.Lock()
        self._net: Any = None

    def load(self) -> Any:
        """The model, loaded once."""
        with self._lock:
            if self._net is None:
                from lvlm.model.modeling_lvlm import LVLMForConditionalGeneration

                device, dtype = resolve_device(self._device, self._dtype)
                net = LVLMForConditionalGeneration.from_pretrained(str(self.model_path))
                self._net = net.to(dtype=dtype, device=device).eval()
        return self._net

    def _inputs(self, request: ChatRequest) -> dict[str, Any]:
        import torch
        from lvlm.utils.constants import IMAGE3D_TOKEN_ID, IMAGE_TOKEN_ID

        net = self.load()
        if len(request.visuals) > 1:
            raise VLMRequestRejected("At most 1 image(s) may be provided in one prompt.", 400)
        image = image3d = None
        ids: list[int] = []
        if request.visuals:
            v = request.visuals[0]
            if v.kind == "volume":
                vol = torch.from_numpy(np.asarray(v.volume, dtype=np.float32) / 255.0)
                image3d = vol[None, None].to(net.device, net.dtype)  # (B, C, D, H, W)
                ids.append(IMAGE3D_TOKEN_ID)
            else:
                processor = getattr(net.encoder_image, "image_processor", None) or net.encoder_image.processor
                pixels = processor(v.pil(), return_tensors="pt")["pixel_values"]
                image = pixels.to(net.device, net.dtype)
                ids.append(IMAGE_TOKEN_ID)
        tok = net.tokenizer
        chat = [{"role": "system", "content": request.system}, {"role": "user", "content": request.text}]
        ids += tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
        input_ids = torch.tensor([ids], device=net.device)
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids, dtype=torch.bool),
                "image": image, "image3d": image3d}

    def generate(self, request: ChatRequest) -> Generation:
        """Greedy generation (MedM-VL's ``generate`` returns only new tokens: it runs on embeddings)."""
        import torch

        net = self.load()
        batch = self._inputs(request)
        with torch.inference_mode():
            out = net.generate(**batch, max_new_tokens=request.max_tokens, do_sample=False,
                               pad_token_id=net.tokenizer.pad_token_id, eos_token_id=net.tokenizer.eos_token_id)
        text = net.tokenizer.decode(out[0], skip_special_tokens=True)
        return Generation(text=text, usage=Usage(prompt_tokens=int(batch["input_ids"].shape[1]),
                                                 completion_tokens=int(out.shape[1])))

    def stream(self, request: ChatRequest) -> Iterator[str]:
        """MedM-VL's generate does not stream: yield the whole answer once."""
        yield self.generate(request).text
