"""The expert engine: each MONAI bundle parsed once, its network, transforms and inferer kept and reused.

A bundle stays an ordinary MONAI bundle (``configs/inference.json`` still runs with MONAI's
``ConfigWorkflow``); the engine takes the same config items (``network``, ``preprocessing``,
``inferer``, ``postprocessing`` and the ``CheckpointLoader`` among ``handlers``) and runs images
through them the way MONAI's ``SupervisedEvaluator`` does: transforms per image, the inferer on a
collated batch, decollation, then the post transforms per image. Savers are left out of the post
transforms: results stay in memory and the tools write each mask once, in the image's geometry.

Loading (parsing the config, building the network, reading the weights) happens once per bundle,
weights file and device, under a load lock. Running takes no lock: the parsed components are only
read, the network runs in eval mode under ``torch.inference_mode``, so threads share one engine.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from mimir.tools.bundles import batched
from mimir.tools.bundles.array_post import array_result, array_steps, as_numpy
from mimir.tools.bundles.array_pre import ArrayPreprocessing
from mimir.tools.bundles.capture import DeepestCapture
from mimir.tools.bundles.config import (
    bundle_parser,
    compose_of,
    load_weights,
    split_loading,
    transforms_of,
    without,
)
from mimir.tools.bundles.loaded_pictures import LoadedImage, read_through, watch_readers
from mimir.tools.bundles.side_by_side import Pass, SideBySide

if TYPE_CHECKING:
    import torch
    from monai.transforms import Compose

    from mimir.tools.bundles.workflow import BundleInfo

log = logging.getLogger(__name__)
#: Inputs: a file (read by the bundle's own loader) or an image already loaded as a channel-first
#: ``MetaTensor`` (a slice of a volume), which skips the bundle's loading transforms.
EngineInput = Path | str | Any
T = TypeVar("T")
#: One same-shape group's network pass: (indices among the items passed, collated batch, logits).
Group = tuple[list[int], dict[str, Any], Any]
#: Worker threads per engine: they read and preprocess ahead of the network passes and post-process behind them.
WORKERS = 2
_SAVERS = ("SaveImage", "SaveImaged")
#: Key of a prepared item holding the image as its loader read it (see ``sources``).
SOURCE = "mimir_source"
#: Keys of a prepared item holding the picture's shape as loaded and, when asked for, its deepest activation.
LOADED_SHAPE, ACTIVATION = "mimir_loaded_shape", "mimir_activation"
_KEPT = (SOURCE, LOADED_SHAPE, ACTIVATION)


@dataclass
class Prediction:
    """One image's result: a label mask (segmentation) or class probabilities (classification)."""

    mask: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    affine: np.ndarray | None = None
    #: The file as the bundle's loader read it, when that is exactly the file's pixels (else None)
    source: LoadedImage | None = None
    #: The input's fingerprint numbers per group (``mimir.tools.ood.features``), taken from this very
    #: network pass when asked for; None when not asked or when the inferer never ran the whole input
    fingerprint: dict[str, np.ndarray] | None = None


