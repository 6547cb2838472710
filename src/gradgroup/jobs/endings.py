"""How a run's end is told: one console line for every way it ends, the full traceback in the run's log.

A run that finishes prints its result line (training/run.py). Any other end prints one line, written
after the record and checked against the record as it is on disk, so console and metrics.json agree:

    stopped by SIGTERM after 3 finished epochs; resume with ckpt_path=<run dir>/checkpoints/last.ckpt
    failed: out of disk space writing <file> (12.0 MiB free on its filesystem); traceback in <run dir>/train.log
    failed: non-finite loss: training loss is nan at epoch 3, step 9 (batch 1 of the epoch): lower optim.lr ...
    failed: RuntimeError: <the error's first line>; traceback in <run dir>/train.log

and, when the record could not be updated (a full disk), what it still says. A `GradgroupError` (a
config or data problem a user fixes) is reported by the command line instead (cli/report.py).
"""
from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

from ..common.atomic import DiskFull
from ..common.records import read_record
from ..common.run_files import last_checkpoint
from .signals import Stopped


def log_file(run_dir: Path) -> Path:
    """The run's log file: Hydra's job log when it writes into the run dir (`<job name>.log`), else train.log."""
    for handler in logging.getLogger().handlers:
        name = getattr(handler, "baseFilename", None)
        if name and Path(name).parent.resolve() == Path(run_dir).resolve():
            return Path(name)
    return Path(run_dir) / "train.log"


def write_traceback(run_dir: Path, err: BaseException) -> Path | None:
    """Append the error's full traceback to the run's log file; None if that cannot be written either."""
    path = log_file(run_dir)
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] the run ended with this error:\n"
                    + "".join(traceback.format_exception(err)))
    except OSError:
        return None
    return path


def _cause(err: BaseException) -> str:
    first = (str(err).strip().splitlines() or [""])[0]
    if isinstance(err, (DiskFull, FloatingPointError)):  # their message says what happened
        return first
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def end_line(record: dict, err: BaseException, run_dir: Path, log: Path | None = None) -> str:
    """The one line for a run that ended with `err` (record: the run's record as this process holds it)."""
    run_dir = Path(run_dir)
    if isinstance(err, Stopped):
        done = record.get("epochs_done", record.get("resumed_at_epoch", 0))
        if type(err) is not Stopped:  # a kind that says itself what happens next (slurm.Requeued)
            return f"{err} ({done} finished epochs)"
        line = f"stopped by {err.signal_name} after {done} finished epochs" + (f" ({err.reason})" if err.reason else "")
        last = last_checkpoint(run_dir)
        if last.is_file():
            line += f"; resume with ckpt_path={last}"
    else:
        line = f"failed: {_cause(err)}" + (f"; traceback in {log}" if log else "")
    on_disk = (read_record(run_dir) or {}).get("status")
    if record and on_disk != record.get("status"):
        line += f"; its metrics.json could not be updated and still says {on_disk or 'nothing'}"
    return line
