"""A sweep's jobs as its files tell them: which it planned (its multirun.yaml, through Hydra's own parser
and product), which of them never left a record, and which run dirs the sweep answers for (the scope a
sweeper may narrow: the search answers for its trials, its confirmation for confirm/).

Read by the sweep callbacks and progress lines (cli/), by `gradgroup-table` (the never-started rows) and by
the search's sweeper plugin (hydra_plugins/gradgroup_search), which sets the scope before it launches.
"""
from __future__ import annotations

import os
import re
from fnmatch import fnmatch
from pathlib import Path

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ..common.records import Status, is_ok

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def planned_jobs(config: DictConfig) -> list[list[str]] | None:
    """The overrides of every job the basic sweeper launches (the product of the swept values), in launch
    order; None for other sweepers or a sweep syntax only the real run resolves."""
    if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    # Hydra's own parser and product, so the jobs match what the sweeper does (incl. range(), choices).
    # Unresolved, as the sweeper read them and the records keep them: an override holding an interpolation
    # (`logger.wandb.mode=${oc.env:WANDB_MODE,offline}`) must not be resolved while the file is read.
    raw = lambda node: OmegaConf.to_container(node, resolve=False) if node is not None else None
    params = [f"{k}={v}" for k, v in (raw(config.hydra.sweeper.get("params")) or {}).items()]
    try:
        overrides = OverridesParser.create().parse_overrides(params + list(raw(config.hydra.overrides.task)))
        return [list(job) for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]
    except Exception:  # a sweep syntax only the real run resolves: go on without the list
        return None


def count_jobs(config: DictConfig) -> int | None:
    """How many jobs the basic sweeper will launch; None for other sweepers."""
    jobs = planned_jobs(config)
    return None if jobs is None else len(jobs)


def _as_written(overrides) -> frozenset[str]:
    """A job's overrides without Hydra's escapes: the sweeper renders `${oc.env:X,y}` as `$\\{oc.env\\:X\\,y\\}`,
    a record may keep either spelling."""
    return frozenset(re.sub(r"\\(.)", r"\1", str(o)) for o in overrides)


def never_started(sweep_dir: Path, runs: list[dict]) -> list[dict]:
    """Records standing for the jobs that the sweep in `sweep_dir` planned (its multirun.yaml) but that
    left no metrics.json: a killed or fail-fast sweep's table lists them too."""
    try:
        config = OmegaConf.load(sweep_dir / "multirun.yaml")
        jobs = planned_jobs(config)
    except Exception:  # no or an unreadable multirun.yaml: the records are all there is
        return []
    seen = {_as_written(r.get("overrides") or []) for r in runs}
    missing = []
    for number, job in enumerate(jobs or []):
        if _as_written(job) not in seen:
            experiment = next((o.split("=", 1)[1] for o in job if o.split("=", 1)[0].lstrip("+") == "experiment"), "?")
            missing.append({"status": Status.NOT_STARTED, "experiment": experiment, "overrides": job, "job": number,
                            "error": "the sweep ended before this job ran", "_path": str(sweep_dir / "multirun.yaml")})
    return missing


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


def finished_in_launch(run: dict, launch_start: float) -> bool:
    """Done for the launch that started at `launch_start` (epoch seconds): ok (whenever), or failed/stopped
    in this launch. In a resumed sweep a job's failed or stopped record from an earlier launch is waiting to
    run again (cli/train.py reruns or continues it), not a finished job."""
    if is_ok(run):
        return True
    started = run.get("started")
    return (run.get("status") in (Status.FAILED, Status.STOPPED)
            and not (isinstance(started, (int, float)) and started < launch_start))
