"""What Hydra knows about the running job: whether it is one job of a multirun, its number and overrides,
the sweep dir, and its sweep callback settings. The one place that probes `HydraConfig`.

Every function answers as for a single run outside Hydra when there is no Hydra runtime (`train(cfg)`
called by a test or a notebook), or when the config was composed by `compose_config` (mode None).
"""
from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path

from hydra.core.hydra_config import HydraConfig


def hydra_runtime():
    """Hydra's runtime config of this job, or None outside a Hydra app."""
    try:
        return HydraConfig.get()
    except ValueError:
        return None


def multirun_runtime():
    """Hydra's runtime config when this job is part of a multirun (`-m`), else None."""
    hc = hydra_runtime()
    return hc if hc is not None and getattr(hc.mode, "name", None) == "MULTIRUN" else None


def is_multirun() -> bool:
    return multirun_runtime() is not None


def job_overrides() -> list[str]:
    """The job's command-line overrides (a sweep's swept values included); [] outside Hydra."""
    hc = hydra_runtime()
    return [] if hc is None else [str(o) for o in hc.overrides.task]


def sweep_name() -> str | None:
    """The sweep dir's name of a multirun job, else None."""
    hc = multirun_runtime()
    return None if hc is None else Path(hc.sweep.dir).name


def sweep_setting(name: str, default=False):
    """This job's sweep callback setting `hydra.callbacks.sweep.<name>`, read inside a job of any launcher."""
    hc = hydra_runtime()
    node = None if hc is None else hc.callbacks.get("sweep")
    return default if node is None else node.get(name, default)


SCOPE_ENV = "GRADGROUP_SWEEP_SCOPE"  # run dirs (fnmatch, relative to the sweep dir) the sweep answers for


def judge_only(pattern: str | None) -> None:
    """Make this sweep's verdict and progress counts (cli/sweep_callbacks.py, cli/sweep_progress.py) cover
    only the run dirs matching `pattern` (fnmatch, relative to the sweep dir, e.g. "confirm/*"); None
    covers all. Called by a sweeper before it launches; set in the environment, so the workers that print
    progress lines (joblib) count the same runs."""
    if pattern is None:
        os.environ.pop(SCOPE_ENV, None)
    else:
        os.environ[SCOPE_ENV] = pattern


def in_scope(runs: list[dict], sweep_dir) -> list[dict]:
    """The records (results/records.load_runs, with `_path`) of the run dirs this sweep answers for."""
    pattern = os.environ.get(SCOPE_ENV)
    if not pattern:
        return runs
    return [r for r in runs if fnmatch(Path(r["_path"]).parent.relative_to(sweep_dir).as_posix(), pattern)]


LAUNCHER_ENV = "GRADGROUP_SWEEP_LAUNCHER_PID"  # the sweep's launcher, for its local jobs' watch (training/launcher_watch.py)


def scheduler_owns_jobs(launcher) -> bool:
    """Whether the sweep's launcher hands its jobs to SLURM (hydra/launcher=slurm, built on submitit_slurm)."""
    return "slurm" in str(launcher.get("_target_") or "").lower()


def publish_launcher(launcher) -> None:
    """Before any job starts: this process's pid for the local workers it starts, which inherit it; nothing
    under a SLURM launcher, whose jobs belong to the scheduler (sbatch would export the pid to other hosts)."""
    if scheduler_owns_jobs(launcher):
        os.environ.pop(LAUNCHER_ENV, None)
    else:
        os.environ[LAUNCHER_ENV] = str(os.getpid())


def launcher_pid() -> int | None:
    """The pid of the process that launched this job's sweep (None outside a sweep, and under SLURM)."""
    value = os.environ.get(LAUNCHER_ENV, "")
    return int(value) if value.isdigit() else None
