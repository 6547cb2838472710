"""A Hydra callback that makes a sweep say where it writes, how far it is, and what is left to do.

Registered in conf/train.yaml under `hydra.callbacks.sweep_progress` (Hydra's documented callback API:
on_multirun_start / on_job_end / on_multirun_end). At the start: the sweep dir and the number of jobs.
After each job: how many jobs finished and failed, with an ETA from the finished jobs' wall times. At
the end: the totals, the command that builds the table (the Makefile runs it itself) and one
`wandb sync` hint covering every offline run under the sweep dir, the table's summary run included.

The counts come from the jobs' metrics.json files (via results/records.py), not from this process:
under the joblib and submitit launchers `on_job_end` runs in the worker that ran the job, and the files
are the one thing all workers see; a sweeper that narrows its verdict (config/runtime.judge_only)
narrows these counts too. Light: no torch, so `gradgroup-train --help` stays fast.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from ..common.duration import duration
from ..errors import GradgroupError
from ..results.records import load_runs
from ..results.sweep_jobs import count_jobs, finished_in_launch, in_scope
from ..common.records import Status, is_ok

def parallel_jobs(config: DictConfig) -> int:
    """Jobs running at once: joblib's n_jobs, submitit's array_parallelism, else 1."""
    launcher = config.hydra.get("launcher") or {}
    for key in ("n_jobs", "array_parallelism"):
        value = launcher.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return 1


class SweepProgress(Callback):
    def __init__(self) -> None:
        self.sweep_dir: Path | None = None
        self.total: int | None = None
        self.parallel = 1
        self.start = 0.0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # State set here travels to the workers: Hydra pickles its callbacks into every launched job.
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        self.total = count_jobs(config)
        self.parallel = parallel_jobs(config)
        self.start = time.time()
        if self.total is None:  # a sweeper that plans its own batches (the search) says how many and how
            print(f"sweep: -> {self.sweep_dir}", flush=True)
            return
        at_once = f", {self.parallel} at a time" if self.parallel > 1 else ""
        print(f"sweep: {self.total} jobs{at_once} -> {self.sweep_dir}", flush=True)

    def _runs(self) -> list[dict]:
        try:
            return in_scope(load_runs([self.sweep_dir]), self.sweep_dir) if self.sweep_dir is not None else []
        except GradgroupError:  # no metrics.json yet (every job so far failed before writing one)
            return []

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if self.sweep_dir is None:  # a single run (no multirun start): nothing to count
            return
        runs = self._runs()
        done = [r for r in runs if finished_in_launch(r, self.start)]
        failed = sum(1 for r in done if not is_ok(r))
        total = self.total if self.total is not None else len(runs)
        line = f"sweep: {len(done)}/{total} jobs finished, {failed} failed"
        times = [float(r["wall_s"]) for r in done if isinstance(r.get("wall_s"), (int, float))]
        left = total - len(done)
        if times and left > 0:  # the mean finished job's time, for the jobs left, `parallel` at a time
            line += f", ETA {duration(sum(times) / len(times) * left / self.parallel)}"
        print(f"{line} ({duration(time.time() - self.start)} elapsed)", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        runs = self._runs()
        running = [r for r in runs if r.get("status") == Status.RUNNING]  # left to an earlier launch's job
        failed = [r for r in runs if not is_ok(r) and r.get("status") != Status.RUNNING]
        on = f", {len(running)} still running" if running else ""
        print(f"sweep done in {duration(time.time() - self.start)}: {len(runs) - len(failed) - len(running)} ok, "
              f"{len(failed)} failed{on} -> {self.sweep_dir}", flush=True)
        for r in failed:
            print(f"  failed: {Path(r['_path']).parent} ({r.get('error') or r.get('status')})", flush=True)
        for r in running:
            print(f"  still running: {Path(r['_path']).parent} (pid {r.get('pid', '?')} on {r.get('host', '?')}; "
                  "resume again once it ends)", flush=True)
        print(f"table: gradgroup-table {self.sweep_dir}", flush=True)
        if any(self.sweep_dir.rglob("offline-run-*")):
            print(f"wandb: offline runs under the sweep dir; upload them (after `wandb login`) with "
                  f"wandb sync $(find {self.sweep_dir} -type d -name 'offline-run-*' | sort)", flush=True)
