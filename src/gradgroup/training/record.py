"""The run record: metrics.json, the one file per job that the table command reads.

Written at the start of a job (status "running", with the pid, host and a heartbeat refreshed every
epoch), and rewritten when it ends with "ok" or "failed" plus the error, so a crashed job still leaves a
record that says what it was; a SLURM job that requeued itself says "requeued" until it runs again
(training/slurm.py, which also adds `slurm_job_id`); a SIGKILLed one keeps "running" with a pid that is
gone, which the reader (results/records.py) reports as "killed". Every write is atomic with fsync
(common/atomic.py), so a
kill or a full disk leaves the previous record, never half a file.
"""
from __future__ import annotations

import json
import os
import socket
import sys
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


def write_record(run_dir: Path, record: dict) -> Path:
    """Atomically; if the disk is full, the temp file is gone and one smaller retry tells why."""
    text = json.dumps(record, indent=2, sort_keys=False, default=float) + "\n"
    path = Path(run_dir) / RECORD
    try:
        return atomic_write_text(path, text)
    except OSError as err:
        if record.get("status") == "running":
            raise
        # The final record matters most: retry compactly; if even that fails, say so on stderr.
        try:
            return atomic_write_text(path, json.dumps(record, default=float))
        except OSError:
            print(f"error: could not write {path} ({err}); the run's status is {record.get('status')}",
                  file=sys.stderr)
            raise err from None


class Heartbeat(pl.Callback):
    """Refreshes the record's heartbeat after every training epoch (rank 0), so a reader on another host
    can tell a live run from one that stopped without a word."""

    def __init__(self, run_dir: Path, record: dict):
        self.run_dir, self.record = Path(run_dir), record

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self.record["heartbeat"] = round(time.time(), 3)
            write_record(self.run_dir, self.record)
