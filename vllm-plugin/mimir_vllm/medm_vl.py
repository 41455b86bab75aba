"""MedM-VL (2D) on vLLM: SigLIP encoder -> MLP connector -> Qwen2.5, from its released checkpoint.

Follows MedM-VL's ``LVLMForConditionalGeneration`` (github.com/MSIIP/MedM-VL, lvlm/model): each image
goes through the SigLIP tower, ``hidden_states[select_layer]`` is taken with every token
("cls_patch"), the ``mlpNx_gelu`` connector maps it to the LLM's width, and the features replace the
image's place in the prompt, with nothing around them. MedM-VL marks that place with id -200; vLLM
needs a real token, so the prompt holds Qwen's ``<|image_pad|>`` (one per image, expanded here to
the feature count) and its embedding is never used. Checkpoint keys are read as released:
``llm.*``, ``encoder_image.encoder.vision_model.*``, ``connector_image.connector.{0,2,...}.*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from transformers import BatchFeature, SiglipImageProcessor
from vllm.config import VllmConfig
from vllm.model_executor.models.interfaces import MultiModalEmbeddings, SupportsMultiModal, SupportsPP
from vllm.model_executor.models.siglip import SiglipVisionModel
from vllm.model_executor.models.utils import AutoWeightsLoader, init_vllm_registered_model, maybe_prefix
from vllm.multimodal import MULTIMODAL_REGISTRY
from vllm.multimodal.inputs import MultiModalFieldConfig, MultiModalKwargsItems
from vllm.multimodal.parse import MultiModalDataItems
from vllm.multimodal.processing import (
    BaseDummyInputsBuilder,
    BaseMultiModalProcessor,
    BaseProcessingInfo,
    PromptReplacement,
    PromptUpdate,
)

from mimir_vllm.medm_config import MedMVLConfig

PLACEHOLDER = "<|image_pad|>"


class MedMVLProcessingInfo(BaseProcessingInfo):
    """Token counts and the image processor, all derived from the checkpoint's config."""

    def get_hf_config(self) -> MedMVLConfig:
        """The checkpoint's config as :class:`MedMVLConfig`."""
        return self.ctx.get_hf_config(MedMVLConfig)

    def get_supported_mm_limits(self) -> Mapping[str, int | None]:
        """Any number of images (the server's --limit-mm-per-prompt decides)."""
        return {"image": None}

    def get_supported_mm_processor_kwargs(self) -> dict[str, set[str]]:
        """No processor options: MedM-VL's preprocessing is fixed."""
        return {"text_kwargs": set(), "images_kwargs": set()}

    def num_image_tokens(self) -> int:
        """Features per image: every patch (SigLIP has no CLS token), fewer one for "patch"."""
        vision = self.get_hf_config().vision_config
        patches = (vision.image_size // vision.patch_size) ** 2
        return patches - 1 if self.get_hf_config().feature_strategy == "default" else patches

    def get_mm_max_tokens_per_item(self, seq_len: int, mm_counts: Mapping[str, int]) -> Mapping[str, int]:
        """Every image costs the same number of tokens."""
        return {"image": self.num_image_tokens()}

    def image_processor(self) -> SiglipImageProcessor:
        """SigLIP's preprocessing at the tower's size: bicubic resize, [0, 1], mean 0.5, std 0.5."""
        size = self.get_hf_config().vision_config.image_size
        return SiglipImageProcessor(size={"height": size, "width": size}, resample=3, image_mean=[0.5] * 3,
                                    image_std=[0.5] * 3)

    def placeholder_id(self) -> int:
        """The token id that marks an image's place (``<|image_pad|>`` in Qwen's vocabulary)."""
        tokenizer = self.get_tokenizer()
        token_id = tokenizer.convert_tokens_to_ids(PLACEHOLDER)
        if token_id is None or token_id == getattr(tokenizer, "unk_token_id", None):
            raise ValueError(f"MedM-VL: the tokenizer has no {PLACEHOLDER} token to mark images with")
        return int(token_id)


class MedMVLDummyInputsBuilder(BaseDummyInputsBuilder[MedMVLProcessingInfo]):
    """Profiling inputs: one placeholder per image and images at the tower's size."""

    def get_dummy_text(self, mm_counts: Mapping[str, int]) -> str:
        """One placeholder per image."""
        return PLACEHOLDER * mm_counts.get("image", 0)

    def get_dummy_mm_data(self, seq_len: int, mm_counts: Mapping[str, int], mm_options: Any) -> dict[str, Any]:
        """Blank images at the tower's size, for memory profiling."""
        size = self.info.get_hf_config().vision_config.image_size
        overrides = mm_options.get("image") if mm_options else None
        return {"image": self._get_dummy_images(width=size, height=size, num_images=mm_counts.get("image", 0),
                                                overrides=overrides)}


class MedMVLMultiModalProcessor(BaseMultiModalProcessor[MedMVLProcessingInfo]):
    """Pixels from SigLIP's processor; each placeholder becomes one token per image feature."""

    def _call_hf_processor(self, hf_data: Mapping[str, object], hf_kwargs: Mapping[str, object]) -> BatchFeature:
        images = hf_data.get("images") or []
        pixels = self.info.image_processor()(images, return_tensors="pt")["pixel_values"]
        return BatchFeature({"pixel_values": pixels})

    def _get_mm_fields_config(
        self, hf_inputs: BatchFeature, hf_processor_mm_kwargs: Mapping[str, object]
    ) -> Mapping[str, MultiModalFieldConfig]:
        return {"pixel_values": MultiModalFieldConfig.batched("image")}

    def _get_prompt_updates(
        self, mm_items: MultiModalDataItems, hf_processor_mm_kwargs: Mapping[str, object],
        out_mm_kwargs: MultiModalKwargsItems,
    ) -> Sequence[PromptUpdate]:
        pad = self.info.placeholder_id()
        return [PromptReplacement(modality="image", target=[pad], replacement=[pad] * self.info.num_image_tokens())]


class MedMVLConnector(nn.Module):
    """MedM-VL's ``mlpNx_gelu`` connector: Linear, then (GELU, Linear) N-1 times."""

    def __init__(self, name: str, in_dim: int, out_dim: int) -> None:
        super().__init__()
        match = re.fullmatch(r"mlp(\d+)x_gelu", name or "")
        if match is None:
            raise ValueError(f"MedM-VL connector {name!r} is not supported (mlpNx_gelu only)")
        depth = int(match.group(1))
        self.linears = nn.ModuleList([nn.Linear(in_dim if i == 0 else out_dim, out_dim) for i in range(depth)])
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``mlpNx_gelu``: Linear, then (GELU, Linear) N-1 times."""
        for i, linear in enumerate(self.linears):
            x = linear(self.act(x) if i else x)
        return x


def vllm_name(name: str) -> str:
    """Released MedM-VL key -> this module's parameter name."""
    if name.startswith("llm."):
        return "language_model." + name[len("llm."):]
    if name.startswith("encoder_image.encoder."):
        return "vision_tower." + name[len("encoder_image.encoder."):]
    if m := re.match(r"connector_image\.connector\.(\d+)\.(.+)", name):
        return f"connector.linears.{int(m.group(1)) // 2}.{m.group(2)}"
    return name


@MULTIMODAL_REGISTRY.register_processor(
    MedMVLMultiModalProcessor, info=MedMVLProcessingInfo, dummy_inputs=MedMVLDummyInputsBuilder
)
class MedMVLForConditionalGeneration(nn.Module, SupportsMultiModal, SupportsPP):
    """MedM-VL-2D (``LVLMForConditionalGeneration`` with a SigLIP image encoder) for vLLM."""

    @classmethod
    def get_placeholder_str(cls, modality: str, i: int) -> str | None:
        """The text that vLLM inserts in the prompt for each image part of a chat message."""
        if modality.startswith("image"):
            return PLACEHOLDER
        raise ValueError("MedM-VL takes images only")

    def __init__(self, *, vllm_config: VllmConfig, prefix: str = "") -> None:
        super().__init__()
        config: MedMVLConfig = vllm_config.model_config.hf_config
        self.config = config
        quant_config = vllm_config.quant_config
        with self._mark_tower_model(vllm_config, "image"):
            self.vision_tower = SiglipVisionModel(
                config.vision_config, quant_config, num_hidden_layers_override=config.vision_layers(),
                require_post_norm=False, use_head=False, prefix=maybe_prefix(prefix, "vision_tower"))
            self.connector = MedMVLConnector(config.lvlm_connector_image_name, config.vision_config.hidden_size,
                                             config.text_config.hidden_size)
        with self._mark_language_model(vllm_config):
            self.language_model = init_vllm_registered_model(
                vllm_config=vllm_config, hf_config=config.text_config, prefix=maybe_prefix(prefix, "language_model"),
                architectures=config.text_config.architectures)
        self.make_empty_intermediate_tensors = self.language_model.make_empty_intermediate_tensors

    def embed_multimodal(self, **kwargs: object) -> MultiModalEmbeddings:
        """One (tokens, hidden) tensor per image: tower -> selected layer -> connector."""
        pixel_values = kwargs.pop("pixel_values", None)
        if pixel_values is None:
            return []
        if isinstance(pixel_values, list):
            pixel_values = torch.stack(pixel_values)
        dtype = self.vision_tower.vision_model.dtype
        features = self.vision_tower(pixel_values.to(dtype), feature_select_strategy=self.config.feature_strategy)
        return list(self.connector(features).unbind(0))

    def forward(self, input_ids: torch.Tensor | None, positions: torch.Tensor, intermediate_tensors: Any = None,
                inputs_embeds: torch.Tensor | None = None, **kwargs: object) -> torch.Tensor:
        """The language model over merged text and image embeddings."""
        if intermediate_tensors is not None:
            inputs_embeds = None
        return self.language_model.model(input_ids, positions, intermediate_tensors, inputs_embeds=inputs_embeds)

    def compute_logits(self, hidden_states: torch.Tensor) -> torch.Tensor | None:
        """Next-token logits from the language model's head."""
        return self.language_model.compute_logits(hidden_states)

    def load_weights(self, weights: Iterable[tuple[str, torch.Tensor]]) -> set[str]:
        """Load the released checkpoint's tensors under this module's names."""
        loader = AutoWeightsLoader(self)  # the tower drops SigLIP's unused head and post-norm itself
        return loader.load_weights((vllm_name(n), w) for n, w in weights)
