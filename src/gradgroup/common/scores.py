"""Segmentation scores from a confusion matrix: per-class IoU, mIoU, pixel accuracy (docs/paper.md section 5).

The one home of the project's mIoU convention, shared by training (training/module.py), evaluation
(inference/evaluate.py) and the export check (deploy/export.py); each accumulates the confusion matrix
with torchmetrics' `MulticlassConfusionMatrix` (rows: ground truth, columns: prediction). Pixels labelled
`IGNORE_INDEX` are not counted. IoU of a class is TP / (TP + FP + FN); a class absent from both ground
truth and prediction has no IoU (NaN) and is left out of the mean, as cityscapesscripts does; a class
predicted but absent from the ground truth scores 0.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

IGNORE_INDEX = 255  # the trainId of pixels that are not scored (Cityscapes' "ignore" classes, padding)


def class_ious(confmat) -> np.ndarray:
    """IoU per class in [0, 1] (float64), NaN where a class is in neither ground truth nor prediction."""
    cm = np.asarray(confmat, dtype=np.float64)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


def mean_iou(ious) -> float:
    """mIoU in %: the mean over classes with an IoU (NaN when no class has one)."""
    iou = np.asarray(ious, dtype=np.float64)
    return float(np.nanmean(iou) * 100) if np.isfinite(iou).any() else float("nan")


def pixel_accuracy(confmat) -> float:
    """Share of scored pixels predicted right, in %."""
    cm = np.asarray(confmat, dtype=np.float64)
    total = cm.sum()
    return float(np.diag(cm).sum() / total * 100) if total else float("nan")


def scores(confmat) -> dict:
    """{"iou": per-class IoU array, "miou": %, "pixel_accuracy": %} of one confusion matrix."""
    iou = class_ious(confmat)
    return {"iou": iou, "miou": mean_iou(iou), "pixel_accuracy": pixel_accuracy(confmat)}


def class_iou_record(ious, class_names: Sequence[str]) -> dict:
    """{class name: IoU in % (3 decimals) or None for a class absent from GT and prediction}."""
    return {n: (None if np.isnan(v) else round(float(v) * 100, 3)) for n, v in zip(class_names, np.asarray(ious, dtype=np.float64))}
