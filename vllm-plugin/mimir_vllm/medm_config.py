"""MedM-VL's configuration (``model_type: lvlm``) for vLLM, read from a released checkpoint unchanged.

A released MedM-VL ``config.json`` names its language model and image encoder by Hugging Face id
(``lvlm_llm_name_or_path: Qwen/Qwen2.5-3B-Instruct``, ``lvlm_encoder_image_name_or_path:
google/siglip-base-patch16-256-multilingual``) instead of holding their configs. Each is resolved,
in order, from: a local folder with that name (absolute, or relative to the working directory, as
MedM-VL's own code does), the configs of the released models shipped here (so an offline GPU host
needs nothing else), then the Hugging Face cache.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from transformers import AutoConfig, PretrainedConfig, Qwen2Config, SiglipVisionConfig

LLM_ARCHITECTURES = {"qwen2": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM", "llama3": "LlamaForCausalLM",
                     "phi": "PhiForCausalLM", "phi3": "Phi3ForCausalLM"}
#: MedM-VL's select_feature: "cls_patch" keeps every token, "patch" drops the first (CLS) one.
FEATURE_STRATEGY = {"cls_patch": "full", "patch": "default"}


def _known(name: str) -> dict[str, Any] | None:
    path = resources.files("mimir_vllm").joinpath("known_configs", name.replace("/", "--") + ".json")
    return json.loads(path.read_text()) if path.is_file() else None


def resolve_config(name: str | None) -> dict[str, Any]:
    """The config dict of the sub-model ``name`` (see the module docstring for the search order)."""
    if not name:
        raise ValueError("MedM-VL config: a sub-model path is missing (lvlm_llm_name_or_path / "
                         "lvlm_encoder_image_name_or_path)")
    local = Path(name).expanduser()
    if (local / "config.json").is_file():
        return json.loads((local / "config.json").read_text())
    known = _known(name)
    if known is not None:
        return known
    return AutoConfig.from_pretrained(name).to_dict()


def vision_config(name: str | None) -> SiglipVisionConfig:
    """The SigLIP vision config (a full SigLIP config contributes its ``vision_config``)."""
    raw = resolve_config(name)
    raw = raw.get("vision_config", raw)
    return SiglipVisionConfig(**{k: v for k, v in raw.items() if k not in ("model_type", "architectures")})


def text_config(name: str | None, llm_type: str | None) -> PretrainedConfig:
    """The language model's config, with its vLLM architecture set."""
    raw = resolve_config(name)
    if llm_type not in LLM_ARCHITECTURES:
        raise ValueError(f"MedM-VL LLM type {llm_type!r} is not supported; known: {', '.join(LLM_ARCHITECTURES)}")
    raw = {**raw, "architectures": [LLM_ARCHITECTURES[llm_type]]}
    if raw.get("model_type") == "qwen2":
        return Qwen2Config(**{k: v for k, v in raw.items() if k != "model_type"})
    return AutoConfig.for_model(**raw)


class MedMVLConfig(PretrainedConfig):
    """MedM-VL's ``LVLMConfig`` fields, plus the resolved ``text_config`` and ``vision_config``."""

    model_type = "lvlm"
    sub_configs = {"text_config": PretrainedConfig, "vision_config": SiglipVisionConfig}

    def __init__(self, text_config: Any = None, vision_config: Any = None, **kwargs: Any) -> None:
        lvlm = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("lvlm_")}
        for key, value in lvlm.items():
            setattr(self, key, value)
        if lvlm.get("lvlm_encoder_image3d_type") is not None:
            raise ValueError("MedM-VL with a 3D encoder (M3D-CLIP, MedM-CLIP-CT) is not supported by mimir-vllm; "
                             "serve it with `mimir serve-vlm`")
        if lvlm.get("lvlm_llm_type") is not None:
            self.text_config = (text_config if isinstance(text_config, PretrainedConfig)
                                else text_config_from(text_config, lvlm))
            self.vision_config = (vision_config if isinstance(vision_config, PretrainedConfig)
                                  else vision_config_from(vision_config, lvlm))
        super().__init__(**kwargs)

    @property
    def feature_strategy(self) -> str:
        """VLLM's vision feature selection strategy for this checkpoint."""
        select = getattr(self, "lvlm_encoder_image_select_feature", "cls_patch")
        if select not in FEATURE_STRATEGY:
            raise ValueError(f"MedM-VL select_feature {select!r} is not supported; known: {', '.join(FEATURE_STRATEGY)}")
        return FEATURE_STRATEGY[select]

    def vision_layers(self) -> int:
        """Encoder layers to run: MedM-VL reads ``hidden_states[select_layer]`` (embeddings are index 0)."""
        layer = int(getattr(self, "lvlm_encoder_image_select_layer", -1))
        total = int(self.vision_config.num_hidden_layers)
        return layer if layer >= 0 else total + 1 + layer


def text_config_from(raw: Any, lvlm: dict[str, Any]) -> PretrainedConfig:
    """``text_config`` from a serialised dict, else resolved from ``lvlm_llm_name_or_path``."""
    if isinstance(raw, dict):
        return text_config_dict(raw, lvlm.get("lvlm_llm_type"))
    return text_config(lvlm.get("lvlm_llm_name_or_path"), lvlm.get("lvlm_llm_type"))


def text_config_dict(raw: dict[str, Any], llm_type: str | None) -> PretrainedConfig:
    """A text config rebuilt from its dict (a config that vLLM serialised and reloads)."""
    raw = {**raw, "architectures": raw.get("architectures") or [LLM_ARCHITECTURES.get(llm_type or "", "")]}
    return AutoConfig.for_model(**raw)


def vision_config_from(raw: Any, lvlm: dict[str, Any]) -> SiglipVisionConfig:
    """``vision_config`` from a serialised dict, else resolved from ``lvlm_encoder_image_name_or_path``."""
    if lvlm.get("lvlm_encoder_image_type") != "siglip":
        raise ValueError(f"MedM-VL image encoder {lvlm.get('lvlm_encoder_image_type')!r} is not supported "
                         "by mimir-vllm (SigLIP only, as in the released MedM-VL-2D)")
    if isinstance(raw, dict):
        return SiglipVisionConfig(**{k: v for k, v in raw.items() if k not in ("model_type", "architectures")})
    return vision_config(lvlm.get("lvlm_encoder_image_name_or_path"))


def register_config() -> None:
    """Make ``AutoConfig`` read ``model_type: lvlm`` folders as :class:`MedMVLConfig` (idempotent)."""
    try:
        AutoConfig.register("lvlm", MedMVLConfig)
    except ValueError:  # already registered in this process
        pass
