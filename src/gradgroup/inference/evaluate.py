"""Scoring a split: confusion matrix -> per-class IoU, mIoU, pixel accuracy (docs/paper.md section 5).

The mIoU convention is training's (training/module.py, torchmetrics' Jaccard index): ignore pixels
(255) are skipped, a class absent from both ground truth and prediction is left out of the mean (as
cityscapesscripts does), a class predicted but absent from the ground truth scores 0. Logits are resized
bilinearly to the ground truth's size, as in training, so an eval at the run's label resolution
reproduces the run's own test mIoU. torchmetrics' `MulticlassConfusionMatrix` accumulates the counts.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassConfusionMatrix
from tqdm import tqdm


def scores(confmat: np.ndarray) -> dict:
    """IoU per class (NaN where a class is in neither GT nor prediction), mIoU and pixel accuracy in %."""
    cm = np.asarray(confmat, dtype=np.float64)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(denom > 0, tp / denom, np.nan)
    total = cm.sum()
    return {"iou": iou, "miou": float(np.nanmean(iou) * 100) if np.isfinite(iou).any() else float("nan"),
            "pixel_accuracy": float(tp.sum() / total * 100) if total else float("nan")}


def predict_batch(predictor, images: torch.Tensor, size) -> torch.Tensor:
    """trainId predictions [N, h, w] at `size` (logits resized bilinearly when the network's differ)."""
    logits = predictor(images)
    if tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
    return logits.argmax(1)


def evaluate(predictor, loader: Iterable, num_classes: int, ignore_index: int = 255,
             on_batch: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
             progress: bool = True) -> dict:
    """Run `predictor` over (image, target) batches; returns scores() plus the confusion matrix and counts.

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


def class_iou(iou, class_names) -> dict:
    """{class name: IoU in % (3 decimals) or None for a class absent from GT and prediction}."""
    return {n: (None if np.isnan(v) else round(float(v) * 100, 3)) for n, v in zip(class_names, iou)}
