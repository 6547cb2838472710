"""A run's record, metrics.json, as a typed contract: `Status`, `RunRecord`, its one reader and one writer.

Training writes it (jobs/lifecycle.py: at the start with status "running", again when the job ends);
everything else reads it through `read_record` / `read_record_file`: the results layer for whole sweeps
(results/records.py `load_runs`), a resumed run for its previous record, eval and predict for the run they
score, the sweep callbacks for their verdict. `write_record` is the one writer (atomic with fsync,
common/atomic.py). A status is a `Status` member everywhere; `is_ok` is the one test of a usable result.

`RunRecord` lists every field a record has (`FIELDS`), each with its type. Reading validates: a known
field of the wrong type, or a status this version does not know, is a `RecordError` naming the file, the
key and the value. Records already on disk load as they are: a record without ``schema`` was written by an
earlier version (schema 1; its fields are a subset of today's), and keys this version does not know are
kept in ``extra`` and written back unchanged. A record whose ``schema`` is newer than `SCHEMA` is refused
with a message saying so. `RunRecord` is also a read-only mapping (``record["miou"]``, ``record.get``),
so code that reads a record by key works on it unchanged; ``to_dict()`` gives the plain JSON object.
"""
from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from .atomic import atomic_write_text

RECORD = "metrics.json"
SCHEMA = 2  # 1: records before the typed contract (no "schema" key); 2: this module


class Status(str, Enum):
    """What became of a job. `KILLED` and `NOT_STARTED` are never written by a job: a reader derives them
    (a "running" record whose process is gone; a sweep job without a record), and the sweep's SLURM launcher
    writes `KILLED` for a job that SLURM ended without a result (jobs/slurm_watch.py)."""
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    STOPPED = "stopped"
    REQUEUED = "requeued"
    KILLED = "killed"
    NOT_STARTED = "not started"

    def __str__(self) -> str:
        return self.value


class RecordError(ValueError):
    """A metrics.json that is not a record this version can read (the message names the file and key)."""


_NUM, _INT, _STR, _BOOL, _DICT, _LIST = (int, float), (int,), (str,), (bool,), (dict,), (list,)


