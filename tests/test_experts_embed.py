"""Image embeddings from the shipped experts' encoders."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from mimir.tools.experts.embed import DEFAULT_EMBEDDER, embed_images, embedder_version
from mimir.tools.experts.train import bundle_dir


def _slices() -> dict[str, np.ndarray]:
    from mimir.demo.synth import mri_slice_sample

    images, _ = mri_slice_sample(np.random.default_rng(424242), size=256)
    return images


def test_embeddings_are_normalised_and_layout_consistent(tmp_path: Path) -> None:
    bundle = bundle_dir(DEFAULT_EMBEDDER)
    images = _slices()
    png = tmp_path / "t2.png"
    Image.fromarray(np.round(images["T2"] * 255).astype(np.uint8)).save(png)
    vecs = embed_images(bundle, [images["T2"], png, images["T1"], images["T2"].T])
    assert vecs.dtype == np.float32 and vecs.shape[0] == 4 and vecs.shape[1] >= 16
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    same_picture = float(vecs[0] @ vecs[1])  # array and its PNG file
    assert same_picture > 0.99
    assert float(vecs[0] @ vecs[2]) < same_picture  # another contrast
    assert float(vecs[0] @ vecs[3]) < same_picture  # the picture transposed


def test_classifier_encoder_embeds_rgb_photographs() -> None:
    from skimage.data import retina

    vecs = embed_images(bundle_dir("fundus_laterality_classifier"), [retina(), retina()[:, ::-1]])
    assert vecs.shape == (2, 64)
    assert float(vecs[0] @ vecs[1]) < 0.999


def test_embedder_version_tracks_the_weights() -> None:
    bundle = bundle_dir(DEFAULT_EMBEDDER)
    sha = hashlib.sha256((bundle / "models/model.pt").read_bytes()).hexdigest()[:12]
    version = json.loads((bundle / "configs/metadata.json").read_text())["version"]
    assert embedder_version(bundle) == f"{DEFAULT_EMBEDDER}-{version}-{sha}"
