"""Choosing a MONAI bundle expert for an image: by name, or automatically by task and image."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mimir.memory.hashing import file_hash
from mimir.tools.analysis.imaging import ImageData
from mimir.tools.bundles.workflow import BundleInfo, check_input, discover_bundles, normalize_modality
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle

if TYPE_CHECKING:
    from mimir.settings import Settings

Task = Literal["segmentation", "classification"]


def bundles_for(settings: Settings, task: Task) -> list[BundleInfo]:
    """The trusted bundles of one task."""
    return [b for b in discover_bundles(settings) if b.task == task]


def availability(task: Task) -> Callable[[Settings], str | None]:
    """An availability check: a reason when no bundle of ``task`` is installed."""

    def check(settings: Settings) -> str | None:
        if bundles_for(settings, task):
            return None
        dirs = ", ".join(str(d) for d in settings.expert_dirs)
        return f"no {task} bundle (a folder with configs/metadata.json) in {dirs}"

    return check


#: Content hashes of bundle files by (path, size, mtime): each file is read once per process while unchanged.
_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def _bundle_file_hash(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _FILE_HASHES:
        _FILE_HASHES[key] = file_hash(path)
    return _FILE_HASHES[key]


def models_state(task: Task) -> Callable[[Settings], str]:
    """A tool's model state (its cache-key part): every installed ``task`` bundle's configs and weights by content.

    Retrained weights, a changed post-processing config or a refitted fingerprint give new cache keys,
    so no answer is read from runs of the expert as it was before.
    """

    def state(settings: Settings) -> str:
        h = hashlib.sha256()
        for bundle in bundles_for(settings, task):
            h.update(bundle.name.encode() + b"\0")
            files = sorted(p for part in ("configs", "models") for p in (bundle.root / part).rglob("*") if p.is_file())
            for f in files:
                h.update(f"{f.relative_to(bundle.root).as_posix()}={_bundle_file_hash(f)}\0".encode())
        return h.hexdigest()

    return state


def pick_bundle(settings: Settings, task: Task, image: ImageData, expert: str | None) -> BundleInfo:
    """The named bundle (checked against the image), else the best fitting one.

    Best fitting: one that declares the image's modality, then one of the image's own dimensions; in
    folder order among equals.
    """
    bundles = bundles_for(settings, task)
    if expert is not None:
        named = [b for b in bundles if b.name == expert]
        if not named:
            known = ", ".join(b.name for b in bundles) or "none"
            raise ToolArgumentError(f"Unknown {task} expert '{expert}'; installed: {known}")
        check_input(named[0], image)
        return named[0]
    fitting, refusals = [], []
    for b in bundles:
        try:
            check_input(b, image)
            fitting.append(b)
        except ToolCannotHandle as e:
            refusals.append(str(e))
    if not fitting:
        modality = normalize_modality(image.modality) or "unknown modality"
        dirs = ", ".join(str(d) for d in settings.expert_dirs)
        detail = "; ".join(refusals) or "no bundles installed"
        raise ToolCannotHandle(
            f"no {task} expert for a {image.dims}D {modality} image in {dirs} ({detail})"
        )
    declared = normalize_modality(image.modality)
    # best first: the image's modality declared, then its own dimensions (a 3D expert for a volume
    # before a 2D expert that would take it slice by slice)
    return min(fitting, key=lambda b: (not (declared and declared in b.modalities), b.dims != image.dims))
