"""What Hydra knows about the running job: whether it is one job of a multirun, its number and overrides,
the sweep dir, and its sweep callback settings. The one place that probes `HydraConfig` (and the one
that writes an override for Hydra to read back).

Every function answers as for a single run outside Hydra when there is no Hydra runtime (`train(cfg)`
called by a test or a notebook), or when the config was composed by `compose_config` (mode None).
"""
from __future__ import annotations

import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf


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


def quoted_override(key: str, value: str) -> str:
    """`key='value'` as Hydra's override grammar reads back exactly `value` (spaces, `=`, `,` and quotes too)."""
    return f"{key}='" + value.replace("'", "\\'") + "'"


def sweep_dir() -> Path | None:
    """The sweep dir of a multirun job, else None."""
    hc = multirun_runtime()
    return None if hc is None else Path(hc.sweep.dir)


def varying_keys() -> set[str]:
    """The keys this job's sweep varies: the job's override keys that its sweep's command line (its
    multirun.yaml, written before any job starts) and `hydra.sweeper.params` do not fix to one value, so
    `seed=0,1`, `grouping=glob(*)` and a search's sampled keys vary, `preset=smoke` does not."""
    hc = multirun_runtime()
    if hc is None:
        return set()
    try:
        overrides = [f"{k}={v}" for k, v in (hc.sweeper.get("params") or {}).items()]
        saved = Path(hc.sweep.dir) / "multirun.yaml"
        if saved.is_file():
            overrides += [str(o) for o in OmegaConf.load(saved).hydra.overrides.task]
        parser = OverridesParser.create()
        fixed = {o.key_or_group for o in parser.parse_overrides(overrides) if not o.is_sweep_override()}
        return {o.key_or_group for o in parser.parse_overrides(job_overrides())} - fixed
    except Exception:  # an override only its own sweeper understands: nothing known to vary
        return set()


def sweep_setting(name: str, default=False):
    """This job's sweep callback setting `hydra.callbacks.sweep.<name>`, read inside a job of any launcher."""
    hc = hydra_runtime()
    node = None if hc is None else hc.callbacks.get("sweep")
    return default if node is None else node.get(name, default)


LAUNCHER_ENV = "GRADGROUP_SWEEP_LAUNCHER_PID"  # the sweep's launcher, for its local jobs' watch (jobs/launcher_watch.py)


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
