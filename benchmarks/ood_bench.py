"""Out-of-distribution detection of mimir's experts: AUROC per expert, share of demo inputs still answered.

In-distribution: the images of an unseen demo set (``--eval DIR``, built with a seed no fingerprint
was fitted on) that each expert accepts, PNG and DICOM. Out-of-distribution (``mimir.tools.ood.shifts``):
those PNGs under noise, bias field, contrast, resolution and crop shifts; the real CT, MR and
radiograph files of pydicom and pydicom-data (as DICOM, and as PNG so no header check helps); other
real pictures packages ship (template slices in other orientations, scikit-image photographs); and
wrong inputs (the demo's CT, MR, fundus and mammography pictures to every expert not made for them). Inputs the header checks already refuse count as detected and are reported apart.

Prints, per expert: AUROC of the largest fingerprint ratio between in- and out-of-distribution, the
share of in-distribution inputs not judged ``out`` (answered), detection (share judged ``out``) per
OOD set, and for classifiers the expected calibration error before and after temperature scaling.

    python benchmarks/ood_bench.py --eval /path/to/unseen-demo [--experts NAME ...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mimir.tools.analysis.imaging import load_image
from mimir.tools.bundles.workflow import BundleInfo, check_input, normalize_modality, read_bundle
from mimir.tools.experts.train import bundle_dir
from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.ood import calibration, shifts
from mimir.tools.ood.assess import judge, loaded
from mimir.tools.ood.demo_fit import shipped_bundles
from mimir.tools.ood.fitting import _manifest, accepted_images
from mimir.tools.ood.gate import volume_assessment

#: Shifted copies of this many in-distribution PNGs per shift, and wrong inputs per other modality.
SHIFTED, WRONG = 30, 40


def auroc(inside: list[float], outside: list[float]) -> float:
    """P(an OOD score exceeds an in-distribution score), ties counted half."""
    a, b = np.asarray(inside)[:, None], np.asarray(outside)[None, :]
    return float(np.mean((b > a) + 0.5 * (b == a)))


def _ratio_or_refused(bundle: BundleInfo, path: Path, modality: str | None) -> float | None:
    """The largest fingerprint ratio, or None when the header checks refuse the input."""
    try:
        image = load_image(path, modality)
        check_input(bundle, image)
        if bundle.slice_wise and len(image.spatial_shape) == 3:  # a volume: as the gate scores it
            return max(volume_assessment(bundle, image).ratios.values())
    except ToolCannotHandle:
        return None
    pair = loaded(bundle.root)
    assert pair is not None, "run_expert measures only experts with a fingerprint"
    extractor, fp = pair
    return max(fp.ratios(extractor.measure(path).groups).values())


def _by_modality(folder: Path, modality: str) -> list[Path]:
    return [Path(p) for p, row in _manifest(folder).items() if normalize_modality(row["modality"]) == modality]


def ood_sets(bundle: BundleInfo, eval_dir: Path, work: Path, in_png: list[Path]) -> dict[str, list[Path]]:
    """Every OOD set for one expert: shifted inputs, package scans, wrong inputs."""
    sets = {f"shift: {k}": v for k, v in shifts.shifted(in_png[:SHIFTED], work / bundle.name / "shifted").items()}
    scans = shifts.package_scans()
    sets["real scans (DICOM)"] = scans
    sets["real scans (PNG)"] = shifts.as_png(scans, work / "scans-png")
    sets["package pictures (PNG)"] = shifts.package_pictures(work / "package-pictures")
    own = set(bundle.modalities)
    for other in ("CT", "MR", "OP", "MG"):
        if normalize_modality(other) not in own:
            sets[f"wrong input: demo {other}"] = _by_modality(eval_dir, normalize_modality(other) or other)[:WRONG]
    return sets


def run_expert(name: str, eval_dir: Path, work: Path, limit: int) -> None:
    bundle = read_bundle(bundle_dir(name))
    pair = loaded(bundle.root)
    if pair is None:
        print(f"{name}: no fingerprint; run `mimir experts fingerprint {name} --images DIR` first")
        return
    extractor, fp = pair
    inside = accepted_images(bundle, eval_dir, limit)
    measured = [extractor.measure(p) for p, _ in inside]
    in_ratios = [max(fp.ratios(m.groups).values()) for m in measured]
    verdicts = [judge(fp, fp.ratios(m.groups)).verdict for m in measured]
    answered = np.mean([v != "out" for v in verdicts])
    print(f"{name}: in-distribution {len(inside)} inputs, answered {answered:.3f} "
          f"(in {verdicts.count('in')}, borderline {verdicts.count('borderline')}, out {verdicts.count('out')})")
    all_out: list[float] = []
    in_png = [p for p, _ in inside if p.suffix == ".png"]
    for label, paths in ood_sets(bundle, eval_dir, work, in_png).items():
        ratios = [_ratio_or_refused(bundle, p, None) for p in paths]
        scored = [r for r in ratios if r is not None]
        refused = len(ratios) - len(scored)
        all_out += [float("inf")] * refused + scored
        detected = (refused + sum(r > 1.5 for r in scored)) / max(len(ratios), 1)
        print(f"  {label}: {len(ratios)} inputs, {refused} refused by header checks, detected {detected:.3f}"
              + (f", AUROC {auroc(in_ratios, scored):.3f} on the {len(scored)} scored" if scored else ""))
    print(f"  AUROC (all OOD sets, refused inputs count as detected): {auroc(in_ratios, all_out):.3f}")
    if bundle.task == "classification":
        _calibration(bundle, measured, [lab for _, lab in inside], fp.temperature)


def _calibration(bundle: BundleInfo, measured: list, labels: list[str | None], temperature: float | None) -> None:
    index = {v: k for k, v in bundle.labels.items()}
    rows = [(m.logits, index[lab]) for m, lab in zip(measured, labels, strict=True) if lab is not None]
    if not rows or temperature is None:
        print("  calibration: no labelled inputs or no temperature")
        return
    logits, y = np.stack([r[0] for r in rows]), np.asarray([r[1] for r in rows])
    before, after = calibration.softmax(logits), calibration.softmax(logits, temperature)
    print(f"  calibration on {len(y)} labelled unseen inputs: accuracy {np.mean(before.argmax(1) == y):.3f}, "
          f"ECE {calibration.ece(before, y):.4f} before, {calibration.ece(after, y):.4f} after (T={temperature:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", type=Path, required=True, help="A demo set built with an unseen seed")
    ap.add_argument("--experts", nargs="+", default=[b.name for b in shipped_bundles()])
    ap.add_argument("--limit", type=int, default=240, help="In-distribution inputs per expert (evenly spaced)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mimir-ood-"))
    for name in args.experts:
        run_expert(name, args.eval, work, args.limit)


if __name__ == "__main__":
    main()
