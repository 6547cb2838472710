"""A run's life as its record tells it: running, then ok, stopped or failed, whatever ends it.

`RunLifecycle` wraps `train()` (training/run.py): it takes the run dir's lock, so one process writes a run
dir at a time, always (a second run into it, e.g. a resumed sweep while a job of the first still trains, is
refused naming the pid that holds it); it writes the first record (rank 0 only under DDP,
jobs/ranks.py), turns SIGTERM/SIGINT into a non-zero exit and a `stopped` record (jobs/signals.py),
records any other exception as `failed` with its message, sums `wall_s` over the parts of a run resumed
in place, requeues a SLURM job on SIGUSR1 (status `requeued`, jobs/slurm.py) unless the requeue would make
no progress (a procedure that cannot resume mid-run, e.g. the two-phase one, or no epoch finished since
this part started: it would loop until `max_requeues`; recorded `failed` with the reason instead), records
a SIGTERM by which SLURM requeues the job from outside as `requeued`, and, inside its guard, runs the
learning's preparation of an in-place resume that the caller hands in (`prepare`: training/resume.py
`prepare_history` checks the checkpoint and trims the csv history to it). What
an earlier process left is tidied under the lock: temp files of writes a kill interrupted
(`.last.ckpt.tmpNNNN`) are deleted, and a run started afresh in a used dir moves the earlier attempt's
`checkpoints/` to `checkpoints.previous/`, so no stale best.ckpt sits beside the new run's.

`unfinished_checkpoint` says where a resumed sweep continues a job that an earlier launch cut off (killed,
stopped, requeued and never rerun): from its last.ckpt, by exact resume (training/resume.py), so a study
or table resumed in a later session loses at most the epoch in progress, not the whole job;
`still_running` says when a job of an earlier launch still holds the lock (SLURM runs it on), so the
resumed sweep skips it instead of failing on the lock.
"""
from __future__ import annotations

import contextlib
import shutil
import signal
import time
from pathlib import Path
from typing import Callable, Optional

from filelock import FileLock, Timeout

from ..common.atomic import remove_partial_writes
from ..common.records import Status, read_record, write_record
from ..common.run_files import checkpoints_dir, last_checkpoint
from ..errors import GradgroupError
from . import slurm
from .ranks import is_rank_zero
from .record import Heartbeat, base_record
from .signals import STOP_SIGNALS, Stopped, as_stopped, stop_on_signals

CUT_OFF = (Status.RUNNING, Status.STOPPED, Status.REQUEUED, Status.KILLED)  # a "running" one's process died
LOCK = ".run.lock"  # held by the one process writing a run dir (released by the OS if it dies)
PREVIOUS = "checkpoints.previous"  # an earlier attempt's checkpoints, kept when a run starts afresh in its dir


def _holder(run_dir: Path) -> tuple[object, str]:
    """Who holds a run dir's lock, as its record says (the holder wrote it when it took the lock): its pid,
    and a phrase naming it."""
    holder = read_record(run_dir) or {}
    pid = holder.get("pid", "?")
    return pid, (f"pid {pid} on {holder.get('host', '?')} holds its lock (its metrics.json says "
                 f"{holder.get('status', 'nothing yet')})")


def lock_run_dir(run_dir: Path) -> FileLock:
    """The run dir's lock, taken now, or a GradgroupError naming the process that holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        pid, who = _holder(run_dir)
        raise GradgroupError(f"run dir {run_dir} is in use by another run: {who}. One process "
                             f"writes a run dir at a time: wait for it to end, or stop it (kill {pid}), "
                             "then run again.") from None
    return lock


def still_running(run_dir: Path) -> str | None:
    """Why a resumed sweep leaves this job alone, or None: another process (a job of an earlier launch
    that SLURM or a second sweep still runs) holds the run dir's lock. Its record will say how it ended."""
    try:
        lock_run_dir(Path(run_dir)).release()
    except GradgroupError:
        return f"still running in another process: {_holder(Path(run_dir))[1]}; this launch leaves it to finish"
    return None


def unfinished_checkpoint(run_dir: Path, overrides: list[str]) -> tuple[str | None, str]:
    """The checkpoint a resumed sweep continues this job from, and why (None: the job starts afresh).

    Its last.ckpt, when the record says an earlier attempt was cut off (`CUT_OFF`; a `failed` one starts
    afresh, its failure may lie in that state) and names the same overrides (a sweep relaunched with other
    values at this job number is another job). A process still writing the run dir is refused by its lock."""
    last = last_checkpoint(run_dir)
    record = read_record(run_dir)
    if record is None or not last.is_file():
        return None, "no checkpoint from an earlier attempt"
    if record["status"] not in CUT_OFF:
        return None, f"its earlier attempt ended {record['status']}, so it starts afresh"
    if list(record.get("overrides") or []) != list(overrides):
        return None, "its earlier attempt had other overrides, so it starts afresh"
    return str(last), f"its earlier attempt was cut off ({record['status']}): continuing from {last}"


