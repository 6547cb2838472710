"""`train(cfg, run_dir)`: one experiment end to end; the only place that builds objects from a config.

The flow (docs/architecture.md): config -> objects (every `_target_` node instantiated here, once) ->
the procedure's fit(s) (the GradualGrouping callback anneals alpha) -> convert -> test -> metrics.json.
Everything that can reject bad input (the model recipe, the schedule, the data root and its files) is
built before any training, so a bad job fails in seconds. Below this module nothing reads a DictConfig.

The order in which objects are built is part of the results: the seed is set first, then the
deployable model is built for counting, then the data, then the trained model, so every experiment
draws the same initial weights as before (tests/test_behaviour_pins.py pins them).
"""
from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ..data.cityscapes import ERFNET_CLASS_WEIGHTS
from ..errors import ConfigError, GradgroupError
from ..measure.complexity import complexity_report
from .fitter import Fitter, test_and_summarise
from .record import base_record, write_record


def instantiate_checked(node: DictConfig, **kwargs):
    """hydra.utils.instantiate, but a GradgroupError raised by the target surfaces as itself (Hydra wraps
    it in an InstantiationException), so the record and the CLI show its message."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, GradgroupError):
            raise err.__cause__ from None
        raise


def describe(cfg: DictConfig) -> dict:
    """What the job is, known before anything can fail (the first metrics.json)."""
    enc = cfg.model.encoder
    return {"experiment": cfg.name, "label": cfg.label, "family": cfg.family, "table": cfg.table or "",
            "arm": cfg.arm, "seed": cfg.seed, "block": str(enc.block), "groups": enc.groups,
            "gradual": bool(enc.gradual), "preset": cfg.get("preset_name"),
            "paper": OmegaConf.to_container(cfg.paper) if cfg.paper is not None else None,
            "gmacs_convention": str(cfg.complexity.convention), "input_hw": list(cfg.complexity.input_hw)}


def train(cfg: DictConfig, run_dir: str | Path) -> dict:
    """Run one experiment end to end and return its metrics record (also written to metrics.json)."""
    run_dir = Path(run_dir)
    record = base_record(describe(cfg))
    write_record(run_dir, record)
    OmegaConf.save(cfg, run_dir / "config.yaml")
    start = time.time()
    try:
        record.update(_run(cfg, run_dir), status="ok")
    except BaseException as err:  # KeyboardInterrupt too: the record must say the job did not finish
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
        raise
    finally:
        record["wall_s"] = round(time.time() - start, 2)
        write_record(run_dir, record)
        finish_wandb(record)
    return record


def _run(cfg: DictConfig, run_dir: Path) -> dict:
    pl.seed_everything(cfg.seed, workers=True)
    set_threads(cfg.threads)
    spec = instantiate_checked(cfg.model)
    # Counting builds the deployable model, which also rejects a bad model recipe before any data is read.
    complexity = complexity_report(spec.deployable().build(), tuple(cfg.complexity.input_hw),
                                   str(cfg.complexity.convention))
    gradual = instantiate_checked(cfg.grouping.callback) if cfg.grouping.callback is not None else None
    if gradual is not None and not spec.has_gradual:
        raise ConfigError(f"grouping=gradual: {cfg.name} has no grouped 1x1 convs to anneal (model.encoder.block="
                          f"{cfg.model.encoder.block}); use an experiment with a dgc or dgcs encoder, or grouping=none.")
    datamodule = instantiate_checked(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")  # validates the data root and every file before training starts
    fitter = Fitter(datamodule=datamodule, make_module=instantiate(cfg.module), make_trainer=instantiate(cfg.trainer),
                    make_loggers=partial(make_loggers, cfg), callbacks=make_callbacks(cfg),
                    gradual_callback=gradual, class_weights=class_weights(str(cfg.loss.weights), datamodule))
    procedure = instantiate_checked(cfg.procedure)
    module, trainer, extra = procedure.run(spec, fitter, run_dir, ckpt_path=cfg.ckpt_path)
    return {
        **test_and_summarise(module, trainer, datamodule),
        "params": complexity["params"],
        "gmacs": complexity["gmacs"],
        "epochs": trainer.current_epoch,
        "checkpoints": {"best": trainer.checkpoint_callback.best_model_path,
                        "last": str(run_dir / "checkpoints" / "last.ckpt")},
        **extra,
    }


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads for this job (e.g. 1 per job when a launcher runs 2 jobs on 2 cores)."""
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"threads={threads!r} is invalid; expected a positive integer or null (torch's default)")
    torch.set_num_threads(threads)


def class_weights(kind: str, datamodule) -> torch.Tensor | None:
    if kind == "none":
        return None
    if kind == "erfnet":
        return torch.tensor(ERFNET_CLASS_WEIGHTS, dtype=torch.float32)
    return torch.as_tensor(datamodule.compute_class_weights(), dtype=torch.float32)  # histogram


def make_callbacks(cfg: DictConfig) -> list:
    """The `callbacks` nodes; the progress bar only where the trainer shows one, media only with wandb."""
    skip = set()
    if not cfg.trainer.get("enable_progress_bar", True):
        skip.add("progress_bar")
    if str(cfg.logger.wandb.mode) == "disabled":
        skip.add("wandb_media")
    return [instantiate_checked(node) for key, node in cfg.callbacks.items() if node is not None and key not in skip]


def make_loggers(cfg: DictConfig, run_dir: Path, suffix: str = "") -> list:
    """CSV and wandb loggers saving under run_dir (`suffix` names a phase's version)."""
    loggers = [instantiate(cfg.logger.csv)(str(run_dir), version=suffix)] if cfg.logger.csv is not None else []
    wb = cfg.logger.wandb
    if str(wb.mode) != "disabled":
        tags = [t for t in [cfg.table, cfg.family, cfg.arm, *list(wb.tags)] if t]
        make = instantiate(wb, mode=str(wb.mode), group=wb.group or _sweep_name(), tags=tags,
                           name=f"{cfg.name}-seed{cfg.seed}{suffix}", job_type=cfg.table or "train")
        # `config` is also instantiate()'s own first parameter: pass it to the partial instead.
        loggers.append(make(save_dir=str(run_dir), config=OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)))
    return loggers


def _sweep_name() -> str | None:
    try:
        hc = HydraConfig.get()
    except ValueError:
        return None
    return Path(hc.sweep.dir).name if hc.mode.name == "MULTIRUN" else None


def finish_wandb(record: dict) -> None:
    """Always close the job's wandb run, else a multirun merges every job into one wandb run."""
    wandb = sys.modules.get("wandb")  # loaded by the WandbLogger; no wandb logger, nothing to close
    if wandb is not None and wandb.run is not None:
        summary = {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and v is not None}
        wandb.run.summary.update(summary)
        wandb.finish(exit_code=0 if record.get("status") == "ok" else 1)
