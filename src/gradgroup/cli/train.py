"""`gradgroup-train`: train, test and measure one experiment (or a `-m` sweep of them); write run dirs.

A thin Hydra app around `gradgroup.training.run.train`, which the tests call directly. In a multirun a
failed job records its error in metrics.json and lets the sweep go on (unless
`hydra.callbacks.sweep.fail_fast=true`), and the sweep exits 1 if any job failed (cli/sweep_callbacks.py);
a resumed sweep skips jobs already `ok` and continues a job an earlier launch cut off from its last.ckpt.
A single run exits non-zero: 2 for a user error (the message names the key or file), 1 for a crash or a
non-finite result, 143 / 130 when stopped by SIGTERM / SIGINT.
Under `trainer=ddp` inside a sweep, this job's ranks > 0 are started as a single run of this job.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

if "SLURM_JOB_ID" in os.environ:
    # SLURM's SIGUSR1 notice can come while torch still loads (a busy node, a short limit): ignored until the
    # run takes it (jobs/lifecycle.py), never SIGUSR1's default kill, which would leave no record.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)

import hydra  # after the signal: importing Hydra, torch and Lightning takes seconds
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, read_write

from ..common.records import is_ok, read_record
from ..config.compose import CONF_SOURCE, register_resolvers
from ..config.runtime import hydra_runtime, is_multirun as _is_multirun, job_overrides, quoted_override
from ..errors import GradgroupError, require_extra
from . import quiet, sweep_callbacks
from .report import fail

log = logging.getLogger("gradgroup.train")
register_resolvers()


def _absolute_data_paths(cfg: DictConfig) -> None:
    """Relative data paths mean the directory the run was launched from, even with hydra.job.chdir=true."""
    for key in ("root", "cache_dir"):
        if cfg.data.get(key):
            cfg.data[key] = to_absolute_path(str(cfg.data[key]))


@hydra.main(version_base="1.3", config_path=CONF_SOURCE, config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    # Lazy: torch and Lightning load only once a run really starts (`--help` and config errors stay fast).
    from ..jobs import slurm  # (same reason: training/ imports torch)
    from ..jobs.launcher_watch import stop_with_launcher
    from ..jobs.lifecycle import still_running, unfinished_checkpoint
    from ..training.run import resumes_mid_run, train
    from ..training.wandb_media import remove_wandb_temp_dirs

    quiet.install()  # here, in the job's own process (joblib/submitit workers too), after Lightning's import
    run_dir = Path(hydra_runtime().runtime.output_dir)
    _absolute_data_paths(cfg)
    continue_from = None
    if _is_multirun() and sweep_callbacks.setting("resume"):
        done = read_record(run_dir)
        if done and is_ok(done):
            print(f"skip {run_dir.name}: already ok (mIoU {done.get('miou')}) in a resumed sweep", flush=True)
            return done.get("miou")
        busy = still_running(run_dir) if done else None
        if busy:
            print(f"skip {run_dir.name}: {busy}", flush=True)
            return None
        if done and not cfg.ckpt_path and resumes_mid_run(cfg):
            continue_from, why = unfinished_checkpoint(run_dir, job_overrides())
            print(f"{run_dir.name}: {why}", flush=True)
    ddp_in_sweep = _is_multirun() and _ddp_ranks_run_this_job_only(cfg, run_dir, continue_from)
    try:
        with stop_with_launcher(sweep_callbacks.launcher_pid(), [remove_wandb_temp_dirs]), \
                _fresh_ddp_environment(ddp_in_sweep):
            record = train(cfg, run_dir, continue_from)
    except GradgroupError as err:
        if _is_multirun() and sweep_callbacks.setting("fail_fast"):
            raise  # stops the sweep: the launcher does not start further jobs
        if _is_multirun():  # one failing job never stops the sweep; metrics.json says "failed"
            log.error("job failed, sweep continues: %s (run dir: %s)", err, run_dir)
            return None
        fail(f"{err}\n(run dir: {run_dir})")
    except Exception:  # train() printed the one line saying why; the traceback is in the run's log file
        if _is_multirun() and sweep_callbacks.setting("fail_fast"):
            raise
        if _is_multirun():
            return None
        sys.exit(1)
    except slurm.Stopped as err:
        # A SLURM job stopped for good (time limit, scancel) ends like a failed job, so submitit records a
        # result and the sweep goes on; a requeued one ends without one, and SLURM runs it again.
        if not _is_multirun() or not slurm.in_job() or isinstance(err, slurm.Requeued):
            _drop_frames(err)
            raise
        log.error("job stopped, sweep continues: %s (run dir: %s)", err, run_dir)
        return None
    return record["miou"]  # train() printed the result line


def _drop_frames(err: BaseException) -> None:
    """Release what a stopped run's traceback holds, while the interpreter is whole. A signal that lands
    between a context manager's enter and its `with` block (OmegaConf's flag_override, under load) leaves
    that generator suspended; finalized at shutdown it printed "Exception ignored ... Python is likely
    shutting down" after the run's one end line."""
    import gc

    while err is not None:
        err.__traceback__ = None
        err = err.__context__
    gc.collect()


