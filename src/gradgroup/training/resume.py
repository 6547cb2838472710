"""Exact resume: the random streams a run draws from travel in its checkpoints, and its history survives.

Lightning restores weights, optimiser, schedulers, loop counters and callback state (the alpha schedule
of grouping/callback.py included) from `ckpt_path`, but not the random number generators that decide
what comes next: torch's (dropout), numpy's and Python's. `RngState` stores them in every checkpoint and
puts them back before the first resumed epoch draws anything, the idea of Lightning's former
fault-tolerant training. The data side needs no state: the train order and every sample's augmentation
seed are a function of the run's seed and the epoch (data/sampling.py). A run killed at any point and
resumed from its last checkpoint then produces the same numbers as one that never stopped, with any
`data.num_workers` (tests/test_resume.py).

A run resumed in place keeps its whole csv history: `AppendingCSVLogger` appends to metrics.csv, and
`trim_history` first drops the rows logged after the checkpoint (the epoch the kill interrupted).
"""
from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter

from ..common.atomic import atomic_write_text
from .checkpoints import check_resume_checkpoint

STATE_KEY = "gradgroup_rng_states"


# ------------------------------------------------------------------------------------------- RNG streams
def capture_rng() -> dict:
    """Plain containers and tensors only, so the checkpoint still loads with weights_only=True."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuples(state["python"]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value):
    """random.setstate wants tuples; a checkpoint may hand back lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


class RngState(pl.Callback):
    """Saves the RNG streams in every checkpoint; restores them when training resumes from one."""

    def __init__(self):
        self._pending: dict | None = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[STATE_KEY] = capture_rng()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        self._pending = checkpoint.get(STATE_KEY)

    def on_fit_start(self, trainer, pl_module) -> None:
        # Right after Lightning restored the checkpoint and before the first resumed step draws dropout.
        if self._pending is not None:
            restore_rng(self._pending)
            self._pending = None


# ------------------------------------------------------------------------------------------- history
class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv; this one continues it (same header)."""

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if path.is_file():
            with path.open(newline="") as f:
                self.metrics_keys = [k for k in next(csv.reader(f), []) if k]


class AppendingCSVLogger(CSVLogger):
    """CSVLogger that appends to the run's metrics.csv (train() clears it for a fresh run)."""

    @property
    def experiment(self):
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def trim_history(csv_path: Path, last_epoch: int | None) -> None:
    """Keep metrics.csv rows up to epoch index `last_epoch` (the checkpoint's last finished one, as the
    csv's `epoch` column counts); None (a fresh run) removes the file."""
    if not csv_path.is_file():
        return
    if last_epoch is None:
        csv_path.unlink()
        return
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames or [], list(reader)
    keep = [r for r in rows if not r.get("epoch") or float(r["epoch"]) <= last_epoch]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(keep)
    atomic_write_text(csv_path, out.getvalue())


def finished_epochs(ckpt: dict) -> int:
    """Epochs a checkpoint has behind it: Lightning's epoch progress (`epoch` is the index of the epoch a
    checkpoint was saved in during training, but the count after the fit ended)."""
    try:
        return int(ckpt["loops"]["fit_loop"]["epoch_progress"]["total"]["processed"])
    except (KeyError, TypeError, ValueError):
        return int(ckpt.get("epoch", 0))


def resume_fields(ckpt: dict, ckpt_path, run_dir: Path, previous: dict | None) -> dict:
    """What the record says about a resumed run; `wall_s` of the interrupted part when resumed in place."""
    fields = {"resumed_from": str(ckpt_path), "resumed_at_epoch": finished_epochs(ckpt)}
    in_place = Path(ckpt_path).resolve().is_relative_to(run_dir.resolve())
    if in_place and previous is not None:
        prior = previous.get("wall_s")
        if prior is None and previous.get("started") and previous.get("heartbeat"):
            # killed: this part up to its last heartbeat, plus what it had itself resumed from
            prior = float(previous["heartbeat"]) - float(previous["started"]) + \
                float(previous.get("wall_s_before_resume") or 0.0)
        fields["wall_s_before_resume"] = round(float(prior or 0.0), 2)
        fields["resumed_runs"] = int(previous.get("resumed_runs", 0)) + 1
    return fields


def prepare_history(life) -> None:
    """The learning's part of starting a run in its dir (`jobs.lifecycle.RunLifecycle`'s `prepare`): a
    fresh run in a used dir starts a fresh csv history; a resumed one checks its checkpoint before anything
    is built (training/checkpoints.py), records where it resumed from, and trims the history to it."""
    run_dir = life.run_dir
    csv_files = sorted(run_dir.glob("csv/**/metrics.csv")) + sorted(run_dir.glob("phase1/csv/**/metrics.csv"))
    if not life.ckpt_path:
        for path in csv_files if life.writer else []:
            trim_history(path, None)
        return
    ckpt = check_resume_checkpoint(life.ckpt_path)
    life.record.update(resume_fields(ckpt, life.ckpt_path, run_dir, life.previous))
    if life.writer:
        trim_history(run_dir / "csv" / "metrics.csv", finished_epochs(ckpt) - 1)
        life.write()