class RunLifecycle:
    def __init__(self, run_dir: Path, job: dict, ckpt_path: str | None = None, max_requeues: int = 0,
                 resumable: bool = True, prepare: Optional[Callable[["RunLifecycle"], None]] = None):
        self.run_dir, self.ckpt_path, self.max_requeues = Path(run_dir), ckpt_path, max_requeues
        self.resumable = resumable  # False: the procedure cannot resume mid-run (two-phase)
        self.prepare = prepare
        self.writer = is_rank_zero()
        self.lock = lock_run_dir(self.run_dir) if self.writer else None  # before anything is written
        self.previous = read_record(self.run_dir) if ckpt_path else None  # before it is overwritten
        self.record = base_record(job)
        if self.writer:
            self._tidy()
        self.write()

    def _tidy(self) -> None:
        """Leftovers of earlier processes in this run dir (safe: this process holds its lock)."""
        for folder in (self.run_dir, checkpoints_dir(self.run_dir), self.run_dir / "phase1",
                       checkpoints_dir(self.run_dir / "phase1")):
            remove_partial_writes(folder)
        ckpts = checkpoints_dir(self.run_dir)
        if not self.ckpt_path and ckpts.is_dir() and any(ckpts.iterdir()):
            shutil.rmtree(self.run_dir / PREVIOUS, ignore_errors=True)
            ckpts.rename(self.run_dir / PREVIOUS)
            self.record["previous_checkpoints"] = PREVIOUS

    def write(self) -> None:
        if self.writer:
            write_record(self.run_dir, self.record)

    def heartbeat(self) -> Heartbeat:
        """The callback that refreshes this record every epoch."""
        return Heartbeat(self.run_dir, self.record)

    @contextlib.contextmanager
    def guard(self):
        """Run the job inside: its end, however it comes, is written to the record."""
        start = time.time()
        # SIGUSR1 (SLURM's notice) on rank 0 only: the other ranks end when SLURM requeues the job.
        requeue_signal = (slurm.REQUEUE_SIGNAL,) if self.writer and slurm.may_requeue(self.max_requeues) else ()
        if slurm.in_job() and not requeue_signal:
            slurm.ignore_notice()  # the notice's default action would kill this process without a record
        try:
            with stop_on_signals(STOP_SIGNALS + requeue_signal):
                if self.prepare is not None:
                    self.prepare(self)
                yield self.record
                self.record["status"] = Status.OK
        except BaseException as err:  # signals and KeyboardInterrupt too: the job did not finish
            err = as_stopped(err)
            if isinstance(err, Stopped) and err.signum in requeue_signal:
                err = self._requeue(slurm.Requeued(err.signum), start)
            elif isinstance(err, Stopped) and err.signum == signal.SIGTERM and slurm.requeued_from_outside():
                err = slurm.RequeuedBySlurm(err.signum)
                self.record.update(status=Status.REQUEUED, error=f"{err}; {self._rerun()}")
            else:
                self.record.update(status=Status.STOPPED if isinstance(err, Stopped) else Status.FAILED,
                                   error=slurm.explain(err))
            raise err
        finally:
            try:
                self._finish(start)
            finally:
                if self.lock is not None:
                    self.lock.release()

    def _finish(self, start: float) -> None:
        before = float(self.record.get("wall_s_before_resume") or 0.0)
        self.record["wall_s"] = round(before + time.time() - start, 2)
        self.write()

    def _rerun(self) -> str:
        return ("resumes from checkpoints/last.ckpt when SLURM starts it again" if self.resumable else
                "starts again from its beginning when SLURM reruns it (this procedure cannot resume mid-run)")

    def no_progress(self) -> str | None:
        """Why a requeue now would only repeat this part of the run (None: it would resume further on)."""
        if not self.resumable:
            return ("this procedure (two-phase) cannot resume mid-run, so a requeue would start it again from "
                    "its beginning and loop until resources.max_requeues")
        start = int(self.record.get("resumed_at_epoch") or 0)
        if int(self.record.get("epochs_done") or 0) <= start:
            return (f"no epoch finished since this part of the run started at epoch {start}, so a requeue would "
                    "resume from the same checkpoint and loop until resources.max_requeues")
        return None

    def _requeue(self, err: slurm.Requeued, start: float) -> BaseException:
        """Record `requeued` first (SLURM terminates the job once asked, SIGTERM is ignored from here on),
        then ask; a refusal (ours, when the requeue would make no progress, or SLURM's) is a failure."""
        why = self.no_progress()
        if why:
            self.record.update(status=Status.FAILED, error=f"requeue refused after {err.signal_name}: {why}; give the "
                               "job the time it needs in one go (resources.time_min, docs/cluster.md)")
            return GradgroupError(f"{self.run_dir}: {self.record['error']}")
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.record.update(status=Status.REQUEUED, error=f"{err}; {self._rerun()}")
        self._finish(start)
        try:
            slurm.requeue()
        except RuntimeError as failure:
            self.record.update(status=Status.FAILED, error=f"{type(failure).__name__}: {failure}")
            return failure
        return err
