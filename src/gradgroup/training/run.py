"""`train(cfg, run_dir)`: one experiment end to end, from a composed config to its metrics.json.

The flow (docs/architecture.md): config -> objects (every `_target_` node of the run built here, once,
with config/build.py) ->
the procedure's fit(s) (the GradualGrouping callback anneals alpha) -> convert -> test -> metrics.json.
Everything that can reject bad input (the model recipe, the schedule, the data root and its files) is
built before any training, so a bad job fails in seconds. Below this module nothing reads a DictConfig.

The order in which objects are built is part of the results: the seed is set first, then the
deployable model is built for counting, then the data, then the trained model, so every experiment
draws the same initial weights as before (tests/test_behaviour_pins.py pins them).
"""
from __future__ import annotations

import io
import os
import sys
from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from ..config.build import build
from ..common.wandb_names import RECORDED, run_id, run_name, sweep_group
from ..common.run_files import converted_checkpoint, last_checkpoint
from ..config.checks import check_gradual_grouping, check_run_settings, check_wandb_settings
from ..config.runtime import job_overrides, multirun_runtime, sweep_dir, varying_keys
from ..data.class_weights import loss_class_weights
from ..errors import ConfigError, GradgroupError
from ..jobs.endings import end_line, write_traceback
from ..jobs.lifecycle import RunLifecycle
from ..jobs.ranks import is_rank_zero
from ..jobs.signals import Stopped
from ..jobs.slurm import requeued_checkpoint
from ..measure.complexity import complexity_report
from .console import JobConsole, model_line, result_line
from .distributed import resolve_sync_batchnorm
from .fitter import Fitter, scored_split, test_and_summarise
from .resume import prepare_history
from .wandb_run import finish_wandb, start_wandb_run


def describe(cfg: DictConfig) -> dict:
    """What the job is, known before anything can fail (the first metrics.json)."""
    enc = cfg.model.encoder
    return {"experiment": cfg.name, "label": cfg.label, "family": cfg.family, "table": cfg.table or "",
            "arm": cfg.arm, "seed": cfg.seed, "block": str(enc.block), "groups": enc.groups,
            "gradual": bool(enc.gradual), "pointwise_init": str(enc.get("pointwise_init", "default")), "preset": cfg.get("preset_name"),
            "paper": OmegaConf.to_container(cfg.paper) if cfg.paper is not None else None,
            "gmacs_convention": str(cfg.complexity.convention), "input_hw": list(cfg.complexity.input_hw),
            "overrides": job_overrides()}  # what makes the job one row of a table (results/table.py)


def resumes_mid_run(cfg: DictConfig) -> bool:
    """Whether the job's procedure resumes from a mid-run last.ckpt (the two-phase one only phase-wise)."""
    return "phase1_epochs" not in cfg.procedure


