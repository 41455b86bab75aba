"""How often a segmenter's masks give the right change between visits on unseen demo patients.

Builds chest-radiograph (``--kind cxr``, the chest-finding expert) or mammography patients (``--kind mg``,
the breast-lesion expert) of ``--seed``, runs the bundle on their PNG or DICOM files and reads each
consecutive pair of visits and the first and last (the index lesion's area and the planner's
stable / increase / decrease rule) against the simulation's truth (:mod:`mimir.evals.expert_change`):

    python benchmarks/chest_change.py --seed 5151 --patients 20 [--kind mg] [--fmt dicom] [--bundle DIR] [--pairs]

Prints the share of pairs read right overall and per finding (mammograms: per lesion kind and view,
and the share of lesion-free images where a lesion was read), and with ``--pairs`` every pair.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mimir.evals.expert_change import chest_change_agreement, mammo_change_agreement
from mimir.tools.experts.evaluate import training_seeds
from mimir.tools.experts.train import bundle_dir


def main() -> None:
    """Parse arguments, measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True, help="Demo seed (never a training seed)")
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--kind", choices=("cxr", "mg"), default="cxr", help="Chest radiographs or mammograms")
    parser.add_argument("--fmt", choices=("png", "dicom"), default="png")
    parser.add_argument("--bundle", type=Path, default=None, help="Bundle folder (default: the shipped one)")
    parser.add_argument("--pairs", action="store_true", help="Print every pair")
    args = parser.parse_args()
    bundle = args.bundle or bundle_dir("chest_xr_finding_seg" if args.kind == "cxr" else "mammo_lesion_seg")
    if args.seed in training_seeds(bundle):
        raise SystemExit(f"seed {args.seed} trained this bundle; pick another")
    started = time.monotonic()
    measure = chest_change_agreement if args.kind == "cxr" else mammo_change_agreement
    report = measure(bundle, args.seed, args.patients, args.fmt)
    right = sum(p.right for p in report.pairs)
    print(f"seed {report.seed}, {report.patients} {args.kind} patients, {args.fmt}: {right}/{len(report.pairs)} pairs "
          f"({report.agreement:.3f}) in {time.monotonic() - started:.0f} s")
    if report.false_positive_rate is not None:
        print(f"  lesion read on {report.false_positive_rate:.3f} of {report.lesion_free_images} lesion-free images")
    for finding, share in report.per_finding.items():
        n = sum(p.finding == finding for p in report.pairs)
        print(f"  {finding:18} {share:.3f} of {n}")
    if args.pairs:
        for p in report.pairs:
            print(f"  {'ok ' if p.right else 'BAD'} {p.patient_id} {p.finding:17} {p.visits} truth {p.true_mm2} "
                  f"read {p.read_px} expected {p.expected} read {p.read}")


if __name__ == "__main__":
    main()
