"""The segmenters' training loss: cross-entropy plus soft Dice over the classes an image holds.

MONAI's ``DiceCELoss`` also scores the Dice of a class an image does not hold: ``1 - e / (S + e)``, with
``S`` the predicted mass of that class and ``e = 1e-5``. Below ``e`` that is ``S / e``, a penalty of 1e5
per unit of predicted mass: every lesion-free image (and, for the enhancing class, every image without
contrast) then pushes the class's probability towards zero everywhere, far harder than cross-entropy
does. Trained on many lesion-free slices, the brain lesion network became near-certain of background
(lesion mass about 5e-10 per lesion-free slice) and missed small lesions outright on T1C and T2, where a
small lesion looks like a vessel or a sulcus. Here Dice is averaged only over the (image, class) pairs
whose target holds the class, and cross-entropy over every pixel keeps lesion-free images lesion-free.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PresentClassDiceCELoss(nn.Module):
    """Mean cross-entropy over pixels plus mean soft Dice loss over the (image, class) pairs present in the target.

    Takes logits (N, C, H, W) and a label map (N, 1, H, W) of class indices, like MONAI's
    ``DiceCELoss(to_onehot_y=True, softmax=True)``. The Dice of the classes in ``always`` counts on
    every image, present or not, as MONAI's does: the brain lesion expert keeps it for background and
    non-enhancing lesion, so that lesion-free slices stay lesion-free, and drops it for the enhancing
    class, absent by construction from three contrasts in four (T1, T2, FLAIR) that show the same rim.
    """

    def __init__(self, smooth: float = 1e-5, always: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.smooth = smooth
        self.always = always

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of one batch (a scalar)."""
        labels = target[:, 0].long()
        ce = F.cross_entropy(logits, labels)
        prob = logits.softmax(dim=1)
        onehot = F.one_hot(labels, logits.shape[1]).permute(0, 3, 1, 2).to(prob.dtype)
        truth = onehot.sum(dim=(2, 3))
        overlap = (prob * onehot).sum(dim=(2, 3))
        dice = 1.0 - (2.0 * overlap + self.smooth) / (prob.sum(dim=(2, 3)) + truth + self.smooth)
        scored = truth > 0
        for c in self.always:
            scored[:, c] = True
        return ce + dice[scored].mean()
