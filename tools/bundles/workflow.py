"""Run MONAI bundle folders with MONAI's own bundle workflow (``ConfigWorkflow``, ``infer``).

Only trusted folders are loaded: a bundle config can execute arbitrary Python (``$`` expressions),
so bundles are discovered only in ``settings.expert_dirs`` and nothing is ever downloaded.
Before a bundle runs, the input is checked against the bundle's declared modality, dimensions and
channels (``metadata.json`` ``mimir`` block, else MONAI's ``network_data_format``); a mismatch is
:class:`ToolCannotHandle` and nothing is written. The tools run bundles through the expert engine
(:mod:`mimir.tools.bundles.engine`); :func:`run_workflow` is MONAI's own ``ConfigWorkflow`` on the same files.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from mimir.tools.analysis.imaging import ImageData, quiet_gpu_decoder_notice
from mimir.tools.framework.capabilities import canonical_modality
from mimir.tools.framework.errors import ToolCannotHandle

if TYPE_CHECKING:
    from mimir.settings import Settings

log = logging.getLogger(__name__)


def normalize_modality(value: str | None) -> str | None:
    """A modality as the clinical vocabulary names it ('MRI' -> 'MR', 'CR' and 'DX' -> 'XR', 'FUNDUS' -> 'OP')."""
    return canonical_modality(value)


class BundleInfo(BaseModel):
    """What a bundle declares about itself."""

    name: str
    root: Path
    task: Literal["segmentation", "classification"]
    modalities: tuple[str, ...] = ()
    dims: int
    channels: int = 1
    labels: dict[int, str] = {}
    fov_mm: float | None = None
    #: What the expert's card says it misses, by the reading the miss affects (stated with answers that rest on it).
    limits: dict[str, str] = {}

    @property
    def slice_wise(self) -> bool:
        """True for a 2D expert: it takes volumes slice by slice."""
        return self.dims == 2

    def label_name(self, value: int) -> str:
        """The declared name of label ``value`` (or 'label <value>')."""
        return self.labels.get(value, f"label {value}")


def read_bundle(root: Path) -> BundleInfo:
    """Read ``configs/metadata.json`` (``mimir`` block, else ``network_data_format``)."""
    meta = json.loads((root / "configs" / "metadata.json").read_text())
    block = meta.get("mimir")
    if block:
        modality = block.get("modality")
        modalities = modality if isinstance(modality, list) else [modality] if modality else []
        return BundleInfo(
            name=root.name, root=root, task=block["task"], dims=int(block["dims"]),
            modalities=tuple(dict.fromkeys(m for m in (normalize_modality(x) for x in modalities) if m)),
            channels=int(block.get("channels", 1)),
            labels={int(k): str(v) for k, v in (block.get("labels") or {}).items()},
            fov_mm=float(block["fov_mm"]) if block.get("fov_mm") else None,
            limits={str(k): str(v) for k, v in (block.get("limits") or {}).items()},
        )
    return _from_network_data_format(root, meta.get("network_data_format") or {})


def _from_network_data_format(root: Path, ndf: dict[str, Any]) -> BundleInfo:
    image = (ndf.get("inputs") or {}).get("image") or {}
    pred = (ndf.get("outputs") or {}).get("pred") or {}
    task: Literal["segmentation", "classification"] = (
        "segmentation" if pred.get("type", "image") == "image" else "classification"
    )
    defs = pred.get("channel_def") or {}
    modality = normalize_modality(image.get("modality"))
    return BundleInfo(
        name=root.name, root=root, task=task, dims=len(image.get("spatial_shape") or [0, 0, 0]),
        modalities=(modality,) if modality else (), channels=int(image.get("num_channels", 1)),
        labels={int(k): str(v) for k, v in defs.items()},
    )


def discover_bundles(settings: Settings) -> list[BundleInfo]:
    """Every bundle folder (a subfolder with ``configs/metadata.json``) in the trusted dirs.

    A bundle's metadata is read again only when the file changes (its size or modification time).
    """
    found: list[BundleInfo] = []
    for d in settings.expert_dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            sub = os.path.join(d, name)
            meta = _stat(os.path.join(sub, "configs", "metadata.json"))
            if meta is None:
                continue
            if _stat(os.path.join(sub, "models", "model.pt")) is None:
                log.info("bundle %s has no models/model.pt yet; skipped", sub)
                continue
            if _stat(os.path.join(sub, "configs", "inference.json")) is not None:
                try:
                    found.append(_read_bundle_once(sub, meta.st_size, meta.st_mtime_ns))
                except (KeyError, ValueError) as e:
                    log.warning("skipping bundle %s: metadata is incomplete (%s)", sub, e)
    return found


def _stat(path: str) -> os.stat_result | None:
    """The file's status, or None when it is not a file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


