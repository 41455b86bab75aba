"""The ``totalsegmentator`` tool: TotalSegmentator's CT/MR whole-body models, offline only.

Weights are never downloaded: before running, the task's weight folders must exist under
``{totalseg_home}/nnunet/results`` (import them with ``totalseg_import_weights -i <zip>`` or copy
the unzipped folders there); otherwise the tool is unavailable and says which folder is missing.
Usage statistics are switched off in the home's ``config.json``. The model runs in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.analysis.imaging import load_image
from mimir.tools.framework.cache import InputHasher
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolCannotHandle, ToolUnavailable
from mimir.tools.framework.runner import FindingSpec

if TYPE_CHECKING:
    from mimir.settings import Settings
    from mimir.tools.framework.registry import Registry

log = logging.getLogger(__name__)
TaskName = Literal["total", "total_mr", "lung_vessels", "body", "cerebral_bleed", "hip_implant",
                   "pleural_pericard_effusion", "head_glands_cavities", "headneck_bones_vessels",
                   "liver_vessels", "body_mr", "vertebrae_mr", "ventricle_parts"]


def totalseg_home(settings: Settings) -> Path:
    """TOTALSEG_HOME_DIR: settings.totalseg_home, else TotalSegmentator's own default."""
    return settings.totalseg_home or Path.home() / ".totalsegmentator"


def weights_dir(settings: Settings) -> Path:
    """Where the nnU-Net weight folders live (TOTALSEG_WEIGHTS_PATH)."""
    return totalseg_home(settings) / "nnunet" / "results"


def required_folders(task: str, fast: bool, roi_subset: bool) -> list[str]:
    """Weight folder names TotalSegmentator needs for this call (model plus cropping model)."""
    from totalsegmentator.map_tasks_config import DEFAULT_CONFIG, TASK_CONFIGS, TASK_ID_WEIGHTS_CONFIGS

    if task not in TASK_CONFIGS:
        raise ToolCannotHandle(f"unknown TotalSegmentator task '{task}'")
    raw = TASK_CONFIGS[task]
    cfg: dict[str, Any] = {**DEFAULT_CONFIG, **(raw["sub_modes"]["fast" if fast else "default"]
                                                if "sub_modes" in raw else raw)}
    ids = cfg["task_id"] if isinstance(cfg["task_id"], list) else [cfg["task_id"]]
    if (cfg.get("crop") or roi_subset or cfg.get("cascade")) and cfg.get("crop_model") is None:
        ids.append(852 if task.endswith("_mr") else 298)
    folders = []
    for i in ids:
        info = TASK_ID_WEIGHTS_CONFIGS[i]
        folders.append(str(Path(info.get("rel_path") or "") / info["foldername"]))
    return folders


def missing_weights(settings: Settings, task: str, fast: bool, roi_subset: bool) -> str | None:
    """None when the weights are in place; else which folder is missing and how to add it."""
    root = weights_dir(settings)
    for folder in required_folders(task, fast, roi_subset):
        if not (root / folder).is_dir():
            return (f"TotalSegmentator weights for task '{task}'{' (fast)' if fast else ''} are not "
                    f"installed: missing folder {root / folder}. Import them offline with "
                    f"`TOTALSEG_HOME_DIR={totalseg_home(settings)} totalseg_import_weights -i <zip>` "
                    f"or copy the unzipped folder into {root}")
    return None


def _availability(settings: Settings) -> str | None:
    reasons = [missing_weights(settings, t, f, False) for t in ("total", "total_mr") for f in (True, False)]
    return None if any(r is None for r in reasons) else reasons[0]


