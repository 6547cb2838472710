"""The results table as one wandb summary run (job_type "table"): the table and the Pareto plot.

Offline by default, so it needs no account; `wandb sync <out>/wandb/offline-run-*` uploads it later.
"""
from __future__ import annotations

from pathlib import Path

import wandb

from .format import num
from .table import FIELDS, NUMERIC, iou_columns


def log_wandb(mode: str, out: Path, rows: list[dict], png: Path, config: dict) -> None:
    """One summary run (job_type="table") holding the table and the plot; offline needs no account."""
    if mode == "disabled":
        return
    cols = FIELDS + iou_columns(rows)
    run = wandb.init(project="gradgroup", job_type="table", name="results-table", mode=mode,
                     dir=str(out), config=config)
    try:
        # wandb types each column: numbers (None when blank) or strings, never a mix.
        data = [[num(r.get(c)) if c in NUMERIC or c.startswith("iou_") else str(r.get(c) or "") for c in cols]
                for r in rows]
        run.log({"results": wandb.Table(columns=cols, data=data), "pareto": wandb.Image(str(png))})
    finally:
        run.finish()  # always: an unfinished run would swallow the next one in a multirun
