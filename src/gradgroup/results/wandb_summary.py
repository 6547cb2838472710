"""Summary runs on wandb, in the sweep's own project and group beside its jobs (docs/wandb.md): the results
table with interactive mIoU-vs-GMACs and mIoU-vs-latency scatters and the Pareto plot (job_type "table"),
the gradual grouping study's tables and plots (job_type "study"), and the placement search's confirmed
front with its scatter and plots (job_type "search"). One summary run per sweep dir and kind: a rerun
continues it (common/wandb_names.py summary_run_id).

Offline by default, so it needs no account; `wandb sync <out>/wandb/offline-run-*` uploads it later.
Where it goes (`target`: mode, project, entity, group) is decided by the command (cli/table.py, cli/study.py,
cli/search.py)
with common/wandb_names.py `summary_target`, the same rule for every command.
"""
from __future__ import annotations

from pathlib import Path

import wandb

from ..common.wandb_names import summary_run_id
from .format import num
from .table import FIELDS, NUMERIC, iou_columns

SCATTERS = {"miou_vs_gmacs": ("gmacs", "mIoU (%) vs GMACs"), "miou_vs_latency": ("latency_ms", "mIoU (%) vs latency (ms)")}


def _init(target: dict, out: Path, job_type: str, name: str, config: dict):
    """The summary run of kind `job_type` for `out`: one id per sweep and kind, continued by a rerun."""
    return wandb.init(project=target["project"], entity=target.get("entity"), group=target.get("group"),
                      job_type=job_type, name=name, mode=target["mode"], dir=str(out), config=config,
                      id=summary_run_id(out, job_type), resume="allow")


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
        run.log({"comparisons": _table(comparisons), "arms": _table(arms),
                 **{name: wandb.Image(str(path)) for name, path in pngs.items()}})
        return run.id
    finally:
        run.finish()


def log_search_wandb(target: dict, out: Path, rows: list[dict], pngs: dict, config: dict) -> str | None:
    """The search as one summary run (job_type="search", in the search's group): its confirmed rows as the
    table `front` (`front` true on the final front), an interactive mIoU-vs-latency scatter over it, and the
    Pareto plots; returns its id."""
    if target["mode"] == "disabled":
        return None
    run = _init(target, out, "search", f"search {target.get('group') or out.name}", config)
    try:
        table = _table(rows, drop=("per_seed",))
        logged = {"front": table, **{name: wandb.Image(str(path)) for name, path in pngs.items()}}
        if any(r.get("latency_ms") is not None and r.get("mean") is not None for r in rows):
            logged["miou_vs_latency"] = wandb.plot.scatter(table, "latency_ms", "mean",
                                                           title="confirmed mean mIoU (%) vs latency (ms)")
        run.log(logged)
        return run.id
    finally:
        run.finish()


def _table(rows: list[dict], drop=("seeds",)) -> wandb.Table:
    """Rows of dicts as a wandb Table: every key but `drop`; numbers, booleans and nulls as they are, the rest as text."""
    cols = list(dict.fromkeys(k for r in rows for k in r if k not in drop))
    keep = lambda v: v if v is None or isinstance(v, (int, float, bool)) else str(v)
    return wandb.Table(columns=cols, data=[[keep(r.get(c)) for c in cols] for r in rows])
