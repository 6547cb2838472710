"""The results table of a sweep of gradual-grouping experiments: aggregation, budgets, Markdown and CSV.

Reports "Efficient Semantic Segmentation using Gradual Grouping" (Vallurupalli et al., CVPR-W 2018,
arXiv 1806.08522) the way its Tables 3-5 do (docs/paper.md section 3: mIoU, params, GMACs per model),
with our numbers beside the paper's printed ones, plus what the paper lacks: mean +- std over seeds,
measured latency (from the sweep's latency.json) and "the best model within a compute budget". The command is `gradgroup-table`
(`gradgroup.cli.table`); the plot (the paper's Figure 4) is `gradgroup.results.pareto`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .format import ci_cell, display_label, first_line, gmacs_header, md_row, num, pm
from ..common.records import Status
from .records import is_ok, latency_view
from .stats import t_interval

# Column order of results.csv; per-class IoU columns ("iou_<class>") follow. Rows are plain dicts with
# these keys, both when built from metrics.json and when read back from a CSV, so the plot code (and the
# notebook) works on either.
FIELDS = ["table", "experiment", "arm", "preset", "label", "family", "status", "n", "seeds",
          "miou", "miou_std", "params", "gmacs", "gmacs_convention", "input_hw", "label_resolution", "latency_ms",
          "speedup_vs_erfnet", "paper_miou", "paper_params", "paper_gmacs", "fits_budget", "error"]
NUMERIC = {"n", "miou", "miou_std", "params", "gmacs", "latency_ms", "speedup_vs_erfnet",
           "paper_miou", "paper_params", "paper_gmacs"}
TABLE_ORDER = ["table3", "table4", "table5", "ablation"]  # the paper's order, then our ablations
# One row per key; ok rows have error "". `config` is the job's overrides without its seed: runs that
# differ in anything but the seed (optim.lr=5e-4 vs 1e-2) are separate rows, never "n=2 seeds".
KEY = ["experiment", "arm", "preset", "config", "status", "error"]
# Overrides that cannot change a result (where output goes, how it is shown) and the seed itself.
NOT_CONFIG = ("seed", "ckpt_path", "logger.", "trainer.enable_progress_bar", "callbacks.console", "hydra.")


def config_of(r: dict) -> str:
    """The run's overrides (metrics.json `overrides`, from Hydra) minus the seed and output-only keys."""
    keep = []
    for o in r.get("overrides") or []:
        key = str(o).split("=", 1)[0].lstrip("+~")
        if not any(key == n or (n.endswith(".") and key.startswith(n)) for n in NOT_CONFIG):
            keep.append(str(o))
    return " ".join(sorted(keep))
FIRST = ["table", "label", "family", "gmacs_convention", "input_hw", "label_resolution", "paper_miou", "paper_params",
         "paper_gmacs"]  # taken from a group's first run; the measured numbers are averaged


def _flat(r: dict, labels: dict) -> dict:
    """One run as a flat record: its group key, what it is, and its numbers (None when failed)."""
    exp, ok = str(r.get("experiment") or "?"), is_ok(r)
    # Seeds that fail the same way collapse into one row (a config error fails every seed): key on the
    # error's first line.
    err = "" if ok else first_line(r.get("error") or ("status ok but no mIoU recorded" if r.get("status") == Status.OK
                                                      else f"status {r.get('status')!r}, no error recorded"))
    hw = r.get("input_hw") if ok else None
    paper = r.get("paper") if ok and isinstance(r.get("paper"), dict) else {}
    ious = r.get("class_iou") if ok and isinstance(r.get("class_iou"), dict) else {}
    return {"experiment": exp, "arm": r.get("arm") or "", "preset": r.get("preset") or "",
            "status": Status.OK if ok else _not_ok(r), "error": err, "seed": str(r.get("seed", "")), "config": config_of(r),
            # A failed job may lack its label; borrow the one its experiment's other seeds report.
            "table": r.get("table") or "", "label": r.get("label") or labels.get(exp, exp),
            "family": r.get("family") or "", "gmacs_convention": ok and r.get("gmacs_convention") or "",
            # Printed W x H as the paper does ("1024x512"); metrics.json has [H, W] like torch.
            "input_hw": f"{hw[1]}x{hw[0]}" if isinstance(hw, (list, tuple)) and len(hw) == 2 else "",
            # What the mIoU was scored against (full | half | label_hw) and the W x H that gave.
            "label_resolution": _resolution(r) if ok else "",
            **{f"paper_{k}": num(paper.get(k)) for k in ("miou", "params", "gmacs")},
            **{k: num(r.get(k)) if ok else None for k in ("miou", "params", "gmacs")},
            "latency_ms": None,  # measured by gradgroup-bench --sweep into latency.json (attach_latency)
            **{"iou_" + c.replace(" ", "_"): num(v) for c, v in ious.items()}}


