"""Evaluate a shipped (or freshly trained) expert on new demo samples, through the bundle itself.

Samples come from ``numpy.random.default_rng(seed)`` at 256x256, on anatomies the experts were
never trained on (sample pool ``EVAL_POOL``), are written as 8-bit PNG files
(what mimir hands the experts) and run through the bundle's own ``inference.json`` with MONAI's
``ConfigWorkflow``; the saved masks and ``predictions.csv`` are scored against the known labels.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from mimir.tools.experts.bundle import read_mask, read_predictions, run_bundle
from mimir.tools.experts.data import EVAL_POOL, RawSample, draw_raw
from mimir.tools.experts.train import PLANS, bundle_dir

#: Image size the evaluation samples are generated at (the demo's PNG size).
EVAL_SIZE = 256


class EvaluationReport(BaseModel):
    """Figures for one expert on ``n`` fresh samples drawn with ``seed``."""

    expert: str
    seed: int
    n: int
    metrics: dict[str, float] = Field(description="headline figures (Dice or accuracy)")
    per_group: dict[str, dict[str, float]] = Field(default_factory=dict, description="figures per contrast/class")


def training_seeds(bundle: Path) -> list[int]:
    """Seeds the bundle's weights were trained with (from ``models/training.json``)."""
    record = bundle / "models" / "training.json"
    if not record.exists():
        return []
    return [int(s) for s in json.loads(record.read_text()).get("training_seeds", [])]


def write_png(image: np.ndarray, path: Path) -> Path:
    """Save a [0, 1] float picture (H, W) or (H, W, 3) as an 8-bit PNG."""
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (1.0 when both are empty)."""
    total = int(pred.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * float(np.logical_and(pred, truth).sum()) / total


def _score_segmentation(samples: list[RawSample], masks: list[np.ndarray]) -> tuple[dict, dict]:
    whole: list[float] = []
    enh: list[float] = []
    labelwise: list[float] = []
    fp: list[bool] = []
    groups: dict[str, list[float]] = {}
    for s, mask in zip(samples, masks, strict=True):
        truth = np.asarray(s.target)
        pred = mask.T  # MONAI layout (columns, rows) back to the picture's (rows, columns)
        if truth.any():
            whole.append(dice(pred > 0, truth > 0))
            labelwise.append(float(np.mean([dice(pred == v, truth == v) for v in np.unique(truth[truth > 0])])))
            groups.setdefault(s.group, []).append(whole[-1])
            if (truth == 2).any():
                enh.append(dice(pred == 2, truth == 2))
        else:
            fp.append(bool((pred > 0).any()))
    metrics = {
        "dice_whole": float(np.mean(whole)) if whole else float("nan"),
        "slices_with_lesion": float(len(whole)),
        "lesion_free_slices": float(len(fp)),
        "false_positive_rate": float(np.mean(fp)) if fp else float("nan"),
    }
    if enh:
        metrics["dice_enhancing"] = float(np.mean(enh))
    if labelwise:
        metrics["dice_labelwise"] = float(np.mean(labelwise))  # each label scored on its own (no credit for the wrong one)
    per_group = {g: {"dice_whole": float(np.mean(v)), "n": float(len(v))} for g, v in groups.items()}
    return metrics, per_group


def _score_classification(samples: list[RawSample], probs: list[np.ndarray], labels: dict) -> tuple[dict, dict]:
    truth = np.asarray([int(s.target) for s in samples])
    pred = np.asarray([int(np.argmax(p)) for p in probs])
    per_group = {
        labels[str(c)]: {"accuracy": float(np.mean(pred[truth == c] == c)), "n": float((truth == c).sum())}
        for c in sorted(set(truth.tolist()))
    }
    return {"accuracy": float(np.mean(pred == truth))}, per_group


def evaluate_expert(name: str, seed: int, n: int = 100, bundle: Path | None = None, device: str = "cpu") -> EvaluationReport:
    """Score expert ``name`` on ``n`` fresh 256x256 samples from ``seed`` (never a training seed)."""
    bundle = bundle or bundle_dir(name)
    if seed in training_seeds(bundle):
        raise ValueError(f"Seed {seed} was used to train {name}; pick another (training seeds: {training_seeds(bundle)})")
    samples = draw_raw(name, np.random.default_rng(seed), n, (EVAL_SIZE,), pool=EVAL_POOL)[:n]
    with tempfile.TemporaryDirectory(prefix=f"mimir-eval-{name}-") as tmp:
        paths = [write_png(s.image, Path(tmp) / f"img{i:04d}.png") for i, s in enumerate(samples)]
        out = Path(tmp) / "out"
        run_bundle(bundle, paths, out, device=device)
        if PLANS[name].task == "segmentation":
            metrics, groups = _score_segmentation(samples, [read_mask(out, p) for p in paths])
        else:
            rows = read_predictions(out)
            labels = json.loads((bundle / "configs" / "metadata.json").read_text())["mimir"]["labels"]
            metrics, groups = _score_classification(samples, [rows[str(p)] for p in paths], labels)
    return EvaluationReport(expert=name, seed=seed, n=len(samples), metrics=metrics, per_group=groups)
