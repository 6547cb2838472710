"""One Lightning fit with everything the run built: datamodule, module/trainer/logger factories, callbacks.

A `Fitter` is assembled once by `gradgroup.training.run.train` from the config's `_target_` nodes and
handed to a procedure, which calls `fit` once per phase with the model and the phase's run dir. Each fit
gets its own checkpoint callback (best and last under `<dir>/checkpoints/`, last every epoch), loggers
under `<dir>`, the RNG-state callback of exact resume (training/resume.py) and checkpoint I/O that
saves atomically and loads weights only (training/checkpoints.py). Under DDP the val/test loaders count
every image once (training/distributed.py).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins.environments import SLURMEnvironment

from ..common.run_files import LAST, checkpoints_dir, last_checkpoint
from ..common.scores import class_iou_record, mean_iou
from ..data.cityscapes import unwrap_loader_error
from ..errors import DataError
from ..grouping.convert import convert_to_grouped, max_abs_output_diff
from ..models.gradual_conv import gradual_convs
from ..models.weights_file import load_weights_file
from .checkpoints import AtomicCheckpointIO
from .distributed import eval_once, single_process_images
from .resume import RngState
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
    run_callbacks: list = field(default_factory=list)  # shared by every fit of the run (the heartbeat)

    def fit(self, model: torch.nn.Module, run_dir: Path, *, encoder_only: bool = False,
            max_epochs: int | None = None, optim: dict | None = None, ckpt_path: str | None = None,
            log_suffix: str = "") -> tuple[pl.LightningModule, pl.Trainer]:
        """Train `model`, with checkpoints (best and last) under run_dir."""
        module = self.make_module(model=model, class_names=self.datamodule.class_names,
                                  class_weights=self.class_weights, encoder_only=encoder_only, **(optim or {}))
        # best.ckpt when val mIoU improves; last.ckpt after every epoch (ModelCheckpoint's own save_last only
        # copies a checkpoint it saves anyway, i.e. when the best improves: a kill would lose epochs).
        ckpt_dir = str(checkpoints_dir(run_dir))
        # No version counter: a rerun overwrites best.ckpt rather than writing best-v1.ckpt beside a stale one.
        callbacks = [ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val/miou", mode="max",
                                     enable_version_counter=False),
                     ModelCheckpoint(dirpath=ckpt_dir, filename=LAST, monitor=None, save_top_k=1,
                                     every_n_epochs=1, enable_version_counter=False)]
        callbacks += [copy.deepcopy(cb) for cb in self.callbacks]  # fresh state for every fit
        callbacks += [RngState(), *self.run_callbacks]
        if gradual_convs(model) and self.gradual_callback is not None:  # paired once, config/checks.py
            callbacks.append(self.gradual_callback)
        trainer = self.make_trainer(default_root_dir=str(run_dir), callbacks=callbacks,
                                    logger=self.make_loggers(run_dir, log_suffix),
                                    plugins=[AtomicCheckpointIO(), *slurm_environment()],
                                    **({} if max_epochs is None else {"max_epochs": max_epochs}))
        try:
            if trainer.world_size > 1:  # DDP: loaders given directly, so the val loader counts images once
                self.datamodule.trainer = trainer  # what Lightning attaches itself otherwise (the sampler's epoch)
                trainer.fit(module, train_dataloaders=self.datamodule.train_dataloader(),
                            val_dataloaders=eval_ddp(trainer, self.datamodule.val_dataloader(), "val"),
                            ckpt_path=ckpt_path)
            else:
                trainer.fit(module, datamodule=self.datamodule, ckpt_path=ckpt_path)
        except DataError as err:
            # A file that passed validation but fails now (changed on disk): one message naming it, not a
            # DataLoader worker traceback; ModelCheckpoint's last.ckpt of the last finished epoch stays.
            last = last_checkpoint(run_dir)
            resume = (f"; fix or remove it, then resume with ckpt_path={last}" if last.is_file()
                      else "; fix or remove it and run again")
            raise DataError(unwrap_loader_error(err) + resume) from None
        # ModelCheckpoint writes last.ckpt only when it checkpoints (after a validation); write the final
        # state explicitly so last.ckpt always holds the end of training (for gradual runs: alpha = 0).
        # weights_only=False said outright: the full state (optimiser, loops, callbacks) that resume needs;
        # left unset, Lightning logs "`weights_only` was not set" once per job.
        trainer.save_checkpoint(str(last_checkpoint(run_dir)), weights_only=False)
        return module, trainer

    @staticmethod
    def load_weights(module: pl.LightningModule, trainer: pl.Trainer, which: str) -> str:
        """Put the `best` or `last` weights of this fit into `module`; returns the checkpoint's path.

        `last` is the module as training left it (also saved as checkpoints/last.ckpt by `fit`)."""
        if which == "last":
            return str(last_checkpoint(trainer.default_root_dir))
        path = trainer.checkpoint_callback.best_model_path
        if path:
            blob = load_weights_file(path, "eval.checkpoint=best", "the best checkpoint this run wrote")
            module.load_state_dict(blob["state_dict"])
        return path


def eval_ddp(trainer: pl.Trainer, loader, stage: str):
    """Under DDP: the images one process would evaluate under `limit_<stage>_batches`, split over the ranks
    (the limit is then spent: each rank takes all of its share)."""
    key = f"limit_{stage}_batches"
    shared = eval_once(loader, single_process_images(loader, getattr(trainer, key)))
    setattr(trainer, key, 1.0)
    return shared


def slurm_environment() -> list:
    """Inside a SLURM job, Lightning's SLURMEnvironment (ranks of `srun`'s tasks) with its auto-requeue off:
    that one saves a mid-epoch checkpoint, which does not resume exactly; jobs/slurm.py requeues."""
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def convert_checked(model: torch.nn.Module, datamodule) -> tuple[torch.nn.Module, float]:
    """Gradual convs -> real grouped convs, and the max output difference on two val images."""
    images = next(iter(datamodule.val_dataloader()))[0][:2]
    converted = convert_to_grouped(model)
    return converted, max_abs_output_diff(model, converted, images)


def scored_split(datamodule) -> str:
    """The datamodule key the final test scores: "val" when `data.test_split` is val (the default:
    Cityscapes' test labels are not public, and the paper reports val too), else "test", the split
    `data.test_split` names (e.g. the study's large generated test split, docs/gradual_study.md)."""
    if datamodule.test_split == "val":
        return "val"
    if "test" not in datamodule.datasets:
        datamodule.setup("test")
    return "test"


def test_and_summarise(module, trainer: pl.Trainer, datamodule) -> dict:
    """Test on `scored_split`; the record names the split and how many images it scored."""
    key = scored_split(datamodule)
    loader = datamodule.val_dataloader() if key == "val" else datamodule.test_dataloader()
    results = trainer.test(module, dataloaders=eval_ddp(trainer, loader, "test") if trainer.world_size > 1 else loader,
                           verbose=False)
    per_class = module.last_test_class_iou
    log_class_iou_table(trainer, module.class_names, per_class)
    test_loss = float(results[0]["test/loss"]) if results and "test/loss" in results[0] else None
    check_finite(module.model, test_loss)
    return {
        "miou": mean_iou(per_class),
        "test_split": datamodule.test_split,
        "test_images": len(datamodule.datasets[key]),
        "test_loss": test_loss,
        "class_iou": class_iou_record(per_class, module.class_names),
    }


def check_finite(model: torch.nn.Module, test_loss: float | None) -> None:
    """A model with NaN/inf weights, or a non-finite test loss, is a failed run, never an `ok` row."""
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise FloatingPointError(f"the trained weights are not finite ({len(bad)} tensors, e.g. {bad[0]}): "
                                 "training diverged; lower optim.lr or check the data")
    if test_loss is not None and not math.isfinite(test_loss):
        raise FloatingPointError(f"the test loss is {test_loss}: the model's outputs are not finite")
