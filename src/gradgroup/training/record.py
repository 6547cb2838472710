"""The run record: metrics.json, the one file per job that the table command reads.

Written at the start of a job (status "running", with the pid, host and a heartbeat refreshed every
epoch), and rewritten when it ends with "ok" or "failed" plus the error, so a crashed job still leaves a
record that says what it was; a SLURM job that requeued itself says "requeued" until it runs again
(training/slurm.py, which also adds `slurm_job_id`); a SIGKILLed one keeps "running" with a pid that is
gone, which the reader (results/records.py) reports as "killed". Every write is atomic with fsync
(common/atomic.py), so a
kill or a full disk leaves the previous record, never half a file.

A run dir stands alone: every path the record keeps inside its run dir is written relative to it
(`portable`), so a run dir moved to another disk or machine, or copied, still names its own files;
a path outside it (a resumed-from checkpoint elsewhere) stays absolute.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytorch_lightning as pl

from ..common.atomic import atomic_write_text
from ..common.records import RECORD
from . import slurm


def base_record(job: dict) -> dict:
    """The first record of a job: what it is (`job`, see training.run.describe), status "running"."""
    now = round(time.time(), 3)
    return {"status": "running", "error": None, **job, "pid": os.getpid(), "host": socket.gethostname(),
            **slurm.record_fields(), "started": now, "heartbeat": now}


def portable(value, run_dir: Path):
    """`value` with every absolute path string inside `run_dir` made relative to it (dicts and lists too)."""
    if isinstance(value, dict):
        return {k: portable(v, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, run_dir) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        for base in {Path(run_dir).absolute(), Path(run_dir).resolve()}:
            if Path(value).is_relative_to(base):
                return Path(value).relative_to(base).as_posix() or "."
    return value


def write_record(run_dir: Path, record: dict) -> Path:
    """Atomically; if the disk is full, the temp file is gone and one smaller retry tells why."""
    record = portable(record, run_dir)
    text = json.dumps(record, indent=2, sort_keys=False, default=float) + "\n"
    path = Path(run_dir) / RECORD
    try:
        return atomic_write_text(path, text)
    except OSError:
        if record.get("status") == "running":
            raise
        # The final record matters most: retry compactly, then (disk full) over the old record's own blocks.
        compact = json.dumps(record, default=float)
        try:
            return atomic_write_text(path, compact)
        except OSError:
            if not _overwrite_in_place(path, compact):
                raise
            return path


def _overwrite_in_place(path: Path, text: str) -> bool:
    """Write `text` into the blocks `path` already has (no new space needed): the last resort on a full
    disk, where the alternative is a record that still says "running". Not atomic; False if it cannot."""
    data = text.encode("utf-8")
    try:
        if len(data) > path.stat().st_blocks * 512:
            return False
        with open(path, "r+b") as f:
            f.write(data)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        return False
    return True


class Heartbeat(pl.Callback):
    """Refreshes the record's heartbeat after every training epoch (rank 0), so a reader on another host
    can tell a live run from one that stopped without a word."""

    def __init__(self, run_dir: Path, record: dict):
        self.run_dir, self.record = Path(run_dir), record

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        self.record["epochs_done"] = trainer.current_epoch + 1  # every rank: a stopped run's end line says it
        if trainer.is_global_zero:
            self.record["heartbeat"] = round(time.time(), 3)
            write_record(self.run_dir, self.record)
