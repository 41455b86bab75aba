"""The numpy post transforms of mimir's bundles give what MONAI's own transforms give."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import AsDiscrete, RemoveSmallObjects

from mimir.tools.experts.transforms import ArgmaxLabelsd, RemoveSmallLesionsd, channel_argmax


def test_argmax_labels_match_monai_asdiscrete_with_ties_and_keep_metadata() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(3, 40, 56)).astype(np.float32)
    scores[:, :5] = 0.5  # three-way ties: the first channel wins, as in torch.argmax
    scores[2, 5:10] = scores[1, 5:10]  # two-way ties between later channels
    affine = torch.diag(torch.tensor([2.0, 3.0, 1.0, 1.0], dtype=torch.float64))
    pred = MetaTensor(torch.from_numpy(scores), affine=affine)
    expected = AsDiscrete(argmax=True)(pred)
    out = ArgmaxLabelsd(keys="pred")({"pred": pred})["pred"]
    assert isinstance(out, MetaTensor) and out.shape == (1, 40, 56)
    assert torch.equal(out.as_tensor(), expected.as_tensor())
    assert torch.equal(out.affine, affine)
    assert channel_argmax(scores).dtype == np.uint8


def test_small_lesions_removed_up_to_the_limit_with_diagonal_neighbours() -> None:
    labels = np.zeros((40, 50), dtype=np.float32)
    labels[2, 2] = 1  # one pixel
    labels[10, 10], labels[11, 11] = 2, 1  # two pixels touching at a corner: one component of 2
    labels[20, 20:23] = 2  # three pixels
    labels[30:32, 30:32] = 1  # four pixels
    affine = torch.diag(torch.tensor([0.5, 0.5, 1.0, 1.0], dtype=torch.float64))
    pred = MetaTensor(torch.from_numpy(labels[None]), affine=affine)
    fraction = 3 / (40 * 50)  # a limit of 3 pixels: components of 1, 2 and 3 pixels go
    out = RemoveSmallLesionsd(keys="pred", min_fraction=fraction)({"pred": pred})["pred"]
    assert isinstance(out, MetaTensor) and torch.equal(out.affine, affine)
    expected = np.zeros_like(labels)
    expected[30:32, 30:32] = 1
    assert np.array_equal(out.numpy()[0], expected)
    none = RemoveSmallLesionsd(keys="pred", min_fraction=0.0)({"pred": pred})["pred"]  # limit 1: the lone pixel
    assert int((none.numpy() > 0).sum()) == int((labels > 0).sum()) - 1


def test_small_lesions_removed_as_the_shipped_monai_transform_removes_them() -> None:
    """The bundles' figures were measured with MONAI's RemoveSmallObjects; the same pixels go."""
    from scipy import ndimage

    rng = np.random.default_rng(4)
    for trial in range(20):
        blobs = ndimage.gaussian_filter(rng.random((96, 80)), 1.5)
        labels = np.where(blobs > 0.53, 2, 0) + np.where((blobs > 0.5) & (blobs <= 0.53), 1, 0)
        pred = MetaTensor(torch.from_numpy(labels[None].astype(np.float32)))
        fraction = 0.001 * (trial % 5)
        limit = max(1, int(96 * 80 * fraction))
        expected = pred * RemoveSmallObjects(min_size=limit, connectivity=2)(pred > 0)
        out = RemoveSmallLesionsd(keys="pred", min_fraction=fraction)({"pred": pred})["pred"]
        assert torch.equal(out.as_tensor(), expected.as_tensor()), trial


def test_small_lesion_removal_refuses_channel_scores() -> None:
    with pytest.raises(ValueError, match="one-channel label map"):
        RemoveSmallLesionsd(keys="pred", min_fraction=0.01)({"pred": torch.zeros(3, 8, 8)})