def train(cfg: DictConfig, run_dir: str | Path, continue_from: str | None = None) -> dict:
    """Run one experiment end to end and return its metrics record (also written to metrics.json).

    `continue_from`: the last.ckpt of an attempt an earlier sweep launch cut off (cli/train.py, in a resumed
    sweep; jobs/lifecycle.py `unfinished_checkpoint`)."""
    run_dir = Path(run_dir)
    # A SLURM job that requeued itself (jobs/slurm.py) resumes from its run dir's last.ckpt.
    resumable = resumes_mid_run(cfg)
    ckpt_path = cfg.ckpt_path or requeued_checkpoint(run_dir, resumable=resumable) or continue_from
    console = JobConsole(job_prefix(cfg), stream=None if is_rank_zero() else io.StringIO())  # DDP: rank 0 prints
    record: dict = {}
    wandb_id = wandb_identity(cfg, run_dir)  # rejects a bad logger.wandb setting before the job starts
    try:
        job = {**describe(cfg), "wandb": {k: wandb_id[k] for k in RECORDED} if wandb_id else None}
        life = RunLifecycle(run_dir, job, ckpt_path, cfg.resources.max_requeues, resumable,  # rank 0 writes
                            prepare=prepare_history)
        record = life.record
        console.say(f"start {cfg.name} seed {cfg.seed}, preset {cfg.get('preset_name')} -> {run_dir}"
                    + (f" (resuming from {ckpt_path})" if ckpt_path and not cfg.ckpt_path else ""))
        with life.guard():  # records ok / stopped / failed (signals, NaN, crashes), wall_s summed over resumes
            if life.writer:
                OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)  # a record: readable without Hydra
            record.update(_run(cfg, run_dir, console, life, ckpt_path, wandb_id))
    except GradgroupError:
        raise  # a config or data problem: the command line reports it, naming the key or file
    except BaseException as err:  # one line for every other end; the traceback goes to the run's log
        log = write_traceback(run_dir, err) if is_rank_zero() and not isinstance(err, Stopped) else None
        console.say(end_line(record, err, run_dir, log))
        raise
    finally:
        finish_wandb(record, [converted_checkpoint(run_dir)] if cfg.logger.wandb.log_model else [])
    console.say(result_line(record, run_dir / "metrics.json"))
    return record


def _run(cfg: DictConfig, run_dir: Path, console: JobConsole, life: RunLifecycle, ckpt_path: str | None,
         wandb_id: dict | None) -> dict:
    check_run_settings(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)  # the header line already names the seed
    set_threads(cfg.threads)
    spec = build(cfg.model)
    # Counting builds the deployable model, which also rejects a bad model recipe before any data is read.
    complexity = complexity_report(spec.deployable().build(), tuple(cfg.complexity.input_hw),
                                   str(cfg.complexity.convention))
    # Instead of Lightning's model summary (off in conf/trainer/default.yaml), whose FLOPs column reads 0.
    console.say(model_line(cfg.label, complexity))
    gradual = build(cfg.grouping.callback) if cfg.grouping.callback is not None else None
    check_gradual_grouping(cfg, spec.has_gradual)
    datamodule = build(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")  # validates the data root and every file before training starts
    bar = show_progress_bar(cfg)
    fitter = Fitter(datamodule=datamodule, make_module=build(cfg.module),
                    make_trainer=build(cfg.trainer, enable_progress_bar=bar, **trainer_overrides(cfg)),
                    make_loggers=partial(make_loggers, cfg, wandb_id), callbacks=make_callbacks(cfg, bar, console),
                    gradual_callback=gradual, class_weights=loss_class_weights(str(cfg.loss.weights), datamodule),
                    run_callbacks=[life.heartbeat()])
    procedure = build(cfg.procedure)
    module, trainer, extra = procedure.run(spec, fitter, run_dir, ckpt_path=ckpt_path)
    return {
        **test_and_summarise(module, trainer, datamodule),
        **datamodule.label_resolution_record(scored_split(datamodule)),  # what the mIoU was scored at (full | half | label_hw)
        "params": complexity["params"],
        "gmacs": complexity["gmacs"],
        "epochs": trainer.current_epoch,
        "checkpoints": {"best": trainer.checkpoint_callback.best_model_path,
                        "last": str(last_checkpoint(run_dir))},
        **extra,
    }


def trainer_overrides(cfg: DictConfig) -> dict:
    """`trainer.sync_batchnorm: auto` (trainer=ddp) becomes SyncBatchNorm on GPUs only: it has no CPU kernel."""
    if "sync_batchnorm" not in cfg.trainer:
        return {}
    return {"sync_batchnorm": resolve_sync_batchnorm(cfg.trainer.sync_batchnorm, cfg.trainer.get("accelerator"))}


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads for this job (e.g. 1 per job when a launcher runs 2 jobs on 2 cores);
    null: the CPUs SLURM gave each task (SLURM_CPUS_PER_TASK) inside a SLURM job, else torch's default."""
    if threads is None:
        threads = int(os.environ.get("SLURM_CPUS_PER_TASK") or 0) or None
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"threads={threads!r} is invalid; expected a positive integer or null (torch's default)")
    torch.set_num_threads(threads)