def _not_ok(r: dict) -> str:
    """A row's status when it is not ok: "not started" (planned by the sweep, never run) or "failed"."""
    return Status.NOT_STARTED if r.get("status") == Status.NOT_STARTED else Status.FAILED


def _resolution(r: dict) -> str:
    lhw, res = r.get("label_hw"), r.get("label_resolution")
    if not res:
        return ""
    return f"{res} {lhw[1]}x{lhw[0]}" if isinstance(lhw, (list, tuple)) and len(lhw) == 2 else str(res)


def aggregate(runs: list[dict]) -> list[dict]:
    """One row per (experiment, arm, preset) over its successful seeds, one per distinct failure.

    mIoU, params, GMACs, latency and per-class IoU are means over the seeds that report them; miou_std
    is the sample std (n-1), the spread to expect from one more seed, None for a single seed.
    """
    if not runs:
        return []
    labels = {str(r.get("experiment")): r["label"] for r in runs if r.get("label")}
    df = pd.DataFrame([_flat(r, labels) for r in runs])
    means = ["miou", "params", "gmacs", "latency_ms"] + [c for c in df if c.startswith("iou_")]
    df[means + FIRST[-3:]] = df[means + FIRST[-3:]].astype(float)
    groups = df.groupby(KEY, sort=False)
    table = df.drop_duplicates(KEY).set_index(KEY)[FIRST].join(groups[means].mean()).join(
        groups.agg(n=("seed", "size"), seeds=("seed", ";".join), miou_std=("miou", "std"))).reset_index()
    rows = []
    for rec in table.astype(object).where(table.notna(), None).to_dict("records"):
        ok = rec["status"] == Status.OK
        # Failed rows leave every number blank; ok rows keep None for an unknown number and carry only
        # the classes their runs reported.
        rows.append({f: "" for f in FIELDS} | {k: v for k, v in rec.items()
                                               if v is not None or (ok and not k.startswith("iou_"))})
        if ok:
            rows[-1]["params"] = None if rec["params"] is None else round(rec["params"])
    _name_configs(rows)

    def order(r):  # the paper's: by table, most expensive first (ERFNet on top); failures last
        t, g = r["table"], num(r["gmacs"])
        return (r["status"] != Status.OK, TABLE_ORDER.index(t) if t in TABLE_ORDER else len(TABLE_ORDER),
                t, -(g if g is not None else -1), r["experiment"], r["arm"])
    return sorted(rows, key=order)


def _name_configs(rows: list[dict]) -> None:
    """Rows of one experiment that differ in their overrides get the differing ones in their label."""
    by_exp: dict = {}
    for r in rows:  # failed and never-started rows too: "DG4* [model.encoder.groups=3]" says which one failed
        by_exp.setdefault((r["experiment"], r["arm"], r["preset"]), []).append(r)
    for same in by_exp.values():
        configs = [set(r["config"].split()) for r in same]
        if len({frozenset(c) for c in configs}) < 2:
            continue
        shared = set.intersection(*configs)
        for r, c in zip(same, configs):
            r["label"] = f"{r['label']} [{' '.join(sorted(c - shared)) or 'defaults'}]"


def _at(value, wh: str):
    """A number, or from a {"WxH": number} dict: this row's input size, else the paper's, else the only one."""
    if isinstance(value, dict):
        for k in (wh, "1024x512"):
            if k in value:
                return num(value[k])
        return num(next(iter(value.values()))) if len(value) == 1 else None
    return num(value)


