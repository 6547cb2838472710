"""One experiment, assembled from its config: model, data, LightningModule, callbacks, loggers, Trainer.

Called by `gradgroup.train.train`, which owns the run record. Everything that can reject bad input
(model config, data root, files) runs before `Trainer.fit`, so a bad job fails in seconds.
"""
from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from .complexity import complexity_report
from .errors import ConfigError
from .lit_module import SegmentationModule
from .models import build_model


def model_kwargs(cfg: DictConfig, **overrides) -> dict:
    """The `model` config group as plain kwargs for `build_model`."""
    kwargs = OmegaConf.to_container(cfg.model, resolve=True)
    kwargs.update(overrides)
    return kwargs


def deployable_model(cfg: DictConfig) -> torch.nn.Module:
    """The network as deployed: no encoder head, gradual convs already converted to grouped convs.

    A converted gradual model has exactly the architecture of the same model built without `gradual`,
    so its params and MACs are counted on that build (no training needed).
    """
    kwargs = model_kwargs(cfg)
    kwargs["encoder"] = {**kwargs.get("encoder", {}), "gradual": False}
    return build_model(**kwargs)


def measure_complexity(cfg: DictConfig) -> dict:
    c = cfg.complexity
    return complexity_report(deployable_model(cfg), tuple(c.input_hw), c.convention)


def class_weights(cfg: DictConfig, datamodule) -> torch.Tensor | None:
    from .data import cityscapes

    kind = cfg.loss.weights
    if kind in (None, "none"):
        return None
    if kind == "erfnet":
        return torch.tensor(cityscapes.ERFNET_CLASS_WEIGHTS, dtype=torch.float32)
    if kind == "histogram":
        return torch.as_tensor(datamodule.compute_class_weights(), dtype=torch.float32)
    raise ConfigError(f"loss.weights: unknown value {kind!r}; expected erfnet, histogram or none.")


def make_loggers(cfg: DictConfig, run_dir: Path) -> list:
    from pytorch_lightning.loggers import CSVLogger, WandbLogger

    loggers = [CSVLogger(str(run_dir), name="csv", version="")] if cfg.logger.csv else []
    wb = cfg.logger.wandb
    if wb.mode != "disabled":
        if wb.mode not in ("offline", "online"):
            raise ConfigError(f"logger.wandb.mode: {wb.mode!r}; expected offline, online or disabled.")
        group = wb.group or _sweep_name()
        tags = [t for t in [cfg.table, cfg.family, *list(wb.tags)] if t]
        loggers.append(WandbLogger(project=wb.project, entity=wb.entity, group=group, tags=tags,
                                   name=f"{cfg.name}-seed{cfg.seed}", save_dir=str(run_dir), mode=wb.mode,
                                   config=OmegaConf.to_container(cfg, resolve=True)))
    return loggers


def _sweep_name() -> str | None:
    from hydra.core.hydra_config import HydraConfig

    try:
        hc = HydraConfig.get()
    except ValueError:
        return None
    return Path(hc.sweep.dir).name if hc.mode.name == "MULTIRUN" else None


def finish_wandb(record: dict) -> None:
    """Always close the job's wandb run, else a multirun merges every job into one wandb run."""
    import sys

    if "wandb" not in sys.modules:
        return
    import wandb

    if wandb.run is not None:
        summary = {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and v is not None}
        wandb.run.summary.update(summary)
        wandb.finish(exit_code=0 if record.get("status") == "ok" else 1)


def make_callbacks(cfg: DictConfig, run_dir: Path) -> list:
    from pytorch_lightning.callbacks import ModelCheckpoint, RichProgressBar

    callbacks = [ModelCheckpoint(dirpath=str(run_dir / "checkpoints"), filename="best", monitor="val/miou",
                                 mode="max", save_last=True)]
    if cfg.trainer.get("enable_progress_bar", True):
        callbacks.append(RichProgressBar())
    return callbacks


def run(cfg: DictConfig, run_dir: Path) -> dict:
    """Build, train, test and measure; return the results part of the run record."""
    pl.seed_everything(cfg.seed, workers=True)
    model = build_model(**model_kwargs(cfg))
    complexity = measure_complexity(cfg)

    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")  # validates the data root and every file before training starts
    module = SegmentationModule(model, datamodule.class_names, class_weights(cfg, datamodule), **cfg.optim)

    trainer_kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    trainer = pl.Trainer(**trainer_kwargs, default_root_dir=str(run_dir), logger=make_loggers(cfg, run_dir),
                         callbacks=make_callbacks(cfg, run_dir))
    trainer.fit(module, datamodule=datamodule)

    ckpt = cfg.eval.checkpoint if trainer.checkpoint_callback.best_model_path else None
    trainer.test(module, dataloaders=datamodule.val_dataloader(), ckpt_path=ckpt, verbose=False)
    per_class = module.last_test_class_iou
    return {
        "miou": float(torch.nanmean(per_class) * 100),
        "class_iou": {n: (None if torch.isnan(v) else round(float(v) * 100, 3))
                      for n, v in zip(module.class_names, per_class)},
        "params": complexity["params"],
        "gmacs": complexity["gmacs"],
        "epochs": trainer.current_epoch,
        "checkpoints": {"best": trainer.checkpoint_callback.best_model_path,
                        "last": trainer.checkpoint_callback.last_model_path},
    }
