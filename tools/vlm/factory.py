"""Build the configured VLM client from settings (or None when no VLM is configured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mimir.tools.vlm.base import Strategy, VLMClient
from mimir.tools.vlm.profiles import ModelProfile, generic_profile, load_profiles
from mimir.tools.vlm.strategies import StrategyClient

if TYPE_CHECKING:
    from mimir.settings import Settings, VLMEndpoint

NO_VLM = (
    "no VLM configured: set MIMIR_VLM='[{\"profile\": \"med-mantis\", \"base_url\": \"http://127.0.0.1:8000/v1\"}]' "
    "(an OpenAI-compatible server) or MIMIR_VLM_LOCAL_MODEL=/path/to/hf-model (transformers in process)"
)


def profile_for(name: str, fallback_name: str | None = None) -> ModelProfile:
    """The shipped profile ``name``, or a generic multi-image profile for unknown models."""
    profiles = load_profiles()
    return profiles[name] if name in profiles else generic_profile(fallback_name or name)


def _endpoint(settings: Settings, profile: str | None) -> VLMEndpoint | None:
    if not settings.vlm:
        return None
    if profile is None:
        return settings.vlm[0]
    for ep in settings.vlm:
        if ep.profile == profile:
            return ep
    return None


def make_client(settings: Settings, profile: str | None = None, strategy: Strategy | None = None) -> VLMClient | None:
    """The client for ``profile`` (default: the first configured VLM), or None when none is configured."""
    from mimir.tools.vlm.openai_backend import OpenAIBackend

    ep = _endpoint(settings, profile)
    if ep is not None:
        prof = profile_for(ep.profile)
        backend = OpenAIBackend(
            base_url=ep.base_url, model=ep.model or prof.served_name, api_key=ep.api_key, timeout_s=ep.timeout_s,
            max_concurrency=ep.max_concurrency, structured_outputs=prof.structured_outputs,
            local_media_path=ep.local_media_path,
        )
        return StrategyClient(backend, prof, strategy)
    local = settings.vlm_local_model
    if local is not None and profile in (None, settings.vlm_local_profile, local.name):
        from mimir.tools.vlm.hf_backend import HFBackend

        prof = profile_for(settings.vlm_local_profile or local.name)
        hf = HFBackend(local, model=prof.served_name, device=settings.device, dtype=settings.dtype)
        return StrategyClient(hf, prof, strategy)
    if profile is not None and (settings.vlm or local is not None):
        known = [ep.profile for ep in settings.vlm] + ([settings.vlm_local_profile or local.name] if local else [])
        raise KeyError(f"No VLM configured for profile {profile!r}; configured: {', '.join(known)}")
    return None


def unavailable_reason(settings: Settings) -> str | None:
    """None when a VLM is configured, else how to configure one."""
    return None if (settings.vlm or settings.vlm_local_model is not None) else NO_VLM
