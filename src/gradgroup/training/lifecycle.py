"""A run's life as its record tells it: running, then ok or failed, whatever stops it.

`RunLifecycle` wraps `train()` (training/run.py): it writes the first record (rank 0 only under DDP,
training/distributed.py), turns SIGTERM/SIGINT into a non-zero exit (training/signals.py), records any
exception as `failed` with its message, sums `wall_s` over the parts of a run resumed in place,
requeues a SLURM job on SIGUSR1 (status `requeued`, training/slurm.py), and prepares an in-place
resume: the checkpoint is loaded safely and checked before anything is built (training/checkpoints.py), the csv history is trimmed to it and then continued (training/resume.py).
"""
from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

from ..common.records import read_record
from . import slurm
from .checkpoints import check_resume_checkpoint
from .distributed import is_rank_zero
from .record import Heartbeat, base_record, write_record
from .resume import resume_fields, trim_history
from .signals import STOP_SIGNALS, Stopped, as_stopped, stop_on_signals


class RunLifecycle:
    def __init__(self, run_dir: Path, job: dict, ckpt_path: str | None = None, max_requeues: int = 0):
        self.run_dir, self.ckpt_path, self.max_requeues = Path(run_dir), ckpt_path, max_requeues
        self.writer = is_rank_zero()
        self.previous = read_record(self.run_dir) if ckpt_path else None  # before it is overwritten
        self.record = base_record(job)
        self.write()

    def write(self) -> None:
        if self.writer:
            write_record(self.run_dir, self.record)

    def heartbeat(self) -> Heartbeat:
        """The callback that refreshes this record every epoch."""
        return Heartbeat(self.run_dir, self.record)

    def _prepare_history(self) -> None:
        csv_files = sorted(self.run_dir.glob("csv/**/metrics.csv")) + sorted(self.run_dir.glob("phase1/csv/**/metrics.csv"))
        if not self.ckpt_path:
            for path in csv_files if self.writer else []:
                trim_history(path, None)  # a fresh run in a used dir starts a fresh history
            return
        ckpt = check_resume_checkpoint(self.ckpt_path)
        self.record.update(resume_fields(ckpt, self.ckpt_path, self.run_dir, self.previous))
        if self.writer:
            trim_history(self.run_dir / "csv" / "metrics.csv", int(ckpt.get("epoch", 0)))
            self.write()

    @contextlib.contextmanager
    def guard(self):
        """Run the job inside: its end, however it comes, is written to the record."""
        start = time.time()
        # SIGUSR1 (SLURM's notice) on rank 0 only: the other ranks end when SLURM requeues the job.
        requeue_signal = (slurm.REQUEUE_SIGNAL,) if self.writer and slurm.may_requeue(self.max_requeues) else ()
        try:
            with stop_on_signals(STOP_SIGNALS + requeue_signal):
                self._prepare_history()
                yield self.record
                self.record["status"] = "ok"
        except BaseException as err:  # signals and KeyboardInterrupt too: the job did not finish
            err = as_stopped(err)
            if isinstance(err, Stopped) and err.signum in requeue_signal:
                err = self._requeue(slurm.Requeued(err.signum), start)
            else:
                self.record.update(status="failed", error=slurm.explain(err))
            raise err
        finally:
            self._finish(start)

    def _finish(self, start: float) -> None:
        before = float(self.record.get("wall_s_before_resume") or 0.0)
        self.record["wall_s"] = round(before + time.time() - start, 2)
        self.write()

    def _requeue(self, err: slurm.Requeued, start: float) -> BaseException:
        """Record `requeued` first (SLURM terminates the job once asked, SIGTERM is ignored from here on),
        then ask; a refusal is a failure."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.record.update(status="requeued", error=f"{err}; resumes from checkpoints/last.ckpt when SLURM "
                           "starts it again")
        self._finish(start)
        try:
            slurm.requeue()
        except RuntimeError as failure:
            self.record.update(status="failed", error=f"{type(failure).__name__}: {failure}")
            return failure
        return err
