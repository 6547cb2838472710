"""A finished job's own wandb run, continued after training (docs/wandb.md): gradgroup-table adds the measured
latency and speedup to its summary, gradgroup-export logs the ONNX files as an artifact of it.

The run is continued the way every attempt of the job continues it: `wandb.init` with the id its record
names (metrics.json `wandb`: id, project, entity, group, name) and `resume="allow"`, its files under the job's
run dir. Online that updates the run in place. Offline it is one more `wandb/offline-run-<time>-<id>` dir
beside the training attempts, newer than them, which `wandb sync` uploads to the same run after them. The
summary it writes repeats the record's scalars beside the new keys, so the run's summary is whole whichever
attempt wandb reads it from.
"""
from __future__ import annotations

from pathlib import Path

import wandb

from ..common.records import is_ok
from ..common.wandb_names import init_args, record_summary, wandb_of


def _resume(wb: dict, run_dir: Path, mode: str):
    """The job's run, continued (`wb`: the record's `wandb` field), its files under the job's run dir."""
    return wandb.init(**init_args({**wb, "mode": mode, "dir": str(run_dir)}))


def _finish(run, record: dict) -> None:
    run.finish(exit_code=0 if is_ok(record) else 1)  # the job's own ending, as training finished it


def update_job_summaries(jobs: list[tuple[dict, dict]], mode: str, extra: dict) -> int:
    """Add `numbers | extra` to the summary of each job's run (jobs: (record with `_path`, numbers)); jobs
    without a wandb run are skipped. Returns how many runs were updated."""
    done = 0
    for record, numbers in jobs:
        wb = wandb_of(record)
        if wb is None:
            continue
        run = _resume(wb, Path(record["_path"]).parent, mode)
        try:
            run.summary.update({**record_summary(record), **numbers, **extra})
            done += 1
        finally:
            _finish(run, record)
    return done


def log_job_artifact(record: dict, run_dir: Path, mode: str, name: str, files: list[Path], metadata: dict) -> str:
    """Log `files` as one model artifact `name` of the job's run; returns the run id."""
    wb = wandb_of(record)
    run = _resume(wb, run_dir, mode)
    try:
        artifact = wandb.Artifact(name, type="model", metadata=metadata)
        for f in files:
            artifact.add_file(str(f))
        run.log_artifact(artifact)
        return run.id
    finally:
        _finish(run, record)
