"""The segmenters' training loss and the lesion expert's small-lesion and operated-lesion draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.losses import DiceCELoss

from mimir.tools.experts.data import SMALL_LESION_RADIUS_MM, DrawMix, draw_raw
from mimir.tools.experts.losses import PresentClassDiceCELoss


def _batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, 16, 16, generator=gen), torch.randint(0, 3, (4, 1, 16, 16), generator=gen)


def test_equals_monai_dice_ce_when_every_image_holds_every_class() -> None:
    logits, target = _batch(0)
    monai = DiceCELoss(to_onehot_y=True, softmax=True)(logits, target)
    assert float(PresentClassDiceCELoss()(logits, target)) == float(monai)


def test_a_lesion_free_image_is_not_pushed_to_certainty() -> None:
    # a lesion-free image on which the network is already near-certain of background (lesion probability
    # about 2e-9 per pixel): MONAI's Dice of the absent classes still pulls hard on the mass left, ours does not
    logits = torch.zeros(1, 3, 32, 32)
    logits[:, 0] = 20.0
    target = torch.zeros(1, 1, 32, 32, dtype=torch.long)
    grads = []
    for loss_fn in (DiceCELoss(to_onehot_y=True, softmax=True), PresentClassDiceCELoss()):
        x = logits.clone().requires_grad_(True)
        loss_fn(x, target).backward()
        assert x.grad is not None
        grads.append(float(x.grad[:, 1:].abs().sum()))
    assert grads[0] > 1e4 * grads[1]


def test_small_draws_cut_smaller_lesions() -> None:
    def lesion_areas(mix: DrawMix) -> np.ndarray:
        samples = draw_raw("brain_mri_lesion_seg", np.random.default_rng(21), 4 * 24, (128,), mix=mix)
        areas = np.array([int((np.asarray(s.target) > 0).sum()) for s in samples if s.group == "FLAIR"])
        return areas[areas > 0]

    small, any_size = lesion_areas(DrawMix(small=1.0)), lesion_areas(DrawMix())
    # at 2 mm per pixel, a lesion of radius SMALL_LESION_RADIUS_MM is at most pi * 8^2 pixels on its slice
    assert small.max() <= np.pi * (SMALL_LESION_RADIUS_MM / 2) ** 2 * 1.6
    assert np.median(small) < 0.75 * np.median(any_size)


def test_classes_always_scored_keep_monai_dice_where_absent() -> None:
    # an image without enhancing tumour (class 2), as T1, T2 and FLAIR images of an enhancing lesion are
    logits, target = _batch(1)
    target = target.clamp(max=1)
    monai = float(DiceCELoss(to_onehot_y=True, softmax=True)(logits, target))
    assert float(PresentClassDiceCELoss(always=(0, 1, 2))(logits, target)) == monai
    present_only = float(PresentClassDiceCELoss()(logits, target))
    kept = float(PresentClassDiceCELoss(always=(0, 1))(logits, target))
    assert present_only == kept  # classes 0 and 1 are present anyway
    assert kept != monai  # the absent class 2 is not scored


def test_postop_draws_show_more_resection_cavities() -> None:
    def operated(mix: DrawMix) -> int:
        # a gross-total resection (half the operated lesions) leaves a T1C target with lesion but no enhancing tumour
        samples = draw_raw("brain_mri_lesion_seg", np.random.default_rng(22), 4 * 40, (128,), mix=mix)
        return sum(int((np.asarray(s.target) == 2).sum() == 0 and (np.asarray(s.target) > 0).any())
                   for s in samples if s.group == "T1C")

    assert operated(DrawMix(postop=1.0)) > operated(DrawMix(postop=0.0)) + 5


def test_training_draws_come_from_more_brains_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import mimir.demo.brain as brain

    seen: list[tuple[int, int]] = []
    build = brain._pooled_subject

    def recorded(pool: int, key: int) -> object:
        seen.append((pool, key))
        return build(pool, key % brain.POOL_SIZE)  # the pool's first brains stand in for the extra ones

    monkeypatch.setattr(brain, "_pooled_subject", recorded)
    draw_raw("brain_mri_lesion_seg", np.random.default_rng(23), 4 * 40, (128,), mix=DrawMix(anatomies=24))
    assert max(key for _, key in seen) >= brain.POOL_SIZE and all(pool == 0 for pool, _ in seen)
    seen.clear()
    draw_raw("brain_mri_lesion_seg", np.random.default_rng(23), 4 * 40, (128,), pool=1, mix=DrawMix(anatomies=24))
    assert max(key for _, key in seen) < brain.POOL_SIZE  # evaluation keeps its own pool's brains