def job_prefix(cfg: DictConfig) -> str:
    """`[<job number> <experiment>]` on every console line of a sweep's job (parallel jobs share a terminal)."""
    hc = multirun_runtime()
    if hc is None:
        return ""
    arm = f" {cfg.arm}" if cfg.arm else ""  # demo/dg4_gradual is table3/dg4 with the gradual arm
    return f"[{hc.job.num} {cfg.name}{arm}]"


def show_progress_bar(cfg: DictConfig) -> bool:
    """A progress bar only for an interactive single run: on a file, a pipe or beside other jobs of a sweep
    it would print garbled partial lines; the console's epoch lines (training/console.py) stand in."""
    return bool(cfg.trainer.get("enable_progress_bar", True)) and sys.stdout.isatty() and not job_prefix(cfg)


def make_callbacks(cfg: DictConfig, bar: bool = False, console: JobConsole | None = None) -> list:
    """The `callbacks` nodes; the progress bar or else the console's epoch lines, media only with wandb."""
    skip = {"console"} if bar else {"progress_bar"}
    if str(cfg.logger.wandb.mode) == "disabled":
        skip.add("wandb_media")
    return [build(node, **({"console": console} if key == "console" and console else {}))
            for key, node in cfg.callbacks.items() if node is not None and key not in skip]


def wandb_identity(cfg: DictConfig, run_dir: Path) -> dict | None:
    """Who the job's wandb run is, the same for every attempt of the job (docs/wandb.md); None when disabled.

    id: `logger.wandb.id`, else derived from the run dir; group: `logger.wandb.group`, else the sweep's
    (`multirun/study/<ts>/primary` -> `study-<ts>`, none for a single run); job type: the part of the sweep
    dir below its timestamp (a study's part), else the table; name: `logger.wandb.name`, else the sweep's
    varying overrides and the seed; tags: table, family, arm, part, block kind, groups and `logger.wandb.tags`."""
    check_wandb_settings(cfg)
    wb = cfg.logger.wandb
    if str(wb.mode) == "disabled":
        return None
    sweep = sweep_dir()
    group, part = sweep_group(sweep) if sweep is not None else (None, None)
    enc = cfg.model.encoder
    name = wb.name or run_name(job_overrides(), varying_keys(), cfg.seed,
                               " ".join(filter(None, [cfg.name, cfg.arm])))
    tags = [cfg.table, cfg.family, cfg.arm, part, str(enc.block), f"G{enc.groups}", *list(wb.tags)]
    return {"id": wb.id or run_id(run_dir), "project": wb.project, "entity": wb.entity, "group": wb.group or group,
            "name": name, "job_type": part or cfg.table or "train", "tags": list(dict.fromkeys(t for t in tags if t)),
            "mode": str(wb.mode), "notes": wb.notes, "save_code": bool(wb.save_code), "dir": str(run_dir)}


def make_loggers(cfg: DictConfig, wandb_id: dict | None, save_dir: Path, suffix: str = "") -> list:
    """CSV and wandb loggers saving under save_dir (`suffix` names a phase's version); the wandb run is the
    job's (`wandb_id`), one for both phases of a two-phase job, its files under the job's run dir."""
    loggers = [build(cfg.logger.csv)(str(save_dir), version=suffix)] if cfg.logger.csv is not None else []
    if wandb_id is not None:
        run = start_wandb_run(wandb_id, OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
        named = {k: wandb_id[k] for k in ("id", "project", "entity", "group", "name", "tags", "mode")}
        loggers.append(build(cfg.logger.wandb, **named)(save_dir=wandb_id["dir"], experiment=run))
    return loggers
