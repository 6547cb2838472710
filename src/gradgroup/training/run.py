"""One experiment, assembled from its config: model, data, LightningModule, callbacks, loggers, Trainer.

Called by `gradgroup.train.train`, which owns the run record. Everything that can reject bad input
(model config, data root, files) runs before `Trainer.fit`, so a bad job fails in seconds.

Two procedures (`procedure.name`):
- `standard`: the whole network trained at once (the paper's Tables 3 and 5, trained from scratch);
  with `grouping=gradual` the GradualGrouping callback anneals the grouped 1x1 convs meanwhile.
- `two_phase`: the paper's section 4 procedure, in `gradgroup.procedure`.
After training, gradual convs are converted to real grouped convs and the converted model is tested.
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

PROCEDURES = ("standard", "two_phase")


def model_kwargs(cfg: DictConfig, **overrides) -> dict:
    """The `model` config group as plain kwargs for `build_model`."""
    kwargs = OmegaConf.to_container(cfg.model, resolve=True)
    kwargs.update(overrides)
    return kwargs


def deploy_kwargs(cfg: DictConfig) -> dict:
    """`build_model` kwargs of the deployed network: gradual convs already converted, no encoder head.

    A converted gradual model has exactly the architecture of the same model built without `gradual`.
    """
    kwargs = model_kwargs(cfg)
    kwargs["encoder"] = {**kwargs.get("encoder", {}), "gradual": False}
    return kwargs


def deployable_model(cfg: DictConfig) -> torch.nn.Module:
    return build_model(**deploy_kwargs(cfg))


def measure_complexity(cfg: DictConfig) -> dict:
    c = cfg.complexity
    return complexity_report(deployable_model(cfg), tuple(c.input_hw), c.convention)


def instantiate_checked(node: DictConfig):
    """hydra.utils.instantiate, but a GradgroupError raised by the target surfaces as itself (Hydra wraps
    it in an InstantiationException), so the CLI shows its message and exits 2."""
    from hydra.errors import InstantiationException

    from .errors import GradgroupError

    try:
        return instantiate(node)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, GradgroupError):
            raise cause from None
        raise


def make_datamodule(cfg: DictConfig):
    datamodule = instantiate_checked(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")  # validates the data root and every file before training starts
    return datamodule


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


def make_loggers(cfg: DictConfig, run_dir: Path, suffix: str = "") -> list:
    from pytorch_lightning.loggers import CSVLogger, WandbLogger

    loggers = [CSVLogger(str(run_dir), name="csv", version=suffix)] if cfg.logger.csv else []
    wb = cfg.logger.wandb
    if wb.mode != "disabled":
        if wb.mode not in ("offline", "online"):
            raise ConfigError(f"logger.wandb.mode: {wb.mode!r}; expected offline, online or disabled.")
        tags = [t for t in [cfg.table, cfg.family, cfg.arm, *list(wb.tags)] if t]
        loggers.append(WandbLogger(project=wb.project, entity=wb.entity, group=wb.group or _sweep_name(),
                                   tags=tags, name=f"{cfg.name}-seed{cfg.seed}{suffix}", save_dir=str(run_dir),
                                   mode=wb.mode, job_type=cfg.table or "train",
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


def has_gradual(model: torch.nn.Module) -> bool:
    from .grouping.masked_conv import gradual_convs

    return bool(gradual_convs(model))


def fit(cfg: DictConfig, run_dir: Path, model: torch.nn.Module, datamodule, weights, *,
        encoder_only: bool = False, max_epochs: int | None = None, optim: dict | None = None,
        ckpt_path: str | None = None, log_suffix: str = "") -> tuple[SegmentationModule, pl.Trainer]:
    """Train `model` under the config's trainer, with checkpoints (best and last) under run_dir."""
    from pytorch_lightning.callbacks import ModelCheckpoint, RichProgressBar

    module = SegmentationModule(model, datamodule.class_names, weights, encoder_only=encoder_only,
                                **{**OmegaConf.to_container(cfg.optim, resolve=True), **(optim or {})})
    callbacks = [ModelCheckpoint(dirpath=str(run_dir / "checkpoints"), filename="best", monitor="val/miou",
                                 mode="max", save_last=True)]
    if cfg.trainer.get("enable_progress_bar", True):
        callbacks.append(RichProgressBar())
    if cfg.logger.wandb.mode != "disabled":
        from .wandb_media import WandbMedia

        callbacks.append(WandbMedia())
    if has_gradual(model):
        if not cfg.grouping.enabled:
            raise ConfigError("model.encoder.gradual is true but no schedule is set: add grouping=gradual.")
        callbacks.append(instantiate_checked(cfg.grouping.callback))
    trainer_kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    if max_epochs is not None:
        trainer_kwargs["max_epochs"] = max_epochs
    trainer = pl.Trainer(**trainer_kwargs, default_root_dir=str(run_dir), callbacks=callbacks,
                         logger=make_loggers(cfg, run_dir, log_suffix))
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    # ModelCheckpoint writes last.ckpt only when it checkpoints (after a validation); write the final
    # state explicitly so last.ckpt always holds the end of training (for gradual runs: alpha = 0).
    trainer.save_checkpoint(str(run_dir / "checkpoints" / "last.ckpt"))
    return module, trainer


