"""How often the chest-finding expert's masks give the right change between visits on unseen demo patients.

Builds chest-radiograph patients of ``--seed``, runs the bundle on their PNG or DICOM films and reads
each consecutive pair of visits and the first and last (the index lesion's area and the planner's
stable / increase / decrease rule) against the change the simulation planned:

    python benchmarks/chest_change.py --seed 5151 --patients 20 [--fmt dicom] [--bundle DIR] [--pairs]

Prints the share of pairs read right overall and per finding, and with ``--pairs`` every pair.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mimir.evals.expert_change import chest_change_agreement
from mimir.tools.experts.evaluate import training_seeds
from mimir.tools.experts.train import bundle_dir


def main() -> None:
    """Parse arguments, measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True, help="Demo seed (never a training seed)")
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--fmt", choices=("png", "dicom"), default="png")
    parser.add_argument("--bundle", type=Path, default=None, help="Bundle folder (default: the shipped one)")
    parser.add_argument("--pairs", action="store_true", help="Print every pair")
    args = parser.parse_args()
    bundle = args.bundle or bundle_dir("chest_xr_finding_seg")
    if args.seed in training_seeds(bundle):
        raise SystemExit(f"seed {args.seed} trained this bundle; pick another")
    started = time.monotonic()
    report = chest_change_agreement(bundle, args.seed, args.patients, args.fmt)
    right = sum(p.right for p in report.pairs)
    print(f"seed {report.seed}, {report.patients} patients, {args.fmt}: {right}/{len(report.pairs)} pairs "
          f"({report.agreement:.3f}) in {time.monotonic() - started:.0f} s")
    for finding, share in report.per_finding.items():
        n = sum(p.finding == finding for p in report.pairs)
        print(f"  {finding:18} {share:.3f} of {n}")
    if args.pairs:
        for p in report.pairs:
            print(f"  {'ok ' if p.right else 'BAD'} {p.patient_id} {p.finding:17} {p.visits} truth {p.true_mm2} "
                  f"read {p.read_px} expected {p.expected} read {p.read}")


if __name__ == "__main__":
    main()
