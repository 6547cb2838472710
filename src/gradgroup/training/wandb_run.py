"""The job's wandb run, started and finished through wandb's public API.

Started here with `wandb.init` (on rank 0 only, as Lightning's WandbLogger would) and handed to the
logger as its `experiment`: Lightning's own start passes `anonymous=None`, which wandb >= 0.22 answers
with "The anonymous setting has no effect" on every run. A run already active in this process (the
second phase of a two-phase job) is reused, as Lightning does. Finished explicitly at the end of the job
with its record as the run summary, else a multirun merges every job into one wandb run.
"""
from __future__ import annotations

import wandb

from .distributed import is_rank_zero


def start_wandb_run(**init):
    """This process's wandb run (started with `wandb.init(**init)` unless one is active); None off rank 0."""
    if not is_rank_zero():
        return None
    if wandb.run is not None:
        return wandb.run
    run = wandb.init(**init)
    # the x-axis Lightning's WandbLogger defines for a run it starts itself
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def finish_wandb(record: dict) -> None:
    """Close the job's wandb run, if any, with the record's scalars as its summary."""
    if wandb.run is not None:
        summary = {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and v is not None}
        wandb.run.summary.update(summary)
        wandb.finish(exit_code=0 if record.get("status") == "ok" else 1)
