"""Shared fixtures: a fresh embedded-default Settings per test, real data files that packages ship."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimir.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults (SQLite file, local folders) under a per-test data dir."""
    return Settings(data_dir=tmp_path / "mimir-data").ensure_dirs()


# Real vLLM servers (tests/test_vlm_vllm_*.py): one session-scoped fixture, so each starts once.
from fixtures.vllm_models import served  # noqa: E402, F401
