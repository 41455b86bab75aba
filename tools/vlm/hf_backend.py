"""Backend ``transformers``: a local Hugging Face VLM in process (LLaVA, Gemma 3, Qwen2.5-VL families).

Loads ``AutoModelForImageTextToText`` + ``AutoProcessor`` from a local folder, once, on first use,
and prompts through the model's own chat template. Closed questions are constrained to the option
letters by comparing the next-token logits of the letters (when each is one token).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimir.tools.vlm.base import ChatRequest, Generation, Usage, VLMRequestRejected

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


def resolve_device(device: str = "auto", dtype: str = "auto") -> tuple[str, torch.dtype]:
    """``auto``: CUDA when available; bfloat16 on a GPU, float32 on the CPU."""
    import torch

    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    if dtype == "auto":
        return dev, torch.bfloat16 if dev.startswith("cuda") else torch.float32
    return dev, getattr(torch, dtype)


class HFBackend:
    """A local transformers VLM; thread-safe, loaded lazily."""

    def __init__(self, model_path: Path, *, model: str | None = None, device: str = "auto", dtype: str = "auto") -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_dir():
            raise FileNotFoundError(
                f"VLM folder {self.model_path} does not exist; download the model on a connected machine "
                "(huggingface-cli download ... --local-dir DIR) and point MIMIR_VLM_LOCAL_MODEL at it")
        self.model = model or self.model_path.name
        self._device, self._dtype = device, dtype
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def load(self) -> tuple[Any, Any]:
        """(model, processor), loading them on first call."""
        with self._lock:
            if self._loaded is None:
                from transformers import AutoModelForImageTextToText, AutoProcessor

                device, dtype = resolve_device(self._device, self._dtype)
                log.info("loading %s on %s (%s)", self.model_path, device, dtype)
                processor = AutoProcessor.from_pretrained(self.model_path, local_files_only=True)
                net = AutoModelForImageTextToText.from_pretrained(self.model_path, dtype=dtype, local_files_only=True)
                self._loaded = (net.to(device).eval(), processor)  # type: ignore[arg-type]
        return self._loaded

    def inputs(self, request: ChatRequest) -> Any:
        """The processor's tensors for ``request`` (chat template applied), on the model's device."""
        net, processor = self.load()
        if any(v.kind == "volume" for v in request.visuals):
            raise VLMRequestRejected(f"{self.model} takes 2D images, not whole volumes", 400)
        user: list[dict[str, Any]] = [{"type": "image"} for _ in request.visuals]
        user.append({"type": "text", "text": request.text})
        messages = [{"role": "system", "content": [{"type": "text", "text": request.system}]},
                    {"role": "user", "content": user}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images = [v.pil() for v in request.visuals] or None
        batch = processor(text=text, images=images, return_tensors="pt")
        return batch.to(net.device, dtype=net.dtype) if images else batch.to(net.device)

    def logits(self, request: ChatRequest) -> torch.Tensor:
        """Next-token logits after the prompt (1-D, vocabulary size)."""
        import torch

        net, _ = self.load()
        with torch.inference_mode():
            return net(**self.inputs(request)).logits[0, -1].float()

    def _choice_tokens(self, choices: list[str]) -> list[int] | None:
        tok = self.load()[1].tokenizer
        ids = [tok.encode(c, add_special_tokens=False) for c in choices]
        return [i[0] for i in ids] if all(len(i) == 1 for i in ids) else None

    def generate(self, request: ChatRequest) -> Generation:
        """Greedy generation; a one-token choice among ``request.choices`` when given."""
        import torch

        net, processor = self.load()
        batch = self.inputs(request)
        n_prompt = int(batch["input_ids"].shape[1])
        token_ids = self._choice_tokens(request.choices) if request.choices else None
        with torch.inference_mode():
            if token_ids is not None and request.choices:  # token ids come from the choices
                logits = net(**batch).logits[0, -1]
                best = int(torch.argmax(logits[token_ids]))
                return Generation(text=request.choices[best], usage=Usage(prompt_tokens=n_prompt, completion_tokens=1))
            out = net.generate(**batch, max_new_tokens=request.max_tokens, do_sample=False)
        new = out[0, n_prompt:]
        text = processor.decode(new, skip_special_tokens=True)
        return Generation(text=text, usage=Usage(prompt_tokens=n_prompt, completion_tokens=int(new.shape[0])))

    def stream(self, request: ChatRequest) -> Iterator[str]:
        """Yield decoded pieces from a generation running in a worker thread."""
        from transformers import TextIteratorStreamer

        net, processor = self.load()
        batch = self.inputs(request)
        streamer = TextIteratorStreamer(processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(**batch, max_new_tokens=request.max_tokens, do_sample=False, streamer=streamer)
        worker = threading.Thread(target=net.generate, kwargs=kwargs, daemon=True)
        worker.start()
        for piece in streamer:
            if piece:
                yield piece
        worker.join()

    def count_prompt_tokens(self, request: ChatRequest) -> int:
        """Prompt tokens of ``request`` including image tokens."""
        return int(self.inputs(request)["input_ids"].shape[1])
