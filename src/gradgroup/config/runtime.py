"""What Hydra knows about the running job: whether it is one job of a multirun, its number and overrides,
the sweep dir, and its sweep callback settings. The one place that probes `HydraConfig`.

Every function answers as for a single run outside Hydra when there is no Hydra runtime (`train(cfg)`
called by a test or a notebook), or when the config was composed by `compose_config` (mode None).
"""
from __future__ import annotations

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
