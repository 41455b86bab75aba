"""``mimir experts fingerprint``: fit and store a bundle's fingerprint (from a folder, or from demo patients)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from mimir.tools.bundles.workflow import BundleInfo
    from mimir.tools.ood.fingerprint import Fingerprint


def fingerprint_command(
    bundle: str | None = typer.Argument(None, help="A trusted bundle's name, or a bundle folder"),
    images: Path | None = typer.Option(None, "--images", exists=True, file_okay=False,
                                       help="Folder of images the bundle was trained on (a manifest.csv gives plain "
                                            "pictures' modality and labels)"),
    demo_seed: int | None = typer.Option(None, "--demo-seed",
                                         help="Fit on demo patients built with this seed (mimir's own experts; "
                                              "not a training seed)"),
    every: bool = typer.Option(False, "--all", help="Every bundle shipped with mimir (with --demo-seed)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Fit the fingerprint of a bundle's training images and store it as models/fingerprint.json."""
    from mimir.output import emit, fail

    if (images is None) == (demo_seed is None):
        fail("Give exactly one of --images DIR and --demo-seed SEED")
        return
    if every == (bundle is not None) or (every and images is not None):
        fail("Name one bundle, or give --all with --demo-seed")
        return
    targets = _targets(bundle, every)
    if not targets:
        fail(f"No bundle {bundle!r}: give a trusted bundle's name (mimir tools list) or a bundle folder")
        return
    work = Path(tempfile.mkdtemp(prefix="mimir-fingerprint-"))
    summaries = []
    for info in targets:
        try:
            fp = _fit(info, images, demo_seed, work, as_json)
        except ValueError as e:
            fail(str(e))
            return
        summaries.append(_summary(info, fp))
    emit(summaries if every else summaries[0], as_json=as_json, human="\n".join(str(s["human"]) for s in summaries))


def _fit(info: BundleInfo, images: Path | None, demo_seed: int | None, work: Path, quiet: bool) -> Fingerprint:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mimir.output import err_console
    from mimir.tools.ood.demo_fit import fit_on_demo
    from mimir.tools.ood.fitting import fingerprint_bundle

    with Progress(TextColumn(f"{info.name}: measuring"), BarColumn(), MofNCompleteColumn(), console=err_console,
                  disable=quiet) as bar:
        task = bar.add_task("measure", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if demo_seed is not None:
            return fit_on_demo(info, demo_seed, work, step)
        assert images is not None
        return fingerprint_bundle(info, images, step)


def _summary(info: BundleInfo, fp: Fingerprint) -> dict[str, object]:
    human = f"{fp.bundle}: fingerprint of {fp.images} images stored" + (
        f"; temperature {fp.temperature:.3f} (held-out ECE {fp.calibration['ece_before']:.3f} -> "
        f"{fp.calibration['ece_after']:.3f})" if fp.temperature is not None else "")
    return {"bundle": fp.bundle, "images": fp.images, "source": fp.source, "temperature": fp.temperature,
            **fp.calibration, "stored": str(info.root / "models" / "fingerprint.json"), "human": human}


def _targets(name_or_path: str | None, every: bool) -> list[BundleInfo]:
    from mimir.settings import Settings
    from mimir.tools.bundles.workflow import discover_bundles, read_bundle
    from mimir.tools.ood.demo_fit import shipped_bundles

    if every:
        return shipped_bundles()
    assert name_or_path is not None
    path = Path(name_or_path)
    if (path / "configs" / "metadata.json").is_file():
        return [read_bundle(path.resolve())]
    return [b for b in discover_bundles(Settings()) if b.name == name_or_path][:1]
