"""Run MONAI bundle folders with MONAI's own bundle workflow (``ConfigWorkflow``, ``infer``).

Only trusted folders are loaded: a bundle config can execute arbitrary Python (``$`` expressions),
so bundles are discovered only in ``settings.expert_dirs`` and nothing is ever downloaded.
Before a bundle runs, the input is checked against the bundle's declared modality, dimensions and
channels (``metadata.json`` ``mimir`` block, else MONAI's ``network_data_format``); a mismatch is
:class:`ToolCannotHandle` and nothing is written.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from mimir.tools.capabilities import canonical_modality
from mimir.tools.errors import ToolCannotHandle
from mimir.tools.imaging import ImageData, file_stem, quiet_gpu_decoder_notice

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
    """Every bundle folder (a subfolder with ``configs/metadata.json``) in the trusted dirs."""
    found: list[BundleInfo] = []
    for d in settings.expert_dirs:
        if not Path(d).is_dir():
            continue
        for sub in sorted(Path(d).iterdir()):
            if not (sub / "configs" / "metadata.json").is_file():
                continue
            if not (sub / "models" / "model.pt").is_file():
                log.info("bundle %s has no models/model.pt yet; skipped", sub)
                continue
            if (sub / "configs" / "inference.json").is_file():
                try:
                    found.append(read_bundle(sub))
                except (KeyError, ValueError) as e:
                    log.warning("skipping bundle %s: metadata is incomplete (%s)", sub, e)
    return found


def check_input(bundle: BundleInfo, image: ImageData) -> None:
    """Refuse inputs the bundle was not built for (modality, dimensions, channels)."""
    modality = normalize_modality(image.modality)
    if bundle.modalities and modality and modality not in bundle.modalities:
        raise ToolCannotHandle(
            f"expert '{bundle.name}' is for {'/'.join(bundle.modalities)} images; "
            f"{image.path.name} is {modality}"
        )
    if image.dims != bundle.dims:
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


#: Bundle runs in one process take turns. MONAI's config parser looks components up by walking
#: ``sys.modules`` while it instantiates them, and a bundle run in another thread imports modules
#: lazily, so two runs at once can fail with "dictionary changed size during iteration" (seen in
#: concurrent evaluations). Inference itself uses every core through torch's own threads.
_WORKFLOW_LOCK = threading.Lock()
#: Faults that come from other threads, not from the bundle or the image: any thread that imports a
#: module changes ``sys.modules`` under the parser's walk, and CPython 3.11 can raise a spurious
#: SystemError when threads build ASTs at once (the parser evaluates ``$`` expressions). Both strike
#: while the workflow is built, before it writes anything, so such a run is retried.
_THREAD_FAULTS = ("dictionary changed size during iteration", "AST constructor recursion depth mismatch")
_ATTEMPTS = 3


def run_workflow(bundle_root: Path, images: list[Path], output_dir: Path, device: str = "cpu") -> None:
    """Run a bundle's ``configs/inference.json`` through MONAI's ``ConfigWorkflow`` on ``images``.

    The one place mimir drives a bundle: the tools call it per image, expert evaluation in batches.
    """
    from monai.bundle import ConfigWorkflow

    quiet_logging_conf_notice()
    quiet_gpu_decoder_notice()
    configs = bundle_root / "configs"
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with _WORKFLOW_LOCK:
                workflow = ConfigWorkflow(
                    config_file=str(configs / "inference.json"), meta_file=str(configs / "metadata.json"),
                    workflow_type="infer", logging_file=None, bundle_root=str(bundle_root),
                    datalist=[{"image": str(p)} for p in images], output_dir=str(output_dir),
                    device=f"$torch.device('{device}')",
                )
                workflow.initialize()
                workflow.run()
                workflow.finalize()
            return
        except (RuntimeError, SystemError) as e:
            if attempt == _ATTEMPTS or not any(f in str(e) for f in _THREAD_FAULTS):
                raise
            log.warning("bundle %s: %s (a fault from another thread); retrying (%d/%d)", bundle_root.name, e,
                        attempt, _ATTEMPTS - 1)


def run_bundle(bundle: BundleInfo, image_path: Path, output_dir: Path, device: str = "cpu") -> list[Path]:
    """Run the bundle's inference on one image; outputs land in ``output_dir`` only on success."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir.parent))
    try:
        run_workflow(bundle.root, [image_path], staging, device)
        output_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for f in sorted(staging.iterdir()):
            target = output_dir / f.name
            shutil.move(str(f), target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def segmentation_output(output_dir: Path, image_path: Path) -> Path:
    """Where a segmentation bundle saves the mask: ``{output_dir}/{stem}_seg.nii.gz``."""
    return output_dir / f"{file_stem(image_path)}_seg.nii.gz"


def read_predictions(csv_path: Path) -> list[float]:
    """The per-class probabilities of the first row of a ClassificationSaver CSV."""
    with csv_path.open(newline="") as f:
        for row in csv.reader(f):
            try:
                return [float(v) for v in row[1:]]
            except ValueError:
                continue  # a header row
    raise ToolCannotHandle(f"{csv_path} holds no prediction row")