@functools.lru_cache(maxsize=256)
def _read_bundle_once(root: str, _size: int, _mtime_ns: int) -> BundleInfo:
    """:func:`read_bundle` once per state of the metadata file (the caller gives its size and time)."""
    return read_bundle(Path(root))


def check_input(bundle: BundleInfo, image: ImageData) -> None:
    """Refuse inputs the bundle was not built for (modality, dimensions, channels).

    A 2D expert takes a volume slice by slice; a 3D expert refuses a single slice.
    """
    modality = normalize_modality(image.modality)
    if bundle.modalities and modality and modality not in bundle.modalities:
        raise ToolCannotHandle(
            f"expert '{bundle.name}' is for {'/'.join(bundle.modalities)} images; "
            f"{image.path.name} is {modality}"
        )
    if image.dims < bundle.dims or image.dims > 3:
        raise ToolCannotHandle(
            f"expert '{bundle.name}' takes {bundle.dims}D images; {image.path.name} is "
            f"{image.dims}D with shape {image.spatial_shape}"
        )
    grey_ok = bundle.channels == 1 and image.grey_as_colour  # the bundle's reader converts to grey
    if image.channels != bundle.channels and not grey_ok:
        raise ToolCannotHandle(
            f"expert '{bundle.name}' takes {bundle.channels}-channel images; {image.path.name} has "
            f"{image.channels} channel(s)"
        )


def torch_device(settings: Settings) -> str:
    """The device string for a bundle: cuda when asked or available (auto), else cpu."""
    if settings.device == "cpu":
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _NoLoggingConfNotice(logging.Filter):
    """Drop MONAI's notice that a bundle ships no ``configs/logging.conf``.

    mimir's bundles ship none on purpose (applying one would replace the application's logging), and
    MONAI prints the notice on stdout, where it would corrupt ``--json`` output.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Default logging file" not in record.getMessage()


def quiet_logging_conf_notice() -> None:
    """Install the filter once on MONAI's bundle-workflow logger."""
    monai_log = logging.getLogger("monai.bundle.workflows")
    if not any(isinstance(f, _NoLoggingConfNotice) for f in monai_log.filters):
        monai_log.addFilter(_NoLoggingConfNotice())


def run_workflow(bundle_root: Path, images: list[Path], output_dir: Path, device: str = "cpu") -> None:
    """Run a bundle's ``configs/inference.json`` through MONAI's own ``ConfigWorkflow`` on ``images``.

    The reference path: the tools run bundles through :mod:`mimir.tools.bundles.engine`, which parses each
    bundle once; this builds and parses a fresh workflow per call, exactly as MONAI documents it
    (used by expert evaluation and by the test that the engine gives the same masks). The parser
    looks components up in a snapshot of ``sys.modules``, so a module imported by another thread
    meanwhile cannot break the parse.
    """
    from monai.bundle import ConfigWorkflow

    from mimir.tools.bundles.config import snapshot_locator

    quiet_logging_conf_notice()
    quiet_gpu_decoder_notice()
    configs = bundle_root / "configs"
    workflow = ConfigWorkflow(
        config_file=str(configs / "inference.json"), meta_file=str(configs / "metadata.json"),
        workflow_type="infer", logging_file=None, bundle_root=str(bundle_root),
        datalist=[{"image": str(p)} for p in images], output_dir=str(output_dir),
        device=f"$torch.device('{device}')",
    )
    workflow.parser.locator = snapshot_locator()
    workflow.initialize()
    workflow.run()
    workflow.finalize()
