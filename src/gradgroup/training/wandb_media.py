"""What a wandb dashboard shows beyond scalar curves: validation images with predicted and true masks
in the Cityscapes palette, and the per-class IoU of the final test as a wandb Table.

Active only when the trainer has a WandbLogger (offline by default), so CSV-only runs pay nothing: wandb
is taken from `sys.modules`, where the WandbLogger loaded it, never imported here. That matters beyond
start-up time: importing wandb creates two directories in the system temp dir (`tmp*wandb-media`,
`tmp*wandb-artifacts`, module-level `tempfile.TemporaryDirectory`s of wandb) that only a normal
interpreter exit removes; `remove_wandb_temp_dirs` removes them on the other exits (jobs/launcher_watch.py).
"""
from __future__ import annotations

import sys
import tempfile

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger

from ..common.scores import class_iou_record
from ..data.labels import colorize


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


class WandbMedia(pl.Callback):
    def __init__(self, num_images: int = 4, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
        self.num_images = num_images
        self.mean, self.std = np.array(mean), np.array(std)
        self._batch = None

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if batch_idx == 0 and _wandb_logger(trainer) is not None:
            self._batch = (batch[0][: self.num_images].detach(), batch[1][: self.num_images].detach())

    def on_validation_epoch_end(self, trainer, pl_module):
        logger = _wandb_logger(trainer)
        if logger is None or self._batch is None or trainer.sanity_checking:
            return
        images, target = self._batch
        with torch.no_grad():
            logits = pl_module(images)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = torch.nn.functional.interpolate(logits, size=target.shape[-2:], mode="bilinear")
        pred = logits.argmax(1).cpu().numpy()
        panels = []
        for img, p, t in zip(images.cpu().numpy(), pred, target.cpu().numpy()):
            rgb = ((img.transpose(1, 2, 0) * self.std + self.mean).clip(0, 1) * 255).astype(np.uint8)
            if rgb.shape[:2] != p.shape:
                continue
            panels.append(_wandb().Image(np.concatenate([rgb, colorize(p), colorize(t)], 1),
                                      caption="image | prediction | ground truth"))
        logger.experiment.log({"val/examples": panels, "trainer/global_step": trainer.global_step})


def log_class_iou_table(trainer: pl.Trainer, class_names, per_class: np.ndarray) -> None:
    """The final test's per-class IoU as a wandb Table (called once testing is done)."""
    logger = _wandb_logger(trainer)
    if logger is None:
        return
    rows = [[n, pct] for n, pct in class_iou_record(per_class, class_names).items()]
    logger.experiment.log({"test/class_iou": _wandb().Table(columns=["class", "IoU (%)"], data=rows)})
