"""Small networks behind mimir's own MONAI experts.

Both networks expose ``embed(x) -> (N, D)``: the global-average-pooled deepest features, which
``mimir.tools.experts.embed`` turns into image embeddings for the retriever. ``inference.json``
builds them through ``_target_`` so the bundles stay plain MONAI bundles.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.nets import BasicUNet
from torch import nn


def _conv_bn(in_ch: int, out_ch: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class SmallClassifier(nn.Module):
    """A small 2D CNN classifier: a stride-2 stem, then conv + max-pool stages (about 60 k parameters)."""

    def __init__(self, in_channels: int, num_classes: int, channels: Sequence[int] = (16, 24, 32, 48, 64)) -> None:
        super().__init__()
        stages: list[nn.Module] = [_conv_bn(in_channels, channels[0], stride=2)]
        for prev, ch in zip(channels[:-1], channels[1:], strict=True):
            stages += [_conv_bn(prev, ch), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels[-1], num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled features of the last stage, shape (N, channels[-1])."""
        return self.pool(self.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape (N, num_classes)."""
        return self.head(self.embed(x))


class LesionUNet(BasicUNet):
    """MONAI's 2D ``BasicUNet`` (batch norm, so crops and whole slices normalise alike) with ``embed``."""

    def __init__(
        self, in_channels: int = 1, out_channels: int = 3, features: Sequence[int] = (8, 8, 16, 32, 64, 8)
    ) -> None:
        super().__init__(
            spatial_dims=2, in_channels=in_channels, out_channels=out_channels, features=features, norm="batch"
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled bottleneck features, shape (N, features[4])."""
        x0 = self.conv_0(x)
        x4 = self.down_4(self.down_3(self.down_2(self.down_1(x0))))
        return x4.mean(dim=(2, 3))


class FlipAveragingInferer:
    """Test-time augmentation: the mean of the network's logits on the image and its two flips.

    Used as a bundle's ``inferer`` (``_target_``), like MONAI's ``SimpleInferer``.
    """

    def __call__(self, inputs: torch.Tensor, network: nn.Module, *args: object, **kwargs: object) -> torch.Tensor:
        """Logits averaged over identity, left-right and up-down flips (flipped back before averaging)."""
        out = network(inputs, *args, **kwargs)
        for dim in (-1, -2):
            out = out + network(inputs.flip(dim), *args, **kwargs).flip(dim)
        return out / 3.0
