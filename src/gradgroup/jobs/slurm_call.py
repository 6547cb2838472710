"""One function call as one SLURM job, with the sweep's SLURM launcher settings (submitit).

The placement search times its architectures this way under `hydra/launcher=slurm` (search/cost.py), so
latency comes from a compute node like the ones its trials train on, not from the login node the search
runs on. The job asks for what the launcher asks for (partition, account, QOS, constraint, setup lines,
memory, GPUs, time) with `cpus` cores; the wait goes through the controller where `sacct` fails
(jobs/slurm_watch.py, installed by the sweep's callback). A job that fails raises submitit's error,
which names the job and its log.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import submitit  # the [cluster] extra; imported only under hydra/launcher=slurm

# The launcher keys a call's job shares with the sweep's jobs (conf/hydra/launcher/slurm.yaml, submitit's names).
SHARED = ("partition", "account", "qos", "constraint", "comment", "exclude", "setup", "gpus_per_node", "mem_gb",
          "timeout_min")


def job_parameters(launcher: Mapping, cpus: int | None) -> dict:
    """submitit's parameters for a call's job: the launcher's `SHARED` keys that are set, and `cpus` cores."""
    params = {k: launcher[k] for k in SHARED if launcher.get(k) not in (None, "", [])}
    params["cpus_per_task"] = int(cpus or launcher.get("cpus_per_task") or 1)
    params["name"] = "gradgroup-call"
    base = {"timeout_min", "cpus_per_task", "gpus_per_node", "mem_gb", "name"}  # submitit's shared names
    return {k if k in base else f"slurm_{k}": v for k, v in params.items()}


def call_as_job(fn: Callable, *args: Any, folder: Path, launcher: Mapping, cpus: int | None = None) -> Any:
    """Run `fn(*args)` as one SLURM job (its files under `folder`), wait for it, return its value."""
    executor = submitit.AutoExecutor(folder=str(Path(folder) / "%j"), cluster="slurm")
    executor.update_parameters(**job_parameters(launcher, cpus))
    job = executor.submit(fn, *args)
    print(f"SLURM job {job.job_id}: {getattr(fn, '__name__', fn)} (log: {job.paths.stdout.parent})",
          flush=True)
    return job.result()
