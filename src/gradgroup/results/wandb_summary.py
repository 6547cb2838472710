"""Summary runs on wandb, in the sweep's own project and group beside its jobs (docs/wandb.md): the results
table with interactive mIoU-vs-GMACs and mIoU-vs-latency scatters and the Pareto plot (job_type "table"),
and the gradual grouping study's tables and plots (job_type "study").

Offline by default, so it needs no account; `wandb sync <out>/wandb/offline-run-*` uploads it later.
Where it goes (`target`: mode, project, entity, group) is decided by the command (cli/table.py, cli/study.py)
with common/wandb_names.py `summary_target`, the same rule for every command.
"""
from __future__ import annotations

from pathlib import Path

import wandb

from .format import num
from .table import FIELDS, NUMERIC, iou_columns

SCATTERS = {"miou_vs_gmacs": ("gmacs", "mIoU (%) vs GMACs"), "miou_vs_latency": ("latency_ms", "mIoU (%) vs latency (ms)")}


def _init(target: dict, out: Path, job_type: str, name: str, config: dict):
    return wandb.init(project=target["project"], entity=target.get("entity"), group=target.get("group"),
                      job_type=job_type, name=name, mode=target["mode"], dir=str(out), config=config)


def results_table(rows: list[dict]) -> wandb.Table:
    """results.csv as a wandb Table: the same rows and columns; numbers typed (None when blank), text as text."""
    cols = FIELDS + iou_columns(rows)
    data = [[num(r.get(c)) if c in NUMERIC or c.startswith("iou_") else str(r.get(c) or "") for c in cols]
            for r in rows]
    return wandb.Table(columns=cols, data=data)


def log_wandb(target: dict, out: Path, rows: list[dict], png: Path, config: dict) -> str | None:
    """One summary run (job_type="table"): the table, its scatters and the Pareto plot; returns its id."""
    if target["mode"] == "disabled":
        return None
    run = _init(target, out, "table", f"results {target.get('group') or out.name}", config)
    try:
        table = results_table(rows)
        logged = {"results": table, "pareto": wandb.Image(str(png))}
        for key, (x, title) in SCATTERS.items():
            if any(num(r.get(x)) is not None and num(r.get("miou")) is not None for r in rows):
                logged[key] = wandb.plot.scatter(table, x, "miou", title=title)
        run.log(logged)
        return run.id
    finally:
        run.finish()  # always: an unfinished run would swallow the next one in a multirun


def log_study_wandb(target: dict, out: Path, comparisons: list[dict], arms: list[dict], pngs: dict,
                    config: dict) -> str | None:
    """The study as one summary run (job_type="study", in the study's group): the comparison and arm
    tables, and the forest and curves plots; returns its id."""
    if target["mode"] == "disabled":
        return None
    run = _init(target, out, "study", f"study {target.get('group') or out.name}", config)
    try:
        def table(rows: list[dict]) -> wandb.Table:
            cols = list(dict.fromkeys(k for r in rows for k in r if k != "seeds"))
            return wandb.Table(columns=cols, data=[[r.get(c) if isinstance(r.get(c), (int, float)) or r.get(c) is None
                                                    else str(r.get(c)) for c in cols] for r in rows])
        run.log({"comparisons": table(comparisons), "arms": table(arms),
                 **{name: wandb.Image(str(path)) for name, path in pngs.items()}})
        return run.id
    finally:
        run.finish()
