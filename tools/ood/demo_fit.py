"""Fingerprints of mimir's own experts, fitted on demo patients generated for the purpose.

mimir's experts are trained on pictures drawn from the demo generator with their training seeds
(``models/training.json``). Their fingerprint is fitted on the key images (PNG and DICOM) of demo
patients built with another seed, of the kinds the bundle declares (its modalities), and evaluated
on a third seed. Re-run after new weights::

    mimir experts fingerprint NAME --demo-seed 61001     # one bundle
    mimir experts fingerprint --all --demo-seed 61001    # every shipped bundle
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mimir.tools.bundles.workflow import BundleInfo, read_bundle
from mimir.tools.ood import fingerprint
from mimir.tools.ood.card import record
from mimir.tools.ood.fitting import fingerprint_bundle

#: The demo kind that makes images of each (canonical) modality.
KIND_OF = {"MR": "mri", "CT": "ct", "OP": "fundus", "MG": "mg", "XR": "cxr"}
#: Patients per kind: enough for some 200 key images (PNG and DICOM) of that kind.
PATIENTS = {"mri": 24, "ct": 48, "fundus": 100, "mg": 40, "cxr": 40}
#: The seed mimir's shipped fingerprints are fitted with (neither a training nor an evaluation seed).
SHIPPED_SEED = 61001


def shipped_bundles() -> list[BundleInfo]:
    """Every bundle shipped under ``mimir/tools/experts`` (a folder with ``configs/metadata.json``)."""
    from mimir.tools.experts.train import EXPERTS_ROOT

    return [read_bundle(d) for d in sorted(Path(EXPERTS_ROOT).iterdir()) if (d / "configs" / "metadata.json").is_file()]


def training_seeds(bundle: BundleInfo) -> list[int]:
    """The seeds the bundle's weights were trained with (empty when it records none)."""
    path = bundle.root / "models" / "training.json"
    if not path.is_file():
        return []
    return [int(s) for s in json.loads(path.read_text()).get("training_seeds", [])]


def demo_kinds(bundle: BundleInfo) -> tuple[str, ...]:
    """The demo kinds whose images the bundle is for; ValueError when the generator makes none."""
    kinds = tuple(sorted({KIND_OF[m] for m in bundle.modalities if m in KIND_OF}))
    if not kinds:
        raise ValueError(f"{bundle.name} is for {'/'.join(bundle.modalities) or 'any modality'}; "
                         "the demo generator makes none of its images: use --images DIR")
    return kinds


def demo_folder(bundle: BundleInfo, seed: int, work: Path) -> tuple[Path, str]:
    """Build (once per seed and kinds) the demo patients to fit on; the folder and the build command."""
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    kinds = demo_kinds(bundle)
    patients = max(PATIENTS[k] for k in kinds)
    folder = Path(work) / f"demo-s{seed}-{'-'.join(kinds)}-p{patients}"
    if not (folder / "manifest.csv").is_file():
        build_demo(folder, patients=patients, seed=seed,
                   opts=BuildOptions(series=False, nifti=False, kinds=kinds))  # type: ignore[arg-type]
    command = f"mimir demo build --seed {seed} --patients {patients} --kinds {','.join(kinds)} --no-series --no-nifti"
    return folder, command


def fit_on_demo(bundle: BundleInfo, seed: int, work: Path,
                progress: Callable[[int, int], None] | None = None) -> fingerprint.Fingerprint:
    """Fit and store the bundle's fingerprint on demo patients of ``seed``; record it in the model card."""
    if seed in training_seeds(bundle):
        raise ValueError(f"seed {seed} is a training seed of {bundle.name}; fit the fingerprint on another seed")
    folder, command = demo_folder(bundle, seed, work)
    source = f"key images of demo patients built with `{command}`"
    fp = fingerprint_bundle(bundle, folder, progress, source=source)
    record(bundle.root, fp, f"mimir experts fingerprint {bundle.name} --demo-seed {seed}")
    return fp
