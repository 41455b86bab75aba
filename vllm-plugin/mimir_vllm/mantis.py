"""Mantis-SigLIP-Llama3 (and Med-Mantis) on current vLLM.

The checkpoints are plain LLaVA weights (SigLIP tower, two-layer projector, Llama 3); what makes
Mantis Mantis is its processor (``MLlavaProcessor`` in TIGER-AI-Lab/Mantis), which names every
image in the prompt: each ``<image>`` becomes ``(image {i}: <Image><image></Image>)`` before the
image token is expanded to the tower's feature count. vLLM served this until 0.24.0; here the
same prompt layout is rebuilt on vLLM's current LLaVA model and multimodal processor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vllm.model_executor.models.llava import (
    LlavaDummyInputsBuilder,
    LlavaForConditionalGeneration,
    LlavaMultiModalProcessor,
    LlavaProcessingInfo,
)
from vllm.multimodal import MULTIMODAL_REGISTRY
from vllm.multimodal.inputs import MultiModalKwargsItems
from vllm.multimodal.parse import ImageProcessorItems, MultiModalDataItems
from vllm.multimodal.processing import PromptReplacement, PromptUpdate, PromptUpdateDetails
from vllm.multimodal.processing.processor import ResolvedPromptUpdate


def image_label(index: int) -> tuple[str, str]:
    """Text Mantis puts before and after the features of image ``index`` (0-based)."""
    return f"(image {index + 1}: <Image>", "</Image>)"


class MantisMultiModalProcessor(LlavaMultiModalProcessor):
    """LLaVA's processor with Mantis' image labels around each image's feature tokens.

    The label depends on the image's place in the prompt, so an update taken from vLLM's processor
    cache (made when the same image held another place, or was processed apart from the others) is
    relabelled for its new place.
    """

    def _labelled(self, item_idx: int, n_features: int) -> PromptUpdateDetails[list[int]]:
        """Image ``item_idx``'s tokens: its label around ``n_features`` image tokens."""
        image_token_id = self.info.get_hf_config().image_token_index
        tokenizer = self.info.get_tokenizer()
        head, tail = (tokenizer.encode(t, add_special_tokens=False) for t in image_label(item_idx))
        return PromptUpdateDetails.select_token_id([*head, *([image_token_id] * n_features), *tail], image_token_id)

    def _get_prompt_updates(
        self,
        mm_items: MultiModalDataItems,
        hf_processor_mm_kwargs: Mapping[str, object],
        out_mm_kwargs: MultiModalKwargsItems,
    ) -> Sequence[PromptUpdate]:
        image_token_id = self.info.get_hf_config().image_token_index

        def labelled(item_idx: int) -> PromptUpdateDetails[list[int]]:
            images = mm_items.get_items("image", ImageProcessorItems)
            size = images.get_image_size(item_idx)
            n = self.info.get_num_image_tokens(image_width=size.width, image_height=size.height)
            return self._labelled(item_idx, n)

        return [PromptReplacement(modality="image", target=[image_token_id], replacement=labelled)]

    def _recompute_cached_prompt_update(
        self, cached_update: ResolvedPromptUpdate, new_item_idx: int
    ) -> ResolvedPromptUpdate:
        update = super()._recompute_cached_prompt_update(cached_update, new_item_idx)
        if update.modality != "image":
            return update
        image_token_id = self.info.get_hf_config().image_token_index
        n_features = cached_update.content.full.count(image_token_id)
        return update.with_content(self._labelled(new_item_idx, n_features))


@MULTIMODAL_REGISTRY.register_processor(
    MantisMultiModalProcessor, info=LlavaProcessingInfo, dummy_inputs=LlavaDummyInputsBuilder
)
class MantisForConditionalGeneration(LlavaForConditionalGeneration):
    """LLaVA's model with Mantis' processor (weights and forward pass are LLaVA's)."""
