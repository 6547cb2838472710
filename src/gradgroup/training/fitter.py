"""One Lightning fit with everything the run built: datamodule, module/trainer/logger factories, callbacks.

A `Fitter` is assembled once by `gradgroup.training.run.train` from the config's `_target_` nodes and
handed to a procedure, which calls `fit` once per phase with the model and the phase's run dir. Each fit
gets its own checkpoint callback (best and last under `<dir>/checkpoints/`) and loggers under `<dir>`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from ..errors import ConfigError
from ..grouping.convert import convert_to_grouped, max_abs_output_diff
from ..models.gradual_conv import gradual_convs
from .checkpoints import load_weights_file
from .wandb_media import log_class_iou_table


@dataclass
class Fitter:
    datamodule: Any
    make_module: Callable[..., pl.LightningModule]   # partial SegmentationModule (optimiser settings bound)
    make_trainer: Callable[..., pl.Trainer]           # partial pl.Trainer (trainer settings bound)
    make_loggers: Callable[[Path, str], list]         # (save dir, version suffix) -> loggers
    callbacks: list = field(default_factory=list)     # added to every fit (progress bar, wandb media)
    gradual_callback: pl.Callback | None = None       # added to fits of models with gradual convs
    class_weights: torch.Tensor | None = None

    def fit(self, model: torch.nn.Module, run_dir: Path, *, encoder_only: bool = False,
            max_epochs: int | None = None, optim: dict | None = None, ckpt_path: str | None = None,
            log_suffix: str = "") -> tuple[pl.LightningModule, pl.Trainer]:
        """Train `model`, with checkpoints (best and last) under run_dir."""
        module = self.make_module(model=model, class_names=self.datamodule.class_names,
                                  class_weights=self.class_weights, encoder_only=encoder_only, **(optim or {}))
        callbacks = [ModelCheckpoint(dirpath=str(run_dir / "checkpoints"), filename="best", monitor="val/miou",
                                     mode="max", save_last=True)]
        callbacks += [copy.deepcopy(cb) for cb in self.callbacks]  # fresh state for every fit
        if gradual_convs(model):
            if self.gradual_callback is None:
                raise ConfigError("model.encoder.gradual is true but no schedule is set: use grouping=gradual.")
            callbacks.append(self.gradual_callback)
        trainer = self.make_trainer(default_root_dir=str(run_dir), callbacks=callbacks,
                                    logger=self.make_loggers(run_dir, log_suffix),
                                    **({} if max_epochs is None else {"max_epochs": max_epochs}))
        trainer.fit(module, datamodule=self.datamodule, ckpt_path=ckpt_path)
        # ModelCheckpoint writes last.ckpt only when it checkpoints (after a validation); write the final
        # state explicitly so last.ckpt always holds the end of training (for gradual runs: alpha = 0).
        trainer.save_checkpoint(str(run_dir / "checkpoints" / "last.ckpt"))
        return module, trainer

    @staticmethod
    def load_weights(module: pl.LightningModule, trainer: pl.Trainer, which: str) -> str:
        """Put the `best` or `last` weights of this fit into `module`; returns the checkpoint's path.

        `last` is the module as training left it (also saved as checkpoints/last.ckpt by `fit`)."""
        if which == "last":
            return str(Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt")
        path = trainer.checkpoint_callback.best_model_path
        if path:
            blob = load_weights_file(path, "eval.checkpoint=best", "the best checkpoint this run wrote")
            module.load_state_dict(blob["state_dict"])
        return path


def convert_checked(model: torch.nn.Module, datamodule) -> tuple[torch.nn.Module, float]:
    """Gradual convs -> real grouped convs, and the max output difference on two val images."""
    images = next(iter(datamodule.val_dataloader()))[0][:2]
    converted = convert_to_grouped(model)
    return converted, max_abs_output_diff(model, converted, images)


def test_and_summarise(module, trainer: pl.Trainer, datamodule) -> dict:
    """Test on the val split (Cityscapes' test labels are not public; the paper reports val too)."""
    trainer.test(module, dataloaders=datamodule.val_dataloader(), verbose=False)
    per_class = module.last_test_class_iou
    log_class_iou_table(trainer, module.class_names, per_class)
    return {
        "miou": float(torch.nanmean(per_class) * 100),
        "class_iou": {n: (None if torch.isnan(v) else round(float(v) * 100, 3))
                      for n, v in zip(module.class_names, per_class)},
    }