def write_config(home: Path) -> None:
    """Switch usage statistics off in TotalSegmentator's config.json (kept otherwise)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.json"
    config = json.loads(path.read_text()) if path.is_file() else {"totalseg_id": "mimir", "prediction_counter": 0}
    config["send_usage_stats"] = False
    path.write_text(json.dumps(config, indent=2))


class TotalSegArgs(BaseModel):
    """Arguments of ``totalsegmentator``."""

    image_index: int = Field(description="Index of a 3D CT or MR case image (0-based)")
    task: TaskName = Field(default="total", description="'total' for CT, 'total_mr' for MR, or a subtask")
    fast: bool = Field(default=True, description="3 mm model: much faster, slightly less accurate")
    roi_subset: list[str] | None = Field(default=None, description="Only these structures, e.g. ['liver']")


class TotalSegResult(BaseModel):
    """Structures found, with voxel volumes, and the multilabel mask file."""

    image_index: int
    task: str
    mask_path: str
    shape: list[int]
    label_names: dict[int, str]
    volumes_ml: dict[str, float]
    findings: list[FindingSpec] = Field(default_factory=list)


def _check_image(args: TotalSegArgs, ctx: ToolContext) -> Path:
    case_image = ctx.image(args.image_index)
    image = load_image(case_image.path, case_image.modality)
    if image.dims != 3:
        raise ToolCannotHandle(f"TotalSegmentator needs a 3D CT or MR volume; {image.path.name} is {image.dims}D")
    want = "MR" if args.task.endswith("_mr") else "CT"
    if image.modality in ("CT", "MR") and image.modality != want:
        other = "total_mr" if image.modality == "MR" else "total"
        raise ToolCannotHandle(f"task '{args.task}' is for {want}; {image.path.name} is {image.modality} "
                               f"(use task '{other}')")
    return image.path


def _run_worker(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    home = totalseg_home(settings)
    env = {**os.environ, "TOTALSEG_HOME_DIR": str(home), "TOTALSEG_WEIGHTS_PATH": str(weights_dir(settings))}
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "request.json"
        request = {**request, "reply": str(Path(tmp) / "reply.json")}
        req.write_text(json.dumps(request))
        proc = subprocess.run([sys.executable, "-m", "mimir.tools.totalseg_worker", str(req)],
                              env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"TotalSegmentator failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        return dict(json.loads(Path(request["reply"]).read_text()))


def totalsegmentator(args: TotalSegArgs, ctx: ToolContext) -> TotalSegResult:
    """Segment anatomy in a 3D CT ('total', 117 structures) or MR ('total_mr') with TotalSegmentator.

    It returns the structures found with their volumes (mL) and the mask file.
    """
    path = _check_image(args, ctx)
    reason = missing_weights(ctx.settings, args.task, args.fast, bool(args.roi_subset))
    if reason:
        raise ToolUnavailable(reason)
    write_config(totalseg_home(ctx.settings))
    out_dir = ctx.artifacts_dir / "totalsegmentator" / args.task / InputHasher().hash(path)[:16]
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / ("seg_fast.nii.gz" if args.fast else "seg.nii.gz")
    device = "cpu" if ctx.settings.device == "cpu" else _gpu_or_cpu()
    reply = _run_worker(ctx.settings, {"input": str(path), "output": str(output), "task": args.task,
                                       "fast": args.fast, "roi_subset": args.roi_subset, "device": device})
    names = {int(k): v for k, v in reply["labels"].items() if int(k) != 0}
    import nibabel as nib

    img = nib.nifti1.load(output)
    mask = np.asarray(img.dataobj).astype(np.int32)
    voxel_ml = float(np.prod(img.header.get_zooms()[:3])) / 1000.0
    counts = np.bincount(mask.ravel(), minlength=max(names, default=0) + 1)
    volumes = {names[v]: round(float(counts[v]) * voxel_ml, 3) for v in names if v < len(counts) and counts[v]}
    return TotalSegResult(
        image_index=args.image_index, task=args.task, mask_path=str(output), shape=list(mask.shape),
        label_names=names, volumes_ml=volumes,
        findings=[FindingSpec(label=f"{k} volume", location=k, value=v, unit="mL",
                              image_indices=[args.image_index]) for k, v in volumes.items()],
    )


def _gpu_or_cpu() -> str:
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu"


def register(registry: Registry) -> None:
    """Add ``totalsegmentator`` to ``registry``."""
    registry.tool(
        totalsegmentator, version="2.18", modalities=("CT", "MR"), dims=(3,),
        requires=("totalsegmentator",), availability=_availability, tags=("expert", "segmentation"),
    )
