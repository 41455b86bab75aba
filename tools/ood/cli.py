"""``mimir experts fingerprint BUNDLE --images DIR``: fit and store a bundle's fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from mimir.tools.monai_bundle import BundleInfo


def fingerprint_command(
    bundle: str = typer.Argument(..., help="A trusted bundle's name, or a bundle folder"),
    images: Path = typer.Option(..., "--images", exists=True, file_okay=False,
                                help="Folder of images the bundle was trained on (a manifest.csv gives plain pictures' modality and labels)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Fit the fingerprint of a bundle's training images and store it as models/fingerprint.json."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mimir.output import emit, err_console, fail
    from mimir.tools.ood.fitting import fingerprint_bundle

    info = _resolve(bundle)
    if info is None:
        fail(f"No bundle {bundle!r}: give a trusted bundle's name (mimir tools list) or a bundle folder")
        return
    with Progress(TextColumn("measuring"), BarColumn(), MofNCompleteColumn(), console=err_console,
                  disable=as_json) as bar:
        task = bar.add_task("measure", total=None)
        try:
            fp = fingerprint_bundle(info, images, lambda done, total: bar.update(task, completed=done, total=total))
        except ValueError as e:
            fail(str(e))
            return
    summary = {"bundle": fp.bundle, "images": fp.images, "temperature": fp.temperature, **fp.calibration,
               "stored": str(info.root / "models" / "fingerprint.json")}
    human = f"{fp.bundle}: fingerprint of {fp.images} images stored" + (
        f"; temperature {fp.temperature:.3f} (held-out ECE {fp.calibration['ece_before']:.3f} -> "
        f"{fp.calibration['ece_after']:.3f})" if fp.temperature is not None else "")
    emit(summary, as_json=as_json, human=human)


def _resolve(name_or_path: str) -> BundleInfo | None:
    from mimir.settings import Settings
    from mimir.tools.monai_bundle import discover_bundles, read_bundle

    path = Path(name_or_path)
    if (path / "configs" / "metadata.json").is_file():
        return read_bundle(path.resolve())
    return next((b for b in discover_bundles(Settings()) if b.name == name_or_path), None)
