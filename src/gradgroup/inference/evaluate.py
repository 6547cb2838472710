"""Scoring a split: confusion matrix -> per-class IoU, mIoU, pixel accuracy (docs/paper.md section 5).

torchmetrics' `MulticlassConfusionMatrix` accumulates the counts and common/scores.py turns them into
scores, as in training (the same convention: ignore pixels skipped, a class absent from both ground truth
and prediction left out of the mean). Logits are resized bilinearly to the ground truth's size, as in
training, so an eval at the run's label resolution reproduces the run's own test mIoU.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassConfusionMatrix
from tqdm import tqdm

from ..common.scores import IGNORE_INDEX, scores


def predict_batch(predictor, images: torch.Tensor, size) -> torch.Tensor:
    """trainId predictions [N, h, w] at `size` (logits resized bilinearly when the network's differ)."""
    logits = predictor(images)
    if tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
    return logits.argmax(1)


def evaluate(predictor, loader: Iterable, num_classes: int, ignore_index: int = IGNORE_INDEX,
             on_batch: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
             progress: bool = True) -> dict:
    """Run `predictor` over (image, target) batches; returns `scores()` (common/scores.py) plus the
    confusion matrix and the image count.

    `on_batch(batch_index, prediction, target)` sees every batch (the official writer uses it)."""
    confmat = MulticlassConfusionMatrix(num_classes, ignore_index=ignore_index)
    images = 0
    total = len(loader) if hasattr(loader, "__len__") else None
    for i, (image, target) in enumerate(tqdm(loader, total=total, desc="eval", disable=not progress, unit="batch")):
        pred = predict_batch(predictor, image, target.shape[-2:])
        confmat.update(pred, target)
        images += image.shape[0]
        if on_batch is not None:
            on_batch(i, pred, target)
    cm = confmat.compute().numpy().astype(np.int64)  # rows: ground truth, columns: prediction
    return {**scores(cm), "confmat": cm, "images": images}