def load_weights(module: pl.LightningModule, trainer: pl.Trainer, which: str) -> str:
    """Put the `best` or `last` weights of this fit into `module`; returns the checkpoint's path.

    `last` is the module as training left it (also saved as checkpoints/last.ckpt by `fit`)."""
    if which not in ("best", "last"):
        raise ConfigError(f"eval.checkpoint: {which!r}; expected best or last.")
    if which == "last":
        return str(Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt")
    path = trainer.checkpoint_callback.best_model_path
    if path:
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["state_dict"])
    return path


def convert_checked(model: torch.nn.Module, datamodule) -> tuple[torch.nn.Module, float]:
    """Gradual convs -> real grouped convs, and the max output difference on two val images."""
    from .grouping.convert import convert_to_grouped, max_abs_output_diff

    images = next(iter(datamodule.val_dataloader()))[0][:2]
    converted = convert_to_grouped(model)
    return converted, max_abs_output_diff(model, converted, images)


def convert_for_deployment(module: SegmentationModule, datamodule, run_dir: Path, cfg: DictConfig) -> dict:
    """Convert the trained model in place of the masked one; save a checkpoint without masked classes."""
    module.model, diff = convert_checked(module.model, datamodule)
    path = run_dir / "checkpoints" / "converted.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model_kwargs": deploy_kwargs(cfg), "state_dict": module.model.state_dict()}, path)
    return {"conversion_max_abs_diff": diff, "converted_checkpoint": str(path)}


def test_and_summarise(module: SegmentationModule, trainer: pl.Trainer, datamodule) -> dict:
    """Test on the val split (Cityscapes' test labels are not public; the paper reports val too)."""
    trainer.test(module, dataloaders=datamodule.val_dataloader(), verbose=False)
    per_class = module.last_test_class_iou
    from .wandb_media import log_class_iou_table

    log_class_iou_table(trainer, module.class_names, per_class)
    return {
        "miou": float(torch.nanmean(per_class) * 100),
        "class_iou": {n: (None if torch.isnan(v) else round(float(v) * 100, 3))
                      for n, v in zip(module.class_names, per_class)},
    }


def set_threads(threads) -> None:
    """Pin torch's intra-op threads for this job (e.g. 1 per job when a launcher runs 2 jobs on 2 cores)."""
    if threads is None:
        return
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads={threads!r} is invalid; expected a positive integer or null (torch's default)")
    torch.set_num_threads(threads)


def run(cfg: DictConfig, run_dir: Path) -> dict:
    """Build, train, test and measure; return the results part of the run record."""
    procedure = cfg.procedure.name
    if procedure not in PROCEDURES:
        raise ConfigError(f"procedure.name: unknown procedure {procedure!r}; expected one of {PROCEDURES}.")
    pl.seed_everything(cfg.seed, workers=True)
    set_threads(cfg.get("threads"))
    complexity = measure_complexity(cfg)  # also rejects a bad model config before any data is read
    if cfg.grouping.enabled:
        instantiate_checked(cfg.grouping.callback)  # rejects a bad schedule before any data is read
    datamodule = make_datamodule(cfg)
    weights = class_weights(cfg, datamodule)
    if procedure == "two_phase":
        from .procedure import run_two_phase

        module, trainer, extra = run_two_phase(cfg, run_dir, datamodule, weights)
    else:
        model = build_model(**model_kwargs(cfg))
        module, trainer = fit(cfg, run_dir, model, datamodule, weights, ckpt_path=cfg.get("ckpt_path"))
        extra = {"checkpoint_used": load_weights(module, trainer, cfg.eval.checkpoint)}
        if has_gradual(module.model):
            extra.update(convert_for_deployment(module, datamodule, run_dir, cfg))
    return {
        **test_and_summarise(module, trainer, datamodule),
        "params": complexity["params"],
        "gmacs": complexity["gmacs"],
        "epochs": trainer.current_epoch,
        "checkpoints": {"best": trainer.checkpoint_callback.best_model_path,
                        "last": str(run_dir / "checkpoints" / "last.ckpt")},
        **extra,
    }
