"""A run's record, metrics.json: its name and the one reader of it.

Training writes it (training/record.py: at the start with status "running", again when the job ends);
everything else reads it through these two functions: the results layer for whole sweeps
(results/records.py `load_runs`), a resumed run for its previous record, eval and predict for the run
they score, the sweep callbacks for their verdict.
"""
from __future__ import annotations

import json
from pathlib import Path

RECORD = "metrics.json"


def read_record_file(path) -> dict:
    """The record in `path`; OSError when it cannot be read, ValueError when it is not a JSON object."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(record, dict):
        raise ValueError(f"{path} is not a JSON object")
    return record


def read_record(run_dir) -> dict | None:
    """The record of the run in `run_dir`, or None when there is none (or it is unreadable)."""
    try:
        return read_record_file(Path(run_dir) / RECORD)
    except (OSError, ValueError):
        return None
