"""The demo suite: mimir's generated patients in Med-MIM format, loaded by the same loader.

``mimir demo build`` writes one Med-MIM-format file per ability and variant plus ``suite.json``
(files with ability and variant) and ``ground_truth.json``. The DICOM variant's metadata reaches
the agent only through the timeline: the suite is loaded (``mimir demo load``) into the run's own
data folder, and the agent's intake finds the images there by content hash.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimir.evals.items import EvalItem
from mimir.evals.loader import LoaderError, load_file

if TYPE_CHECKING:
    from mimir.settings import Settings

log = logging.getLogger(__name__)
SUITE_INDEX = "suite.json"


def _demo_cli(args: list[str], data_dir: Path | None = None) -> None:
    """Run a ``mimir demo`` command in process (data_dir sets MIMIR_DATA_DIR for its Settings)."""
    import typer
    from mimir.demo.cli import register

    app = typer.Typer()
    register(app)
    old = os.environ.get("MIMIR_DATA_DIR")
    if data_dir is not None:
        os.environ["MIMIR_DATA_DIR"] = str(data_dir)
    try:
        app(["demo", *args], standalone_mode=False)
    finally:
        if data_dir is not None:
            if old is None:
                os.environ.pop("MIMIR_DATA_DIR", None)
            else:
                os.environ["MIMIR_DATA_DIR"] = old


def build_demo_suite(seed: int, patients: int, out: Path) -> Path:
    """Build (once per seed and size) the demo suite under ``out``; return its folder."""
    folder = Path(out) / f"demo-suite-s{seed}-p{patients}"
    if not (folder / SUITE_INDEX).is_file():
        _demo_cli(["build", "--patients", str(patients), "--seed", str(seed), "--out", str(folder)])
    if not (folder / SUITE_INDEX).is_file():
        raise LoaderError(f"mimir demo build wrote no {SUITE_INDEX} in {folder}")
    return folder


def suite_entries(folder: Path) -> list[dict[str, Any]]:
    """The file entries of ``suite.json`` (each with file, ability, variant)."""
    index = json.loads((folder / SUITE_INDEX).read_text())
    entries = index.get("files", index) if isinstance(index, dict) else index
    if not isinstance(entries, list):
        raise LoaderError(f"{folder / SUITE_INDEX}: expected a list of files")
    return [e if isinstance(e, dict) else {"file": e} for e in entries]


def load_suite_folder(folder: Path) -> list[EvalItem]:
    """Every item of a built demo suite, subset ``<ability>-<variant>``, through the Med-MIM loader."""
    items: list[EvalItem] = []
    for e in suite_entries(folder):
        path = folder / e["file"]
        ability = e.get("ability")
        subset = "-".join(str(x) for x in (ability, e.get("variant")) if x) or None
        items.extend(load_file(path, folder, subset=subset, ability=ability))
    return items


def demo_items(seed: int, patients: int, out: Path, settings: Settings) -> list[EvalItem]:
    """Build the demo suite into the run folder, load it into the run's timeline, return its items."""
    folder = build_demo_suite(seed, patients, Path(out))
    marker = Path(settings.data_dir) / ".demo-loaded"
    if not marker.is_file():
        _demo_cli(["load", str(folder)], data_dir=Path(settings.data_dir))
        marker.write_text(str(folder))
    return load_suite_folder(folder)