class ExpertEngine:
    """A bundle's parsed inference components, ready to run images in batches from any thread."""

    def __init__(self, bundle: BundleInfo, device: str = "cpu") -> None:
        import torch

        from mimir.tools.analysis.imaging import quiet_gpu_decoder_notice

        quiet_gpu_decoder_notice()
        self.bundle = bundle
        self.device = torch.device(device)
        parser = bundle_parser(bundle.root, device)
        self.network: torch.nn.Module = parser.get_parsed_content("network")
        load_weights(parser, self.network, bundle.root)
        self.network.eval()
        self.preprocessing: Compose = parser.get_parsed_content("preprocessing")
        self.loading, rest = split_loading(self.preprocessing)
        self.after_loading = ArrayPreprocessing(rest)  # on arrays where it can
        self._local = threading.local()
        self.inferer = parser.get_parsed_content("inferer")
        post = parser.get_parsed_content("postprocessing") if "postprocessing" in parser else None
        self.postprocessing = without(post, _SAVERS) if post is not None else None
        steps = transforms_of(self.postprocessing) if self.postprocessing is not None else []
        self.batch_post = batched.plan(steps, self.preprocessing)
        self.per_image_post = compose_of(steps[self.batch_post.skipped :])
        self.after_activation = compose_of(steps[1:])
        # per-image steps that are numpy functions of the prediction alone: run without MONAI's wrapping
        self._array_steps = {id(c): array_steps(transforms_of(c)) for c in (self.per_image_post, self.after_activation)
                             if c is not None}
        self.config = parser.config
        self.parser = parser
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._capture = DeepestCapture(self.network, bundle.name)
        #: a batch's pass on the CPU as passes over its parts side by side (``side_by_side``)
        self.passes = SideBySide(torch.get_num_threads() if self.device.type == "cpu" else 1)

    def predict(self, inputs: Sequence[EngineInput], batch_size: int = 16, fingerprint: bool = False) -> list[Prediction]:
        """Run ``inputs`` (files or loaded channel-first MetaTensors) in batches; results in input order.

        ``fingerprint``: each prediction also carries its input's fingerprint numbers, taken from the
        same network pass (see :meth:`forward_capturing`), so checking the input costs no pass of its own.
        """
        return self.predict_each(inputs, _keep, batch_size, fingerprint)

    def predict_each(self, inputs: Sequence[EngineInput], then: Callable[[int, Prediction], T],
                     batch_size: int = 16, fingerprint: bool = False) -> list[T]:
        """``then(i, prediction)`` of every input, in input order, each run as soon as its prediction is ready.

        With more than one image, the engine's worker threads read and preprocess the images ahead
        of the network passes and run each image's post transforms and ``then`` behind them. On the
        CPU each batch's pass runs as passes over its parts side by side (see ``side_by_side``), and
        a part's pass starts as soon as its own images are ready, so reading the next part and
        post-processing the last one overlap the network instead of waiting for the whole batch.
        """
        if len(inputs) <= 1:
            items = [self._prepare(x) for x in inputs]
            preds = self._post(items, self._forward_groups(items, fingerprint))
            return [then(i, _sourced(p, item)) for i, (p, item) in enumerate(zip(preds, items, strict=True))]
        pool = self._workers()
        prepared = [pool.submit(self._prepare, x) for x in inputs]  # ahead of the network passes
        done: dict[int, Future[T]] = {}
        running: deque[tuple[int, list[dict[str, Any]], Pass[list[Group]]]] = deque()

        def behind(first: int, items: list[dict[str, Any]], passes: list[Group]) -> None:
            """Each image of a finished part to the workers: its post transforms, then ``then``."""
            for group, batch, logits in passes:
                outputs = self._batch_outputs(batch, logits, [items[i] for i in group])
                for i, (b, o, steps) in zip(group, outputs, strict=True):
                    done[first + i] = pool.submit(_then, then, first + i, items[i], self._post_one, b, o, steps)

        try:
            for start in range(0, len(inputs), batch_size):
                n = min(batch_size, len(inputs) - start)
                parts = [range(n)] if fingerprint else self.passes.split(n)
                for part in parts:
                    first = start + part.start
                    items = [prepared[i].result() for i in range(first, start + part.stop)]
                    if len(parts) == 1:  # one pass on all of torch's threads, once the parts before it are done
                        while running:
                            behind(*_finished(running.popleft()))
                        behind(first, items, self._forward_groups(items, fingerprint))
                        continue
                    running.append((first, items, self.passes.submit(self._forward_groups, items)))
                    if len(running) >= self.passes.parts:  # every pass thread busy: take the oldest part's result
                        behind(*_finished(running.popleft()))
            while running:
                behind(*_finished(running.popleft()))
            return [done[i].result() for i in range(len(inputs))]
        finally:  # on an error, nothing queued behind it runs
            for queued in prepared:
                queued.cancel()
            for _, _, waiting in running:
                waiting.cancel()
            for post in done.values():
                post.cancel()

    def _workers(self) -> ThreadPoolExecutor:
        """The engine's worker threads, started on first use and kept for the engine's life."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mimir-engine")
            return self._pool

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """The bare network pass: the bundle's inferer on a preprocessed batch, no gradients.

        The network runs on the batch's plain tensor: on a ``MetaTensor`` every operation of the pass
        would copy the batch's metadata in Python (about a tenth of a 2D pass on the CPU, and time that
        holds the interpreter lock while other threads post-process). The result gets the batch's
        metadata once, as MONAI's ``MetaTensor`` gives it to the output of any operation on the batch.
        """
        import torch

        with torch.inference_mode():
            return _with_meta_of(batch, self.inferer(_plain(batch).to(self.device), self.network))

    def preprocess(self, inputs: Sequence[EngineInput]) -> torch.Tensor:
        """The bundle's preprocessing of ``inputs`` (one shape), collated into a batch."""
        from monai.data import list_data_collate

        return list_data_collate([_inputs(self._prepare(x)) for x in inputs])["image"]

    def forward_capturing(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`forward`, and the deepest activation of the network's pass on ``batch`` itself.

        None in place of the activation when the inferer never ran the network on the whole batch (a
        sliding window); see :class:`~mimir.tools.bundles.capture.DeepestCapture`.
        """
        import torch

        x = _plain(batch).to(self.device)

        def forward() -> torch.Tensor:
            with torch.inference_mode():
                return self.inferer(x, self.network)

        logits, deepest = self._capture.run(x, forward)
        with torch.inference_mode():
            return _with_meta_of(batch, logits), deepest

    def _prepare(self, item: EngineInput) -> dict[str, Any]:
        """The preprocessed item; a file's item also keeps the image as loaded under ``SOURCE`` when exact.

        ``LOADED_SHAPE`` holds the picture's shape as loaded (the fingerprint's size check reads it).
        """
        data: dict[str, Any] = {"image": item}
        source = None
        if isinstance(item, str | Path):
            loading, watchers = self._thread_loading()
            data, source = read_through(loading, watchers, str(item))
        shape = tuple(int(n) for n in getattr(data["image"], "shape", ()))
        out = dict(self.after_loading(data))
        if source is not None:
            out[SOURCE] = source
        out[LOADED_SHAPE] = shape
        return out

    def _thread_loading(self) -> tuple[Compose, list[Any]]:
        """The calling thread's loading transforms and the watchers of their picture readers' converters.

        Each thread has its own copy: MONAI's DICOM and NIfTI readers keep per-read state.
        """
        loading = getattr(self._local, "loading", None)
        if loading is None:
            loading = self._local.loading = copy.deepcopy(self.loading)
            self._local.watchers = watch_readers(loading)
        return loading, self._local.watchers

    def _forward_groups(self, items: list[dict[str, Any]], fingerprint: bool = False) -> list[Group]:
        """The network pass of each same-shape group of ``items``: (indices, collated batch, logits).

        ``fingerprint``: each item also gets its deepest activation under ``ACTIVATION``.
        """
        from monai.data import list_data_collate

        out = []
        for group in _same_shape_groups(items):
            batch = list_data_collate([_inputs(items[i]) for i in group])
            if not fingerprint:
                out.append((group, batch, self.forward(batch["image"])))
                continue
            logits, deep = self.forward_capturing(batch["image"])
            for j, i in enumerate(group):
                items[i][ACTIVATION] = deep[j] if deep is not None else None
            out.append((group, batch, logits))
        return out

    def _post(self, items: list[dict[str, Any]], passes: list[Group]) -> list[Prediction]:
        """Decollate each pass and run the post transforms per image; results in item order."""
        preds: dict[int, Prediction] = {}
        for group, batch, logits in passes:
            for i, (b, o, steps) in zip(group, self._batch_outputs(batch, logits, [items[i] for i in group]), strict=True):
                preds[i] = self._post_one(b, o, steps)
        return [preds[i] for i in range(len(items))]

    def _batch_outputs(self, batch: dict[str, Any], logits: Any,
                       items: list[dict[str, Any]] | None = None) -> list[tuple[dict[str, Any], dict[str, Any], Any]]:
        """(input item, output item, post transforms left to run) per image of one network pass.

        The post transforms the engine can run on the whole batch (``batched.plan``) run here first.
        ``items``, the pass's prepared items, stand in for its decollated inputs when only numpy steps
        follow (they read no input item): each image holds what decollation gives back, without it.
        """
        plan = self.batch_post
        if plan.activation is None:
            return [(b, o, self.per_image_post) for b, o in _decollated(batch, logits)]
        from monai.utils import convert_to_dst_type

        scores = plan.activate(logits)
        arrays_only = self.per_image_post is None or self._array_steps.get(id(self.per_image_post)) is not None
        inputs = [_inputs(item) for item in items] if items is not None and arrays_only else _decollated_inputs(batch)
        images = [b["image"] for b in inputs]
        per_image = batched.inverted(scores, images) if plan.invert else None
        if per_image is None:  # the image's Invertd (if any) runs per image, on the activated scores
            return [(b, o, self.after_activation) for b, o in _decollated(batch, convert_to_dst_type(scores, logits)[0])]
        return [(b, {"image": im, "pred": p}, self.per_image_post)
                for b, im, p in zip(inputs, images, per_image, strict=True)]

    def _post_one(self, item: dict[str, Any], output: dict[str, Any], steps: Any) -> Prediction:
        """One image's remaining post transforms (savers left out) and its result."""
        from monai.engines.utils import engine_apply_transform

        arrays = self._array_steps.get(id(steps)) if steps is not None else None
        pred = output["pred"]
        if arrays is not None:  # the same arithmetic on the array (see ``array_post``)
            return self._prediction(*array_result(pred, arrays))
        if isinstance(pred, batched.BlockCopy):
            output = {**output, "pred": pred.values()}
        if steps is not None:
            item, output = engine_apply_transform(item, output, steps)
        return self._result(output["pred"])

    def _result(self, pred: Any) -> Prediction:
        return self._prediction(as_numpy(pred), getattr(pred, "affine", None))

    def _prediction(self, array: np.ndarray, affine: Any) -> Prediction:
        affine_np = np.asarray(affine.cpu() if hasattr(affine, "cpu") else affine, dtype=float) if affine is not None else None
        if self.bundle.task == "classification":
            return Prediction(probabilities=array.reshape(-1).astype(np.float64), affine=affine_np)
        if array.ndim > 1 and array.shape[0] > 1:  # post transforms without an argmax: channel scores
            array = np.argmax(array, axis=0)[None]
        mask = array[0] if array.ndim > 1 else array
        return Prediction(mask=np.rint(mask).astype(np.uint8), affine=affine_np)


