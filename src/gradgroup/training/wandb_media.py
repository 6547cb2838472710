"""What a wandb dashboard shows beyond scalar curves: validation images with their predicted and true
masks as `wandb.Image` mask layers (Cityscapes class names, toggled per class in the UI), a few times per
run and size-capped, and the per-class IoU of the final test as a wandb Table.

Active only when the trainer has a WandbLogger (offline by default), so CSV-only runs pay nothing: wandb
is taken from `sys.modules`, where the WandbLogger loaded it, never imported here. That matters beyond
start-up time: importing wandb creates two directories in the system temp dir (`tmp*wandb-media`,
`tmp*wandb-artifacts`, module-level `tempfile.TemporaryDirectory`s of wandb) that only a normal
interpreter exit removes; `remove_wandb_temp_dirs` removes them on the other exits (jobs/launcher_watch.py).
"""
from __future__ import annotations

import math
import sys
import tempfile

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger

from ..common.scores import IGNORE_INDEX, class_iou_record


def _wandb_logger(trainer: pl.Trainer) -> WandbLogger | None:
    return next((lg for lg in trainer.loggers if isinstance(lg, WandbLogger)), None)


def _wandb():
    return sys.modules["wandb"]  # loaded by the WandbLogger these callers found


def _wandb_temp_dirs() -> list[tempfile.TemporaryDirectory]:
    """wandb's module-level temp dirs, where wandb is loaded (wandb 0.2x-0.31 names)."""
    found = []
    private, artifact = sys.modules.get("wandb.sdk.data_types._private"), sys.modules.get("wandb.sdk.artifacts.artifact")
    if private is not None:
        found.append(getattr(private, "MEDIA_TMP", None))
    if artifact is not None:
        found.append(getattr(getattr(artifact, "Artifact", None), "_TMP_DIR", None))
    return [d for d in found if isinstance(d, tempfile.TemporaryDirectory)]


def remove_wandb_temp_dirs() -> None:
    """Remove wandb's temp dirs now; for a process about to end without the interpreter's exit handlers."""
    for tmp in _wandb_temp_dirs():
        tmp.cleanup()


def media_epochs(every_n_epochs: int | None, max_epochs: int | None) -> int:
    """Epochs between two logged sample sets: `every_n_epochs`, or (null) about four per run."""
    if every_n_epochs is not None:
        return max(1, int(every_n_epochs))
    return max(1, math.ceil((max_epochs or 1) / 4))


def masked_image(wandb, rgb: np.ndarray, pred: np.ndarray, target: np.ndarray, labels: dict, max_side: int):
    """One validation sample: the image with prediction and ground truth as mask layers, strided down so its
    longer side is at most `max_side` pixels (nearest: masks keep their class ids)."""
    step = max(1, math.ceil(max(rgb.shape[:2]) / max_side))
    rgb, pred, target = rgb[::step, ::step], pred[::step, ::step], target[::step, ::step]
    return wandb.Image(np.ascontiguousarray(rgb), masks={
        "prediction": {"mask_data": np.ascontiguousarray(pred.astype(np.uint8)), "class_labels": labels},
        "ground_truth": {"mask_data": np.ascontiguousarray(target.astype(np.uint8)), "class_labels": labels}})


class WandbMedia(pl.Callback):
    """Validation samples for wandb every `every_n_epochs` (null: about four per run) and at the last epoch."""

    def __init__(self, num_images: int = 4, every_n_epochs: int | None = None, max_side: int = 512,
                 mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
        self.num_images, self.every_n_epochs, self.max_side = num_images, every_n_epochs, max_side
        self.mean, self.std = np.array(mean), np.array(std)
        self._batch = None

    def _due(self, trainer: pl.Trainer) -> bool:
        epoch, last = trainer.current_epoch + 1, trainer.max_epochs
        return epoch % media_epochs(self.every_n_epochs, last) == 0 or epoch == last

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if batch_idx == 0 and _wandb_logger(trainer) is not None and not trainer.sanity_checking and self._due(trainer):
            self._batch = (batch[0][: self.num_images].detach(), batch[1][: self.num_images].detach())

    def on_validation_epoch_end(self, trainer, pl_module):
        logger = _wandb_logger(trainer)
        if logger is None or self._batch is None or trainer.sanity_checking:
            return
        images, target = self._batch
        self._batch = None
        with torch.no_grad():
            logits = pl_module(images)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = torch.nn.functional.interpolate(logits, size=target.shape[-2:], mode="bilinear")
        pred = logits.argmax(1).cpu().numpy()
        labels = {i: str(n) for i, n in enumerate(pl_module.class_names)} | {IGNORE_INDEX: "ignore"}
        samples = []
        for img, p, t in zip(images.cpu().numpy(), pred, target.cpu().numpy()):
            rgb = ((img.transpose(1, 2, 0) * self.std + self.mean).clip(0, 1) * 255).astype(np.uint8)
            if rgb.shape[:2] == p.shape:
                samples.append(masked_image(_wandb(), rgb, p, t, labels, self.max_side))
        logger.experiment.log({"val/samples": samples, "trainer/global_step": trainer.global_step})


def log_class_iou_table(trainer: pl.Trainer, class_names, per_class: np.ndarray) -> None:
    """The final test's per-class IoU as a wandb Table (called once testing is done)."""
    logger = _wandb_logger(trainer)
    if logger is None:
        return
    rows = [[n, pct] for n, pct in class_iou_record(per_class, class_names).items()]
    logger.experiment.log({"test/class_iou": _wandb().Table(columns=["class", "IoU (%)"], data=rows)})
