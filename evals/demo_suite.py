"""The demo suite: mimir's generated patients in Med-MIM format, loaded by the same loader.

``mimir demo build`` writes one Med-MIM-format file per ability and variant plus ``suite.json``
(files with ability and variant) and ``ground_truth.json``. The DICOM variant's metadata reaches
the agent only through the timeline: the suite is loaded (``mimir demo load``) into the run's own
data folder, and the agent's intake finds the images there by content hash.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimir.evals.items import EvalItem
from mimir.evals.loader import LoaderError, load_file

if TYPE_CHECKING:
    from mimir.demo.truth import Kind
    from mimir.settings import Settings

log = logging.getLogger(__name__)
SUITE_INDEX = "suite.json"


def build_demo_suite(seed: int, patients: int, out: Path, kinds: tuple[Kind, ...] | None = None) -> Path:
    """Build (once per seed, size and kinds) the demo suite under ``out``; return its folder.

    ``kinds`` keeps only those kinds of patient (default: every kind, as ``mimir demo build``).
    """
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    folder = Path(out) / (f"demo-suite-s{seed}-p{patients}" + (f"-{'-'.join(kinds)}" if kinds else ""))
    if not (folder / SUITE_INDEX).is_file():
        build_demo(folder, patients=patients, seed=seed, opts=BuildOptions(kinds=kinds))
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


def demo_items(seed: int, patients: int, out: Path, settings: Settings, load_timeline: bool = True,
               kinds: tuple[Kind, ...] | None = None) -> list[EvalItem]:
    """Build the demo suite into the run folder, load it into the run's timeline, return its items.

    Only the DICOM, series and NIfTI files are ingested: the PNG variant stays metadata-free, as
    Med-MIM is, so its images reach the agent with nothing but pixels.
    """
    folder = build_demo_suite(seed, patients, Path(out), kinds)
    marker = Path(settings.data_dir) / ".demo-loaded"
    if not marker.is_file():
        from mimir.memory.db import open_database
        from mimir.memory.ingest.demo import load_demo

        db = open_database(settings)
        try:
            report = load_demo(db, folder, settings, include_png=False)
        finally:
            db.dispose()
        log.info("demo suite loaded into the run timeline: %s", report.counts)
        marker.write_text(str(folder))
    return load_suite_folder(folder)
