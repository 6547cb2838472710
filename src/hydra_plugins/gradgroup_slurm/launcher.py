"""`hydra/launcher=slurm`: hydra-submitit-launcher's SlurmLauncher, waiting for every job of the sweep.

The library's launcher waits for its jobs in order and raises at the first one that SLURM ended without a
result (SIGKILL after `KillWait`, the OOM killer, a node failure; jobs/slurm_watch.py sees it): the sweep
stops with a traceback while the rest of the array still runs, and its summary (cli/sweep_callbacks.py)
never prints. Here that job is written down instead and the wait goes on: its record, still `running`
because it could not write its end, becomes `killed` with SLURM's state and its log (jobs/slurm_watch.py), and
the sweep ends once every job has, with its summary and exit status 1. A job whose own code raised
(`hydra.callbacks.sweep.fail_fast=true`) still stops the sweep, as under any launcher.

Hydra imports this module whenever any Hydra app starts; without the [cluster] extra it defines nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

try:  # the [cluster] extra
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _SubmititSlurm
except ImportError:  # pragma: no cover - cli/train.py names the extra before Hydra gets here
    _SubmititSlurm = None

if _SubmititSlurm is not None:
    from hydra.core.utils import JobReturn

    class SlurmLauncher(_SubmititSlurm):
        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            from submitit.core.utils import UncompletedJobError

            jobs_dir = Path(str(self.params["submitit_folder"])).parent  # <sweep dir>/.submitit (one dir per job)
            before = _job_dirs(jobs_dir)
            try:
                return super().launch(job_overrides, initial_job_idx)
            except UncompletedJobError:  # a job ended without a result: wait for the others, then say so
                from gradgroup.jobs.slurm_watch import collect

                return collect(sorted(_job_dirs(jobs_dir) - before, key=_task_order), self.params["submitit_folder"],
                               Path(str(self.config.hydra.sweep.dir)))

    def _job_dirs(jobs_dir: Path) -> set[str]:
        return {p.name for p in jobs_dir.iterdir() if p.is_dir()} if jobs_dir.is_dir() else set()

    def _task_order(name: str) -> tuple[int, int]:
        job, _, task = name.partition("_")
        return int(job) if job.isdigit() else -1, int(task) if task.isdigit() else -1