def attach_latency(rows: list[dict], measured: dict | None) -> None:
    """Put measured latency (latency.json's) on the rows, then the speedup over ERFNet."""
    ratios = {}
    for r in rows:
        m = (measured or {}).get(r["experiment"])
        wh = str(r.get("input_hw"))  # W x H, like the paper and latency.json (records.load_latency)
        if r["status"] == Status.OK and isinstance(m, dict) and _at(m.get("ms"), wh) is not None:
            r["latency_ms"] = _at(m["ms"], wh)
            ratios[id(r)] = _at(m.get("ratio_vs_erfnet"), wh)
    base = next((num(r["latency_ms"]) for r in rows
                 if str(r.get("family")).lower() == "erfnet" and num(r.get("latency_ms"))), None)
    for r in rows:
        ms, ratio = num(r.get("latency_ms")), ratios.get(id(r))
        # A ratio timed side by side in one process beats dividing latencies from separate runs.
        r["speedup_vs_erfnet"] = 1 / ratio if ms and ratio else (base / ms if base and ms else None)


def job_latency(runs: list[dict], latency: dict | None) -> list[tuple[dict, dict]]:
    """(record, {"latency_ms", "speedup_vs_erfnet"}) of each ok job with a measured latency: the numbers its
    row of the table shows, per job (what gradgroup-table puts in each job's wandb run summary)."""
    measured = latency_view(latency) if latency else {}
    done = [r for r in runs if is_ok(r)]
    flat = [_flat(r, {}) for r in done]
    attach_latency(flat, measured)
    return [(r, {k: f[k] for k in ("latency_ms", "speedup_vs_erfnet")})
            for r, f in zip(done, flat) if f["latency_ms"] is not None]


def latency_caption(meta: dict) -> tuple[str, ...]:
    """The lines under the table naming how latency was measured: backend, machine, statistic, warnings."""
    if not meta:
        return ()
    where = ", ".join(str(meta[k]) for k in ("cpu", "simd") if meta.get(k))
    line = (f"Latency: backend {meta.get('backend')}, measured by gradgroup-bench ({where}, {meta.get('threads')} threads, "
            f"batch {meta.get('batch', 1)}, {meta.get('output', 'labels')} output, median of {meta.get('rounds')} "
            f"interleaved rounds, torch {meta.get('torch')}); speedup vs ERFNet = ERFNet ms / model ms on the "
            "same backend in the same run.")
    return (line, *(f"Warning: {w}" for w in meta.get("warnings") or []))


def select_best(rows: list[dict], budget_gmacs=None, budget_ms=None) -> tuple[dict | None, str]:
    """Mark each ok row yes/no against all given budgets and the best-mIoU fitting one "best"."""
    if budget_gmacs is None and budget_ms is None:
        return None, ""
    ok = [r for r in rows if r["status"] == Status.OK]
    for r in ok:
        g, ms = num(r.get("gmacs")), num(r.get("latency_ms"))
        # An unknown cost never fits: a budget is a promise we cannot check without the number.
        fits = (budget_gmacs is None or (g is not None and g <= budget_gmacs)) and \
               (budget_ms is None or (ms is not None and ms <= budget_ms))
        r["fits_budget"] = "yes" if fits else "no"
    fitting = [r for r in ok if r["fits_budget"] == "yes"]
    budget = ", ".join(([f"GMACs <= {budget_gmacs:g}"] if budget_gmacs is not None else []) +
                       ([f"latency <= {budget_ms:g} ms"] if budget_ms is not None else []))
    if not fitting:
        msg = f"Nothing fits the budget ({budget})"
        if budget_ms is not None and not any(num(r.get("latency_ms")) for r in ok):
            msg += ": no latency measured (run gradgroup-bench --sweep DIR, or drop --no-latency)"
        return None, msg + "."
    best = max(fitting, key=lambda r: (r["miou"], -(num(r.get("gmacs")) or 0)))
    best["fits_budget"] = "best"
    line = f"Best within budget ({budget}): {display_label(best)} ({best['experiment']}) " \
           f"mIoU {pm(best['miou'], best.get('miou_std'), '+-')}"
    if num(best.get("gmacs")) is not None:
        line += f", {best['gmacs']:.3f} GMACs"
    if num(best.get("latency_ms")) is not None:
        line += f", {best['latency_ms']:.2f} ms"
    return best, line


