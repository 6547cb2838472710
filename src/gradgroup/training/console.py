"""One console line per event that matters in a job: a header, epoch lines, a result line.

Replaces what a progress bar shows when there is no terminal to draw it on (a log file, `make`, jobs of a
joblib/submitit sweep running side by side): each line is whole, starts with the job's short name under
a sweep (`[2 table3/dg4]`), and says epoch, train loss, val mIoU, alpha for gradual grouping (the paper's
annealing factor, docs/paper.md section 4), elapsed time and ETA. Epoch lines are at most one per epoch
and at least `min_interval_s` apart (first and last epoch always), and a line comes mid-epoch whenever
`heartbeat_s` pass without one, so a long epoch still shows progress at least once a minute.
"""
from __future__ import annotations

import math
import sys
import time

import pytorch_lightning as pl

from ..common.duration import duration
from ..models.gradual_conv import gradual_convs


def model_line(label: str, complexity: dict) -> str:
    """The model's size, instead of Lightning's summary (whose FLOPs column reads 0)."""
    h, w = complexity["input_hw"]
    return (f"model {label}: {complexity['params']:,} params, {complexity['gmacs']:.3f} GMACs "
            f"@ {w}x{h} ({complexity['convention']}, deployed)")


def result_line(record: dict, path) -> str:
    """The job's last line: its result and where the record is."""
    arm = f" [{record['arm']}]" if record.get("arm") else ""
    return (f"done {record['label']}{arm}: mIoU {record['miou']:.2f}  params {record['params']:,}  "
            f"GMACs {record['gmacs']:.3f} ({record['gmacs_convention']})  in {duration(record['wall_s'])}"
            f"  -> {path}")


class JobConsole:
    """Prints whole lines, each with the job's prefix, flushed at once (parallel jobs share one terminal)."""

    def __init__(self, prefix: str = "", stream=None):
        self.prefix = prefix
        self.stream = stream

    def say(self, message: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"{self.prefix} {message}\n" if self.prefix else f"{message}\n")
        stream.flush()


class EpochLines(pl.Callback):
    """Lightning callback: one line per epoch (throttled to `min_interval_s`), plus a mid-epoch heartbeat."""

    def __init__(self, min_interval_s: float = 0.0, heartbeat_s: float = 60.0, console: JobConsole | None = None):
        self.min_interval_s = float(min_interval_s)
        self.heartbeat_s = float(heartbeat_s)
        self.console = console or JobConsole()
        self._start = self._last = 0.0
        self._epoch0 = 0  # a resumed fit starts later: elapsed time covers only the epochs since then

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = self._last = time.monotonic()
        self._epoch0 = trainer.current_epoch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        now = time.monotonic()
        if now - self._last < self.heartbeat_s:
            return
        total = trainer.num_training_batches
        done = trainer.current_epoch + (batch_idx + 1) / total if total and math.isfinite(total) else None
        loss = trainer.callback_metrics.get("train/loss_step")
        self._say(trainer, pl_module, f"step {batch_idx + 1}/{total}", done, now,
                  [f"loss {float(loss):.3f}" if loss is not None else ""])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        now = time.monotonic()
        epoch = trainer.current_epoch + 1
        last = epoch >= (trainer.max_epochs or 0)
        if not (epoch == 1 or last or now - self._last >= self.min_interval_s):
            return
        metrics = trainer.callback_metrics
        parts = [f"loss {float(metrics['train/loss_epoch']):.3f}" if "train/loss_epoch" in metrics else "",
                 f"val mIoU {float(metrics['val/miou']):.2f}" if "val/miou" in metrics else ""]
        self._say(trainer, pl_module, "", epoch, now, parts)

    def _say(self, trainer, pl_module, where: str, done: float | None, now: float, parts: list[str]) -> None:
        epochs = trainer.max_epochs
        head = f"epoch {trainer.current_epoch + 1}/{epochs}" + (f" {where}" if where else "")
        convs = gradual_convs(pl_module)
        if convs:  # the alpha the next step uses (GradualGrouping sets it; 1 = dense, 0 = grouped)
            parts.append(f"alpha {float(convs[0][1].alpha):.2f}")
        elapsed = now - self._start
        parts.append(f"{duration(elapsed)} elapsed")
        if done is not None and done > self._epoch0 and epochs and epochs > 0:
            parts.append(f"ETA {duration(elapsed / (done - self._epoch0) * (epochs - done))}")
        self.console.say("  ".join([head, *[p for p in parts if p]]))
        self._last = now
