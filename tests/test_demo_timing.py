"""Build time of a 50-patient demo set (reported, loosely bounded; run with ``-m slow``)."""

from __future__ import annotations

import logging
import os
import time

import pytest

from mimir.demo.build import build_demo

log = logging.getLogger(__name__)


@pytest.mark.slow
def test_fifty_patients_build_time(tmp_path):
    cpu0, wall0 = os.times(), time.perf_counter()
    result = build_demo(tmp_path / "demo", patients=50, seed=0, workers=2)
    cpu1, wall = os.times(), time.perf_counter() - wall0
    cpu = (cpu1.user - cpu0.user) + (cpu1.children_user - cpu0.children_user) + (cpu1.system - cpu0.system) + (
        cpu1.children_system - cpu0.children_system)
    log.warning("50 demo patients: %.1f s wall, %.1f s CPU (%d images, %d question files)",
                wall, cpu, result.images, len(result.files))
    assert result.patients == 50 and all(f.items > 0 for f in result.files)
    assert cpu < 240  # generous: about 90 s of CPU on an idle two-core machine
