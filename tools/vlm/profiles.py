"""Model profiles as data: ``prompts/models.yaml`` loaded into validated pydantic models."""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mimir.tools.vlm.base import Strategy


class VLLMService(BaseModel):
    """How to run the profile under vLLM's OpenAI-compatible server."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(description="Docker image, pinned by tag")
    max_version: str | None = Field(default=None, description="Newest vLLM that still serves it")
    gpu_memory_gb: int = 24
    chat_template: str | None = Field(default=None, description="--chat-template path in the container")
    args: list[str] = Field(default_factory=list, description="Extra flags, e.g. --hf_overrides")


class VolumeSpec(BaseModel):
    """A 3D-native model's input volume: shape (D, H, W) and HU window."""

    model_config = ConfigDict(extra="forbid")

    shape: tuple[int, int, int] = (32, 256, 256)
    hu_min: float = -1000.0
    hu_max: float = 1000.0


class ModelProfile(BaseModel):
    """Everything mimir knows about one served model."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    served_name: str
    hf_repo: str | None = None
    backend: Literal["openai", "transformers", "medm_vl"]
    kind: Literal["vlm", "planner"] = "vlm"
    images_trained: int = Field(ge=0)
    images_accepted: int = Field(ge=0)
    image_tokens: int = Field(ge=0, description="Prompt tokens per image")
    context_length: int = Field(gt=0)
    default_strategy: Strategy = "auto"
    structured_outputs: bool = False
    system_prompt: str | None = None
    chat_template_notes: str | None = None
    serve_vlm: bool = Field(default=False, description="Served by `mimir serve-vlm`, not vLLM")
    gpu_memory_gb: int | None = None
    vllm: VLLMService | None = None
    volume: VolumeSpec | None = Field(default=None, description="Set for 3D-native models")
    slices_per_volume: int = Field(default=4, ge=1, description="Slices sent to 2D models per 3D volume")
    max_new_tokens: int = 512

    @model_validator(mode="after")
    def _consistent(self) -> ModelProfile:
        if self.kind == "vlm" and self.images_accepted < 1:
            raise ValueError(f"profile {self.name!r}: a VLM must accept at least one image")
        if self.serve_vlm == (self.vllm is not None) and self.kind == "vlm":
            raise ValueError(f"profile {self.name!r}: give exactly one of `vllm:` or `serve_vlm: true`")
        return self

    def images_fit(self, n_images: int, prompt_tokens: int, answer_tokens: int = 64) -> bool:
        """True when ``n_images`` may go in one request and fit the context with the prompt."""
        budget = n_images * self.image_tokens + prompt_tokens + answer_tokens
        return n_images <= self.images_accepted and budget <= self.context_length


def _default_path() -> Path:
    return Path(str(importlib.resources.files("mimir.prompts").joinpath("models.yaml")))


def load_profiles(path: Path | None = None) -> dict[str, ModelProfile]:
    """All profiles in ``path`` (default: the shipped ``prompts/models.yaml``), by name."""
    if path is None:
        return dict(_cached_default())
    return _load(path)


@functools.cache
def _cached_default() -> dict[str, ModelProfile]:
    return _load(_default_path())


def _load(path: Path) -> dict[str, ModelProfile]:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of profile name -> profile")
    return {name: ModelProfile.model_validate({**body, "name": name}) for name, body in raw.items()}


def get_profile(name: str) -> ModelProfile:
    """The shipped profile called ``name``, or a KeyError listing the known ones."""
    profiles = load_profiles()
    if name not in profiles:
        raise KeyError(f"Unknown model profile {name!r}; known profiles: {', '.join(sorted(profiles))}")
    return profiles[name]


def generic_profile(name: str, images_accepted: int = 8, context_length: int = 8192) -> ModelProfile:
    """A profile for a model not in models.yaml (e.g. a local checkpoint): multi-image, no constraints."""
    return ModelProfile(
        name=name, served_name=name, backend="transformers", images_trained=images_accepted,
        images_accepted=images_accepted, image_tokens=0, context_length=context_length, serve_vlm=True,
    )