def markdown_table(rows: list[dict], notes: tuple[str, ...] = (), latency_backend: str | None = None) -> str:
    """The table as Markdown, paper columns beside ours, failures last with their error's first line;
    the latency column names the backend it was measured on when known."""
    has_budget = any(r.get("fits_budget") for r in rows)
    head = ["label", "experiment", "n", "mIoU (%)", "95% CI", "paper mIoU", "params", "paper params",
            gmacs_header(rows), "paper GMACs",
            f"latency (ms, {latency_backend})" if latency_backend else "latency (ms)", "speedup vs ERFNet"] + \
           (["fits budget"] if has_budget else []) + ["status"]
    presets = {r.get("preset") for r in rows if r["status"] == Status.OK}
    f = lambda v, spec: "" if num(v) is None else format(num(v), spec)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        label = display_label(r) + (f" ({r['preset']})" if len(presets) > 1 and r.get("preset") else "")
        ok = r["status"] == Status.OK
        cells = [label, r["experiment"], f(r.get("n"), ".0f"),
                 pm(r["miou"], r.get("miou_std")) if ok else "", miou_interval(r) if ok else "",
                 f(r.get("paper_miou"), ".2f"),
                 f(r.get("params"), ",.0f"), f(r.get("paper_params"), ",.0f"), f(r.get("gmacs"), ".3f"),
                 f(r.get("paper_gmacs"), ".3f"), f(r.get("latency_ms"), ".2f"),
                 f(r.get("speedup_vs_erfnet"), ".2f") + ("x" if num(r.get("speedup_vs_erfnet")) else "")]
        if has_budget:
            cells.append({"best": "★ best", "yes": "yes", "no": "no"}.get(r.get("fits_budget"), ""))
        cells.append(str(Status.OK) if ok else f"{r['status']}: {r['error']}")
        lines.append(md_row(cells))
    scored = sorted({r.get("label_resolution") or "not recorded" for r in rows if r["status"] == Status.OK})
    notes = ["", "mIoU: mean ± sample std over n seeds; 95% CI: Student-t interval of that mean; paper columns: the paper's printed numbers "
             "(Tables 3-5, Cityscapes val, ground truth subsampled by 2). Failed jobs are listed with the first "
             "line of their error.", *([f"Label resolution of our mIoU (W x H): {'; '.join(scored)}."]
                                       if scored else []),
             *notes]
    return "\n".join(lines + notes) + "\n"


def miou_interval(row: dict) -> str:
    """The 95% Student-t interval of a row's mean mIoU over its n seeds, "" for one seed."""
    return ci_cell(*t_interval(num(row.get("miou")), num(row.get("miou_std")), num(row.get("n"))))


def iou_columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r if k.startswith("iou_")))


def write_csv(rows: list[dict], path) -> None:
    """results.csv: FIELDS then the iou_ columns; floats with at most 4 decimals (diffs cleanly)."""
    cell = lambda v: "" if v is None or v != v else (f"{v:.4f}".rstrip("0").rstrip(".") if isinstance(v, float)
                                                     else v)
    df = pd.DataFrame(rows, columns=FIELDS + iou_columns(rows), dtype=object)
    df.map(cell).to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8")


def load_results_csv(paths) -> list[dict]:
    """Rows of one or more results.csv files, numbers parsed; ``source`` names the file (notebook)."""
    rows = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        rows += [{k: (num(v) if (k in NUMERIC or k.startswith("iou_")) else v) for k, v in r.items()}
                 | {"source": str(p)} for r in df.to_dict("records")]
    return rows


def make_table(runs: list[dict], latency: dict | None = None, budget_gmacs=None, budget_ms=None):
    """Rows (latency and budget marks applied), the Markdown table, and the one-line budget answer.

    ``latency`` is a latency.json's content or `gradgroup.results.records.load_latency`'s view of it, or
    None for a table without latency.
    """
    rows = aggregate(runs)
    measured = latency_view(latency) if latency else {}  # accepts load_latency's view or a file's content
    attach_latency(rows, measured)
    best, line = select_best(rows, budget_gmacs, budget_ms)
    meta = measured.get("_meta") if isinstance(measured.get("_meta"), dict) else {}
    notes = latency_caption(meta)
    return rows, markdown_table(rows, notes, meta.get("backend")), line
