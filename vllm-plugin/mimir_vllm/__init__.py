"""mimir's vLLM plug-in: registers MedM-VL and Mantis with vLLM's model registry.

vLLM calls :func:`register` in every process it starts (entry point group
``vllm.general_plugins``). Registration by "module:Class" string keeps it lazy: nothing heavy is
imported until vLLM loads one of these architectures.
"""

from __future__ import annotations

ARCHITECTURES = {
    # MedM-VL (github.com/MSIIP/MedM-VL): SigLIP + MLP connector + Qwen2.5, config model_type "lvlm".
    "LVLMForConditionalGeneration": "mimir_vllm.medm_vl:MedMVLForConditionalGeneration",
    # Mantis-8B-siglip-llama3 and Med-Mantis: LLaVA weights, Mantis' per-image prompt wrapping.
    "MantisForConditionalGeneration": "mimir_vllm.mantis:MantisForConditionalGeneration",
}


def register() -> None:
    """Register mimir's architectures and MedM-VL's config class (idempotent)."""
    from vllm import ModelRegistry

    from mimir_vllm.medm_config import register_config

    register_config()
    supported = set(ModelRegistry.get_supported_archs())
    for arch, target in ARCHITECTURES.items():
        if arch not in supported:
            ModelRegistry.register_model(arch, target)