def _plain(batch: Any) -> Any:
    """The batch's data as a plain tensor (a ``MetaTensor``'s without its metadata)."""
    as_tensor = getattr(batch, "as_tensor", None)
    return as_tensor() if callable(as_tensor) else batch


def _with_meta_of(batch: Any, out: Any) -> Any:
    """``out`` (a tensor, or tensors in a tuple, list or dict) with ``batch``'s metadata when ``batch`` has any.

    What MONAI's ``MetaTensor.update_meta`` gives the output of an operation on the batch: the same
    batch flag, the metadata shared (a batch) or copied (one image).
    """
    import torch
    from monai.data import MetaTensor
    from monai.data.meta_obj import get_track_meta

    if not isinstance(batch, MetaTensor) or not get_track_meta():
        return out
    if isinstance(out, tuple | list):
        return type(out)(_with_meta_of(batch, o) for o in out)
    if isinstance(out, dict):
        return {k: _with_meta_of(batch, o) for k, o in out.items()}
    if not isinstance(out, torch.Tensor) or isinstance(out, MetaTensor):
        return out
    ret = MetaTensor(out)
    ret.is_batch = batch.is_batch
    return ret.copy_meta_from(batch, copy_attr=not batch.is_batch)


def _keep(_: int, prediction: Prediction) -> Prediction:
    return prediction


