"""PNG plots of run summaries (matplotlib with the Agg backend, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mimir.evals.scoring import GroupSummary


def _pyplot() -> Any:  # the matplotlib.pyplot module, loaded with the Agg backend
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(labels: list[str], groups: Sequence[Mapping[Any, GroupSummary]],
          title: str, xlabel: str, path: Path) -> Path:
    """Grouped bars (one colour per run) with 95% interval error bars."""
    plt = _pyplot()
    names = list(dict.fromkeys(k for g in groups for k in g))
    x = np.arange(len(names))
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) * max(1, len(labels)) * 0.6), 4.0))
    for i, (label, g) in enumerate(zip(labels, groups, strict=True)):
        acc = [v if n in g and (v := g[n].accuracy) is not None else np.nan for n in names]
        low = [a - lo if n in g and (lo := g[n].ci_low) is not None else 0 for n, a in zip(names, acc, strict=True)]
        high = [hi - a if n in g and (hi := g[n].ci_high) is not None else 0 for n, a in zip(names, acc, strict=True)]
        ax.bar(x + i * width - 0.4 + width / 2, acc, width, yerr=[low, high], capsize=3, label=label)
    ax.set_xticks(x, [str(n) for n in names])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (closed items)")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_subsets(labels: list[str], groups: list[dict[str, GroupSummary]], path: Path) -> Path:
    """Accuracy per subset with intervals, runners side by side."""
    return _bars(labels, groups, "Accuracy per subset (95% bootstrap CI)", "subset", path)


def plot_options(labels: list[str], groups: list[dict[int, GroupSummary]], path: Path) -> Path:
    """Accuracy by number of options."""
    return _bars(labels, groups, "Accuracy by number of options", "options", path)


def plot_latency(labels: list[str], latencies: list[list[float]], path: Path) -> Path:
    """Per-item latency distribution per run (box plot, log scale when spread is wide)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    data = [v if v else [0.0] for v in latencies]
    ax.boxplot(data, tick_labels=labels, showfliers=True)
    positive = [x for v in data for x in v if x > 0]
    if positive and max(positive) / max(min(positive), 1e-9) > 100:
        ax.set_yscale("log")
    ax.set_ylabel("seconds per item")
    ax.set_title("Latency per item")
    plt.setp(ax.get_xticklabels(), rotation=15, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
