"""The job's wandb run, started and finished through wandb's public API (docs/wandb.md).

One wandb run per job, whatever happens to it: `train` (training/run.py) names it once per job (`identity`:
id from the run dir, group from the sweep dir, name from the sweep's varying overrides) and every attempt,
a resume after a kill or a SLURM requeue included, continues that id (`resume="allow"`).

Started here with `wandb.init` (on rank 0 only, as Lightning's WandbLogger would) and handed to the
logger as its `experiment`: Lightning's own start passes `anonymous=None`, which wandb >= 0.22 answers
with "The anonymous setting has no effect" on every run. A run already active in this process (the
second phase of a two-phase job) is reused, as Lightning does. Finished explicitly at the end of the job
with its record as the run summary, else a multirun merges every job into one wandb run.

wandb is imported lazily (the standard library's `importlib.util.LazyLoader`): its code runs on first use,
i.e. only in a job with a wandb logger. Importing it makes two dirs in the system temp dir
(training/wandb_media.py) that a process killed with SIGKILL leaves behind; a job without wandb makes none.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ..jobs.ranks import is_rank_zero
from ..common.records import Status, is_ok
from ..common.wandb_names import init_args, record_summary


def _lazy(name: str):
    """Module `name`, executed on first attribute access (the recipe of importlib.util.LazyLoader's docs)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


wandb = _lazy("wandb")
_STARTED: list = []  # a run was started (or reused) in this process: finish_wandb has something to close


def start_wandb_run(identity: dict, config: dict):
    """This process's wandb run (started with `wandb.init` unless one is active); None off rank 0.

    `identity`: common/wandb_names.py's INIT keys (training/run.py `wandb_identity`)."""
    if not is_rank_zero():
        return None
    _STARTED.append(True)
    if wandb.run is not None:
        return wandb.run
    run = wandb.init(**init_args(identity), config=config)
    # the x-axis Lightning's WandbLogger defines for a run it starts itself
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def finish_wandb(record: dict, artifacts: list[Path] = ()) -> None:
    """Close the job's wandb run, if any, with the record's scalars as its summary (params and GMACs among
    them), after logging `artifacts` (files that exist) as one model artifact. A requeued job's run is
    marked preempting: its next attempt continues it."""
    if not (_STARTED and wandb.run is not None):
        return
    run = wandb.run
    run.summary.update(record_summary(record))
    files = [Path(f) for f in artifacts if Path(f).is_file()]
    if files:
        artifact = wandb.Artifact(f"converted-{run.id}", type="model", metadata={"miou": record.get("miou")})
        for f in files:
            artifact.add_file(str(f))
        run.log_artifact(artifact)
    if record.get("status") == Status.REQUEUED:
        run.mark_preempting()
    wandb.finish(exit_code=0 if is_ok(record) else 1)
    _STARTED.clear()
