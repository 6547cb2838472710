"""The LightningModule that trains any encoder/decoder variant (docs/paper.md section 5).

- Loss: weighted cross-entropy, ignore_index 255 (ERFNet's Cityscapes weights, histogram weights, or none).
- Optimiser: Adam (betas 0.9/0.999, eps 1e-8, weight decay 1e-4) with ERFNet's poly schedule
  (1 - epoch/epochs)^0.9 stepped per epoch. Optional separate encoder lr for the first epochs, which is
  how the paper's phase 2 keeps a pretrained encoder almost frozen (5e-20) while the decoder warms up.
- Metric: torchmetrics' multiclass confusion matrix (summed across DDP ranks), scored by common/scores.py,
  the convention evaluation and export share: a class absent from both ground truth and prediction is
  left out of the mean (as cityscapesscripts does); a class predicted but absent from the ground truth
  scores 0. ERFNet's own evaluator would count the first kind as 0 too.
- Evaluation happens at the label resolution the datamodule gives (the paper: ground truth subsampled
  by 2); logits are bilinearly resized to it when the network's output differs.
- `encoder_only`: the encoder with its 1x1 head on labels downsampled by 8 (ERFNet's first stage).
- Device speed (`compute.*`, docs/gpu.md), none of which changes what is computed beyond float rounding:
  `channels_last` puts the network and its training batches in NHWC while fitting (back to NCHW at the
  end, so evaluation, conversion and export see the usual layout); `compile` runs the training forward
  through `torch.compile` (val and test stay eager). Mixed precision is Lightning's `trainer.precision`.
"""
from __future__ import annotations

from typing import Sequence

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassConfusionMatrix

from ..common.scores import IGNORE_INDEX, class_ious, mean_iou


def downsample_labels(target: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour label downsampling (ERFNet's encoder stage trains on labels / 8)."""
    h, w = target.shape[-2] // factor, target.shape[-1] // factor
    return F.interpolate(target[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()


class SegmentationModule(pl.LightningModule):
    def __init__(self, model: nn.Module, class_names: Sequence[str], class_weights: torch.Tensor | None = None,
                 lr: float = 5e-4, betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-4, poly_power: float = 0.9, encoder_only: bool = False,
                 encoder_lr: float | None = None, encoder_lr_epochs: int = 0, channels_last: bool = False,
                 compile: bool = False, compile_mode: str = "default"):
        super().__init__()
        self.model = model
        self.channels_last, self.compile_mode = bool(channels_last), (str(compile_mode) if compile else None)
        object.__setattr__(self, "_compiled", None)  # not a submodule: its weights are self.model's
        self.class_names = list(class_names)
        self.encoder_only = encoder_only
        self.save_hyperparameters(ignore=["model", "class_weights", "compile_mode"])
        self.hparams["compile_mode"] = str(compile_mode)  # a plain str (the schema's enum would not load weights-only)
        if class_weights is not None:
            class_weights = torch.as_tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", class_weights, persistent=False)
        n = len(self.class_names)
        self.val_iou = MulticlassConfusionMatrix(n, ignore_index=IGNORE_INDEX)
        self.test_iou = MulticlassConfusionMatrix(n, ignore_index=IGNORE_INDEX)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, encoder_only=self.encoder_only)

    def on_fit_start(self):
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if self.compile_mode and self._compiled is None:
            object.__setattr__(self, "_compiled", torch.compile(self.model, mode=self.compile_mode))

    def on_fit_end(self):
        if self.channels_last:
            self.model.to(memory_format=torch.contiguous_format)

    def _logits_and_target(self, batch, train: bool = False):
        image, target = batch
        if self.channels_last and train:
            image = image.contiguous(memory_format=torch.channels_last)
        fast = train and self._compiled is not None
        logits = self._compiled(image, encoder_only=self.encoder_only) if fast else self(image)
        if self.encoder_only:
            factor = max(1, target.shape[-1] // logits.shape[-1])
            target = downsample_labels(target, factor)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
        return logits, target

    def _loss(self, logits, target):
        return F.cross_entropy(logits, target, weight=self.class_weights, ignore_index=IGNORE_INDEX)

    def training_step(self, batch, batch_idx):
        logits, target = self._logits_and_target(batch, train=True)
        loss = self._loss(logits, target)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss: training loss is {loss.item()} at epoch {self.current_epoch + 1}"
                                     f", step {self.global_step} (batch {batch_idx} of the epoch): lower optim.lr "
                                     "or check the data")
        # sync_dist: under DDP the epoch's loss is the mean over every rank's batches (a no-op in one process)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=target.shape[0],
                 sync_dist=True)
        return loss

    def _eval_step(self, batch, metric, stage):
        logits, target = self._logits_and_target(batch)
        self.log(f"{stage}/loss", self._loss(logits, target), on_epoch=True, batch_size=target.shape[0], sync_dist=True)
        metric.update(logits.argmax(1), target)

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, self.val_iou, "val")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch, self.test_iou, "test")

    def _log_iou(self, metric, stage):
        """Per-class IoU (numpy, NaN for a class in neither GT nor prediction), logged with the mIoU."""
        per_class = class_ious(metric.compute().cpu().numpy())
        metric.reset()
        # Already global: torchmetrics summed every rank's confusion counts, so every rank holds the same
        # value; synced with max, which returns it exactly (a mean over ranks could round it).
        same = {"sync_dist": True, "reduce_fx": "max"}
        self.log(f"{stage}/miou", mean_iou(per_class), prog_bar=True, **same)
        for name, iou in zip(self.class_names, per_class):
            self.log(f"{stage}/iou/{name}", float(iou) * 100, **same)
        return per_class

    def on_validation_epoch_end(self):
        self.last_val_class_iou = self._log_iou(self.val_iou, "val")

    def on_test_epoch_end(self):
        self.last_test_class_iou = self._log_iou(self.test_iou, "test")

    def on_train_epoch_start(self):
        self.log("train/lr", self.trainer.optimizers[0].param_groups[-1]["lr"], sync_dist=True, reduce_fx="max")

    def configure_optimizers(self):
        hp = self.hparams
        enc = [p for n, p in self.model.named_parameters() if n.startswith("encoder.")]
        rest = [p for n, p in self.model.named_parameters() if not n.startswith("encoder.")]
        groups = [{"params": enc, "name": "encoder"}]
        if rest:
            groups.append({"params": rest, "name": "decoder"})
        opt = torch.optim.Adam(groups, lr=hp.lr, betas=tuple(hp.betas), eps=hp.eps, weight_decay=hp.weight_decay)
        max_epochs = max(1, self.trainer.max_epochs or 1)

        def poly(epoch: int) -> float:
            return (1 - epoch / max_epochs) ** hp.poly_power

        def encoder_factor(epoch: int) -> float:
            # phase 2 of the paper: encoder at encoder_lr for the first encoder_lr_epochs, then like the rest
            if hp.encoder_lr is not None and epoch < hp.encoder_lr_epochs:
                return hp.encoder_lr / hp.lr * poly(epoch)
            return poly(epoch)

        lambdas = [encoder_factor] + ([poly] if rest else [])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambdas)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
