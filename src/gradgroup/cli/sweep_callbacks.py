"""A Hydra callback that makes sweeps resumable, stoppable at the first failure, and honest in their exit.

Registered in conf/train.yaml as `hydra.callbacks.sweep` (Hydra's callback API, on_multirun_start /
on_multirun_end; beside the progress lines of cli/sweep_progress.py). Its settings:

- `resume` (false): relaunch the same sweep into an existing sweep dir (`make table3 RESUME=<dir>`, or
  `hydra.sweep.dir=<dir> hydra.callbacks.sweep.resume=true` with the same overrides): jobs whose run dir
  already holds an `ok` record skip themselves (cli/train.py), a job an earlier launch cut off (killed,
  stopped, requeued) continues from its last.ckpt by exact resume, the others (failed, not started) run
  again from their start. Without it, a sweep dir that already holds records is refused, so two launches
  never share one (8 jobs, 4 records).
- `fail_fast` (false): the first failing job stops the sweep. A failed job re-raises its error, and the
  sweeper's batches shrink to one job (to `n_jobs` under joblib), so the sweeper stops after the batch
  holding the failure instead of after all jobs.
- `allow_failed` (false): the sweep command exits 1 when any job failed or was killed, unless this is set.

Jobs die with the sweep: `on_multirun_start` puts this launcher's pid in the environment its workers
inherit (`GRADGROUP_SWEEP_LAUNCHER_PID`), and each job stops itself when that process is gone
(jobs/launcher_watch.py), so a killed sweep leaves no job training on. Not under a SLURM launcher
(`hydra/launcher=slurm`): its jobs belong to the scheduler and outlive the login shell that submitted them;
there the wait for them asks the controller when `sacct` cannot answer (jobs/slurm_watch.py), so a job that
dies without a result ends the wait.

The verdict comes from the jobs' metrics.json files (results/records.py), which every launcher's workers
write; `main()` in cli/train.py turns it into the exit status. It covers every run dir under the sweep
dir, unless the sweeper narrows it with `config/runtime.judge_only`: the placement search keeps its trials
and its confirmation runs (`confirm/`) in one dir, and each mode answers for its own jobs only, so a
confirmation job killed mid-run does not fail the search's resume, nor a failed trial the confirmation.
Hydra turns an exception raised in a callback into a warning, so a refusal here exits directly (status 2,
cli/report.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, read_write

from ..config.runtime import launcher_pid, publish_launcher, scheduler_owns_jobs, sweep_setting
from ..results.sweep_jobs import in_scope
from ..results.records import is_ok, load_runs
from .report import fail

EXIT_STATUS = {"code": 0}  # read by cli/train.py main() after Hydra returns
__all__ = ["EXIT_STATUS", "SweepGuard", "launcher_pid", "setting"]  # launcher_pid: read by cli/train.py


def _records(sweep_dir: Path) -> list:
    return load_runs([sweep_dir]) if sweep_dir.is_dir() and any(sweep_dir.rglob("metrics.json")) else []


class SweepGuard(Callback):
    def __init__(self, resume: bool = False, fail_fast: bool = False, allow_failed: bool = False):
        self.resume, self.fail_fast, self.allow_failed = bool(resume), bool(fail_fast), bool(allow_failed)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_signal_lead(config.hydra.launcher)
        publish_launcher(config.hydra.launcher)  # before any worker starts: they inherit it (not under SLURM)
        if scheduler_owns_jobs(config.hydra.launcher):  # a job that dies without a result ends the wait
            from ..jobs import slurm_watch  # submitit: the [cluster] extra, there under this launcher

            slurm_watch.install()
        sweep_dir = Path(str(config.hydra.sweep.dir))
        done = _records(sweep_dir)
        if done and not self.resume:
            fail(f"hydra.sweep.dir={sweep_dir} already holds {len(done)} run records: to continue that sweep "
                 "add hydra.callbacks.sweep.resume=true (make <table> RESUME=<dir>); otherwise leave "
                 "hydra.sweep.dir to its default, unique per launch", "gradgroup-train")
        if self.fail_fast and "max_batch_size" in config.hydra.sweeper:
            # The sweeper raises a failed job's error after its batch: one batch per job (per n_jobs in parallel).
            n_jobs = int(config.hydra.launcher.get("n_jobs", 1) or 1)
            with read_write(config.hydra.sweeper):
                config.hydra.sweeper.max_batch_size = max(1, n_jobs)
        if done:
            n_ok = sum(is_ok(r) for r in done)
            print(f"resuming {sweep_dir}: {n_ok} of {len(done)} recorded jobs are ok and will be skipped",
                  flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        runs = in_scope(_records(sweep_dir), sweep_dir)
        bad = [r for r in runs if not is_ok(r)]
        if bad and not self.allow_failed:
            EXIT_STATUS["code"] = 1
            print(f"{len(bad)} of {len(runs)} jobs did not finish ok (exit status 1; "
                  "hydra.callbacks.sweep.allow_failed=true to exit 0):", flush=True)
            for r in bad:
                error = str(r.get("error") or "").strip()
                why = f": {error.splitlines()[0]}" if error else ""
                print(f"  {Path(r['_path']).parent}: {r.get('status')}{why}", flush=True)


def check_signal_lead(launcher) -> None:
    """SLURM sends `--signal` up to 60 s earlier than asked, and a SIGUSR1 that comes before a job's Python
    is up kills it without a record (docs/cluster.md): the time limit must leave 2 minutes before it."""
    lead, limit = launcher.get("signal_delay_s"), launcher.get("timeout_min")
    if lead is not None and limit is not None and 60 * int(limit) < int(lead) + 120:
        fail(f"hydra.launcher.timeout_min={limit} (resources.time_min) leaves too little time before SLURM's "
             f"notice, sent hydra.launcher.signal_delay_s={lead} s before the limit (up to 60 s earlier): use "
             f"resources.time_min={-(-(int(lead) + 120) // 60)} or more, or a smaller hydra.launcher.signal_delay_s",
             "gradgroup-train")


def setting(name: str, default=False):
    """This job's sweep setting (`hydra.callbacks.sweep.<name>`), read inside a job of any launcher."""
    return sweep_setting(name, default)