@dataclass(frozen=True)
class RunRecord(Mapping):
    status: Status
    schema: int = SCHEMA
    error: Optional[str] = None
    # what the job is (training/run.py describe)
    experiment: Optional[str] = None
    label: Optional[str] = None
    family: Optional[str] = None
    table: Optional[str] = None
    arm: Optional[str] = None
    seed: Optional[int] = None
    block: Optional[str] = None
    groups: Optional[int] = None
    gradual: Optional[bool] = None
    pointwise_init: Optional[str] = None
    preset: Optional[str] = None
    paper: Optional[dict] = None
    gmacs_convention: Optional[str] = None
    input_hw: Optional[list] = None
    overrides: Optional[list] = None
    # where and when it runs (jobs/record.py, jobs/slurm.py, the heartbeat)
    pid: Optional[int] = None
    host: Optional[str] = None
    slurm_job_id: Optional[str] = None
    slurm_restarts: Optional[int] = None
    slurm_node: Optional[str] = None
    started: Optional[float] = None
    heartbeat: Optional[float] = None
    epochs_done: Optional[int] = None
    wall_s: Optional[float] = None
    # resuming (training/resume.py)
    resumed_from: Optional[str] = None
    resumed_at_epoch: Optional[int] = None
    resumed_runs: Optional[int] = None
    wall_s_before_resume: Optional[float] = None
    previous_checkpoints: Optional[str] = None
    # the result (training/run.py, training/fitter.py, training/procedures.py)
    miou: Optional[float] = None
    test_split: Optional[str] = None
    test_images: Optional[int] = None
    test_loss: Optional[float] = None
    class_iou: Optional[dict] = None
    label_resolution: Optional[str] = None
    label_hw: Optional[list] = None
    params: Optional[int] = None
    gmacs: Optional[float] = None
    epochs: Optional[int] = None
    checkpoints: Optional[dict] = None
    checkpoint_used: Optional[str] = None
    conversion_max_abs_diff: Optional[float] = None
    phase1: Optional[dict] = None
    wandb: Optional[dict] = None
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as they were
    given: frozenset = field(default=frozenset(), compare=False, repr=False)  # keys the source held (nulls kept)

    # ------------------------------------------------------------------ reading and writing
    @classmethod
    def from_dict(cls, data: Mapping, source: Any = "a record") -> "RunRecord":
        """Validate `data` (a metrics.json object) into a RunRecord; RecordError names `source` and the key."""
        if not isinstance(data, Mapping):
            raise RecordError(f"{source} is not a JSON object")
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or isinstance(schema, bool) or schema > SCHEMA:
            raise RecordError(f"{source} has schema {schema!r}: written by a newer gradgroup (this one reads up to "
                              f"{SCHEMA}); upgrade gradgroup to read it")
        try:
            status = Status(data.get("status"))
        except ValueError:
            raise RecordError(f"{source}: status {data.get('status')!r} is not one of "
                              f"{[s.value for s in Status]}") from None
        known = {f.name for f in fields(cls) if f.name not in ("status", "schema", "extra", "given")}
        values = {"status": status, "schema": SCHEMA}
        for key, value in data.items():
            if key not in known:
                continue
            expected = _TYPES.get(key)
            if value is not None and expected is not None and not _is(value, expected):
                raise RecordError(f"{source}: key {key!r} is {value!r}, expected "
                                  f"{' or '.join(t.__name__ for t in expected)} (or null)")
            values[key] = value
        extra = {k: v for k, v in data.items() if k not in known and k not in ("status", "schema")}
        return cls(**values, extra=extra, given=frozenset(data))

    def to_dict(self) -> dict:
        """The plain JSON object: status as its string, the fields that are set or were given (a null the
        writer wrote stays a null), then `extra`'s keys."""
        out = {"status": self.status.value}
        for f in fields(self):
            if f.name in ("status", "extra", "given"):
                continue
            value = getattr(self, f.name)
            if value is not None or f.name == "error" or f.name in self.given:
                out[f.name] = value
        return {**out, **self.extra}

    # ------------------------------------------------------------------ read-only mapping
    @functools.cached_property
    def _view(self) -> dict:  # frozen: the mapping view is computed once, not on every key read
        return self.to_dict()

    def __getitem__(self, key):
        return self._view[key]

    def __iter__(self):
        return iter(self._view)

    def __len__(self) -> int:
        return len(self._view)


def _is(value, expected: tuple) -> bool:
    if bool not in expected and isinstance(value, bool):
        return False
    return isinstance(value, expected)


_BY_NAME = {"Optional[float]": _NUM, "Optional[int]": _INT, "Optional[str]": _STR, "Optional[bool]": _BOOL,
            "Optional[dict]": _DICT, "Optional[list]": _LIST, "int": _INT}
_TYPES = {f.name: _BY_NAME.get(f.type) for f in fields(RunRecord)}
_TYPES["slurm_job_id"] = (str, int)  # SLURM's ids, written as a string by jobs/slurm.py; ints by hand


def is_ok(record: Mapping) -> bool:
    """A finished run with a number to report: status ok and a finite mIoU (the one definition)."""
    miou = record.get("miou")
    return (record.get("status") == Status.OK and isinstance(miou, (int, float)) and not isinstance(miou, bool)
            and math.isfinite(miou))


def read_record_file(path) -> RunRecord:
    """The record in `path`; OSError when it cannot be read, ValueError (RecordError) when it is not JSON or
    not a valid record."""
    return RunRecord.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), source=path)


def read_record(run_dir) -> RunRecord | None:
    """The record of the run in `run_dir`, or None when there is none (or it is unreadable)."""
    try:
        return read_record_file(Path(run_dir) / RECORD)
    except (OSError, ValueError):
        return None


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


def write_record(run_dir: Path, record: Mapping) -> Path:
    """Validate and write the record atomically, its paths inside `run_dir` relative to it; if the disk is
    full, the temp file is gone and a compact retry, then an overwrite in place, saves the final record."""
    data = portable(RunRecord.from_dict(dict(record), source=f"the record of {run_dir}").to_dict(), run_dir)
    text = json.dumps(data, indent=2, sort_keys=False, default=float) + "\n"
    path = Path(run_dir) / RECORD
    try:
        return atomic_write_text(path, text)
    except OSError:
        if data.get("status") == Status.RUNNING:
            raise
        compact = json.dumps(data, default=float)
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