def _ddp_ranks_run_this_job_only(cfg: DictConfig, run_dir: Path, continue_from: str | None) -> bool:
    """Lightning starts DDP ranks > 0 by rerunning this command (sys.argv, plus hydra.run.dir=<run dir>):
    inside a sweep that would be the whole sweep again. Rewrite both to a single run of this job (from
    `continue_from` too, where rank 0 continues a cut-off attempt: every rank resumes from one checkpoint)."""
    strategy = str(cfg.trainer.get("strategy", ""))
    if "ddp" not in strategy or "spawn" in strategy or "fork" in strategy:
        return False
    hc = hydra_runtime()
    keep, args = [], sys.argv[1:]
    for i, a in enumerate(args):  # the config source (--config-dir/--config-name) stays; -m goes
        if a in ("--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp"):
            keep += [a, args[i + 1]]
        elif a.startswith(("--config-dir=", "--config-name=", "--config-path=")):
            keep.append(a)
    resume = [quoted_override("ckpt_path", continue_from)] if continue_from else []
    sys.argv = [sys.argv[0], *keep, *hc.overrides.task, *resume, "hydra.mode=RUN"]
    with read_write(hc.run):  # what Lightning appends as hydra.run.dir for the ranks it starts
        hc.run.dir = str(run_dir)
    return True


@contextlib.contextmanager
def _fresh_ddp_environment(active: bool):
    """Each DDP job of a sweep gets its own process group and port: Lightning leaves MASTER_PORT,
    WORLD_SIZE, ... in this process's environment and the group initialised, which the next job would
    reuse (its ranks then fail to connect)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        if active:
            import torch.distributed as dist  # loaded by the job already; here only to tear its group down

            if dist.is_available() and dist.is_initialized():
                dist.destroy_process_group()
            for key in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "LOCAL_RANK", "RANK"):
                if key in saved:
                    os.environ[key] = saved[key]
                else:
                    os.environ.pop(key, None)


# Launchers and sweepers of an extra, named on the command line (`hydra/launcher=slurm`): without the extra,
# Hydra would say only that the config group option is unknown.
EXTRA_CHOICES = {"hydra/launcher": ({"slurm", "submitit_slurm", "submitit_local"}, "cluster"),
                 "hydra/sweeper": ({"gradgroup_search"}, "search")}


def _check_extras(argv: list[str]) -> None:
    for arg in argv:
        key, _, value = arg.lstrip("+~").partition("=")
        choices, extra = EXTRA_CHOICES.get(key, ((), ""))
        if value in choices:
            try:
                require_extra(extra, arg)
            except GradgroupError as err:
                fail(str(err))


def main() -> None:
    quiet.install()
    _check_extras(sys.argv[1:])
    _hydra_main()
    if sweep_callbacks.EXIT_STATUS["code"]:  # a sweep with failed jobs (hydra.callbacks.sweep.allow_failed)
        sys.exit(sweep_callbacks.EXIT_STATUS["code"])


if __name__ == "__main__":
    # `python -m gradgroup.cli.train`: run the imported module's main, so that a launcher that pickles the task
    # (submitit) pickles `gradgroup.cli.train._hydra_main` by reference, and its job imports this module (and
    # ignores SLURM's notice from the first line, above) instead of unpickling a copy of `__main__`'s function.
    from gradgroup.cli.train import main as _main

    _main()
