"""Summary runs on wandb: the results table with its Pareto plot (job_type "table"), and the gradual
grouping study's tables and plots (job_type "study").

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


def log_study_wandb(mode: str, out: Path, comparisons: list[dict], arms: list[dict], pngs: dict, group: str,
                    config: dict) -> None:
    """The study as one summary run (job_type="study", grouped under the study dir's name): the comparison
    and arm tables, and the forest and curves plots."""
    if mode == "disabled":
        return
    run = wandb.init(project="gradgroup", job_type="study", name=f"study-{group}", group=group, mode=mode,
                     dir=str(out), config=config)
    try:
        def table(rows: list[dict]) -> wandb.Table:
            cols = list(dict.fromkeys(k for r in rows for k in r if k != "seeds"))
            return wandb.Table(columns=cols, data=[[r.get(c) if isinstance(r.get(c), (int, float)) or r.get(c) is None
                                                    else str(r.get(c)) for c in cols] for r in rows])
        run.log({"comparisons": table(comparisons), "arms": table(arms),
                 **{name: wandb.Image(str(path)) for name, path in pngs.items()}})
    finally:
        run.finish()
