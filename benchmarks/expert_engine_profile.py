"""Where the CPU goes in ``segment`` work beside the network pass: per-image CPU time of each part.

Runs what ``segment_files`` runs for each batch of 16 fresh demo slices, one part after another on
one thread (torch on one thread too), and prints each part's CPU time per image (``thread_time``:
the time this thread ran, so other processes on the machine inflate it less than wall time):
reading and preprocessing, the network pass, the post transforms run on the batch and per image,
the pixels the tools measure (from the expert's read, or a second read), the NIfTI write and the
measurement. On 2 cores with the network using both, ``segment`` work cannot take less than about
``(network + the rest) / network`` times the bare network (``benchmarks/expert_engine.py``).

    .venv/bin/python benchmarks/expert_engine_profile.py [--images 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXPERT = "brain_mri_lesion_seg"


def profile(paths: list[Path], out: Path, repeats: int) -> dict[str, float]:
    """CPU milliseconds per image of each part of ``segment`` work, over ``repeats`` rounds after a warm one."""
    from monai.data import list_data_collate

    from mimir.tools.analysis.imaging import file_stem, image_data, load_image, write_mask
    from mimir.tools.bundles.engine import SOURCE, ExpertEngine, _inputs
    from mimir.tools.bundles.workflow import read_bundle
    from mimir.tools.experts.train import bundle_dir
    from mimir.tools.segment import image_mask, report_mask

    engine = ExpertEngine(read_bundle(bundle_dir(EXPERT)))
    spent: dict[str, float] = {}

    def timed(part: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.thread_time()
        result = fn(*args)
        spent[part] = spent.get(part, 0.0) + time.thread_time() - start
        return result

    def one_round() -> None:
        for s in range(0, len(paths) - 15, 16):
            chunk = paths[s : s + 16]
            items = [timed("read and preprocess", engine._prepare, p) for p in chunk]
            batch = timed("collate", list_data_collate, [_inputs(i) for i in items])
            logits = timed("network", engine.forward, batch["image"])
            outputs = timed("batch post", engine._batch_outputs, batch, logits, items)
            for path, item, (b, o, steps) in zip(chunk, items, outputs, strict=True):
                pred = timed("per-image post", engine._post_one, b, o, steps)
                source = item.get(SOURCE)
                image = timed("pixels to measure", lambda p=path, src=source: image_data(p, src.array, src.meta)
                              if src is not None else load_image(p))
                mask = image_mask(engine.bundle.name, pred, image)
                timed("NIfTI write", write_mask, mask, image.affine, out / f"{file_stem(path)}_seg.nii.gz")
                timed("measurement", report_mask, mask, image, engine.bundle.labels)

    one_round()
    spent.clear()
    for _ in range(repeats):
        one_round()
    n = repeats * 16 * (len(paths) // 16)
    figures = {f"{k} ms": round(1000 * v / n, 3) for k, v in spent.items()}
    rest = sum(v for k, v in spent.items() if k != "network")
    figures["all but the network ms"] = round(1000 * rest / n, 3)
    figures["floor on 2 cores (x network)"] = round((spent["network"] + rest) / spent["network"], 3)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Profile and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    from mimir.demo.synth import mri_slice_sample
    from mimir.tools.experts.evaluate import write_png

    torch.set_num_threads(1)
    rng = np.random.default_rng(20261202)  # the slices benchmarks/expert_engine.py times
    with tempfile.TemporaryDirectory(prefix="mimir-profile-") as tmp:
        root = Path(tmp)
        (root / "png").mkdir()
        paths = [write_png(mri_slice_sample(rng, size=256, pool=1)[0]["T1C"], root / "png" / f"s{i:03d}.png")
                 for i in range(max(16, args.images))]
        figures = profile(paths, root, args.repeats)
    json.dump(figures, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