def _finished(part: tuple[int, list[dict[str, Any]], Pass[list[Group]]]) -> tuple[int, list[dict[str, Any]], list[Group]]:
    """(first index, prepared items, passes) of a part whose passes were queued: waits for them."""
    first, items, passes = part
    return first, items, passes.result()


def _then(then: Callable[[int, Prediction], T], i: int, item: dict[str, Any], post: Callable[..., Prediction],
          *args: Any) -> T:
    return then(i, _sourced(post(*args), item))


def _sourced(prediction: Prediction, item: dict[str, Any]) -> Prediction:
    """The prediction with what its prepared item kept for the tools: the loaded image, the fingerprint."""
    prediction.source = item.get(SOURCE)
    activation = item.get(ACTIVATION)
    if activation is not None:
        from mimir.tools.ood.features import image_groups

        prediction.fingerprint = image_groups(item["image"], activation, item[LOADED_SHAPE] or tuple(item["image"].shape))
    return prediction


def _inputs(item: dict[str, Any]) -> dict[str, Any]:
    """A prepared item without what it keeps for the tools (the loaded image, shapes, activations)."""
    return {k: v for k, v in item.items() if k not in _KEPT}


def _decollated(batch: dict[str, Any], logits: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(input item, output item) pairs of one network pass, as MONAI's evaluator decollates them."""
    from monai.data import decollate_batch

    outputs = decollate_batch({"image": batch["image"], "pred": logits}, detach=True)
    return list(zip(_decollated_inputs(batch), outputs, strict=True))


def _decollated_inputs(batch: dict[str, Any]) -> list[dict[str, Any]]:
    from monai.data import decollate_batch

    return list(decollate_batch(batch, detach=True))


def _same_shape_groups(items: list[dict[str, Any]]) -> list[list[int]]:
    """Indices of items grouped by input shape (a batch needs one shape)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(tuple(item["image"].shape), []).append(i)
    return list(groups.values())


class EnginePool:
    """Engines by (bundle folder, weights file state, device), each loaded once under a load lock."""

    def __init__(self) -> None:
        self._engines: dict[tuple[str, int, int, str], ExpertEngine] = {}
        self._load_lock = threading.Lock()

    def get(self, bundle: BundleInfo, device: str = "cpu") -> ExpertEngine:
        """The engine of ``bundle`` on ``device``; loaded on first use, again when the weights change."""
        weights = (bundle.root / "models" / "model.pt").stat()
        key = (str(bundle.root.resolve()), weights.st_size, weights.st_mtime_ns, device)
        engine = self._engines.get(key)
        if engine is not None:
            return engine
        with self._load_lock:
            if key not in self._engines:
                log.info("loading expert %s on %s", bundle.name, device)
                self._engines[key] = ExpertEngine(bundle, device)
            return self._engines[key]


#: The process's engines: experts load once per process, like any lazily loaded model.
ENGINES = EnginePool()
