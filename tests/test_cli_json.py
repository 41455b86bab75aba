"""``--json`` output is one JSON document on stdout, even when MONAI bundles run underneath."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

MIMIR = str(Path(sys.executable).parent / "mimir")


def _mri_slice_png(path: Path) -> Path:
    """A generated brain MR slice as the demo writes it (a raw template slice is declined as unlike training)."""
    from mimir.demo.writers import write_png
    from mimir.tools.experts.data import draw_raw

    write_png(path, draw_raw("brain_mri_lesion_seg", np.random.default_rng(5), 1, (256,))[0].image)
    return path


def test_tools_run_json_is_clean_while_a_bundle_runs(tmp_path: Path) -> None:
    case = {"question": "Where is the lesion?", "images": [{"path": str(_mri_slice_png(tmp_path / "s.png")), "modality": "MR"}]}
    (tmp_path / "case.json").write_text(json.dumps(case))
    env = {**os.environ, "MIMIR_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([MIMIR, "tools", "run", "segment", "--case", str(tmp_path / "case.json"),
                          "--args", '{"image_index": 0}', "--json"], capture_output=True, text=True, env=env, check=True)
    result = json.loads(out.stdout)  # one document: no library notices mixed in
    assert "labels" in json.dumps(result)


def test_version_json() -> None:
    out = subprocess.run([MIMIR, "version"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["version"]
