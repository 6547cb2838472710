"""The first record of a job and its heartbeat (the record's contract, reader and writer: common/records.py).

Written at the start of a job (status running, with the pid, host and a heartbeat refreshed every epoch),
and rewritten when it ends (jobs/lifecycle.py), so a crashed job still leaves a record that says what it
was; a SLURM job that requeued itself says requeued until it runs again (jobs/slurm.py, which also adds
`slurm_job_id`); a SIGKILLed one keeps running with a pid that is gone, which the reader
(results/records.py) reports as killed. Every write is atomic with fsync, so a kill or a full disk leaves
the previous record, never half a file; every path inside the run dir is written relative to it
(`portable`), so a moved or copied run dir still names its own files.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytorch_lightning as pl

from ..common.records import Status, write_record
from . import slurm


def base_record(job: dict) -> dict:
    """The first record of a job: what it is (`job`, see training.run.describe), status "running"."""
    now = round(time.time(), 3)
    return {"status": Status.RUNNING, "error": None, **job, "pid": os.getpid(), "host": socket.gethostname(),
            **slurm.record_fields(), "started": now, "heartbeat": now}


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
