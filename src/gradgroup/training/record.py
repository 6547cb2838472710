"""The run record: metrics.json, the one file per job that the table command reads.

Written at the start of a job (status "running"), and rewritten when it ends with "ok" or "failed" plus
the error, so a crashed or killed job still leaves a record that says what it was.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


def base_record(job: dict) -> dict:
    """The first record of a job: what it is (`job`, see training.run.describe), status "running"."""
    return {"status": "running", "error": None, **job}


def write_record(run_dir: Path, record: dict) -> Path:
    """Atomically (write then rename) so a reader never sees half a file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "metrics.json"
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=False, default=float) + "\n")
    tmp.replace(path)
    return path
