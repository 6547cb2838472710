"""The job's wandb run, started and finished through wandb's public API.

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

from ..jobs.ranks import is_rank_zero
from ..common.records import is_ok


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


def start_wandb_run(**init):
    """This process's wandb run (started with `wandb.init(**init)` unless one is active); None off rank 0."""
    if not is_rank_zero():
        return None
    _STARTED.append(True)
    if wandb.run is not None:
        return wandb.run
    run = wandb.init(**init)
    # the x-axis Lightning's WandbLogger defines for a run it starts itself
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def finish_wandb(record: dict) -> None:
    """Close the job's wandb run, if any, with the record's scalars as its summary."""
    if _STARTED and wandb.run is not None:
        summary = {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and v is not None}
        wandb.run.summary.update(summary)
        wandb.finish(exit_code=0 if is_ok(record) else 1)
        _STARTED.clear()
