"""Results tables and the accuracy/compute Pareto plot for sweeps of gradual-grouping experiments.

Reports "Efficient Semantic Segmentation using Gradual Grouping" (Vallurupalli et al., CVPR-W 2018,
arXiv 1806.08522) the way its Tables 3-5 (mIoU, params, GMACs per model) and Figure 4 (error = 100 - mIoU
against GMACs, one series per family) do, with our numbers beside the paper's printed ones, plus what the
paper lacks: mean +- std over seeds, measured latency, and "the best model within a compute budget".

Data flows one way (shared/design.md): this module reads only the ``metrics.json`` files that training
jobs write, never checkpoints or logger internals, and writes results.csv, results.md and pareto.png.

    gradgroup-table SWEEP_DIR [SWEEP_DIR ...] [--budget-gmacs X] [--budget-ms Y] [--out DIR]
                    [--no-latency] [--wandb {offline,online,disabled}]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Callable

from gradgroup.errors import GradgroupError
from gradgroup.pareto_plot import pareto_front, plot_pareto  # noqa: F401  (re-exported)

# Column order of results.csv; per-class IoU columns ("iou_<class>") follow. Rows are plain dicts with
# these keys, both when built from metrics.json and when read back from a CSV, so the plot code (and the
# notebook) works on either.
FIELDS = ["table", "experiment", "arm", "preset", "label", "family", "status", "n", "seeds",
          "miou", "miou_std", "params", "gmacs", "gmacs_convention", "input_hw", "latency_ms",
          "speedup_vs_erfnet", "paper_miou", "paper_params", "paper_gmacs", "fits_budget", "error"]
NUMERIC = {"n", "miou", "miou_std", "params", "gmacs", "latency_ms", "speedup_vs_erfnet",
           "paper_miou", "paper_params", "paper_gmacs"}
TABLE_ORDER = ["table3", "table4", "table5", "ablation"]  # the paper's order, then our ablations
LatencyFn = Callable[[list], dict]


def _num(x):
    """A finite float, or None for anything else (null, strings, NaN): metrics.json is never trusted."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def _first_line(msg) -> str:
    lines = str(msg or "").strip().splitlines()
    return lines[0] if lines else "unknown error"


def load_runs(sweep_dirs) -> list[dict]:
    """Every metrics.json below the sweep dirs (any depth: Hydra multirun nests job dirs)."""
    runs = []
    for d in map(Path, sweep_dirs):
        if not d.is_dir():
            raise GradgroupError(f"sweep dir {d} does not exist (or is not a directory)")
        paths = sorted(d.rglob("metrics.json"))
        if not paths:
            raise GradgroupError(f"no metrics.json found under {d}: is this a sweep or run dir?")
        for p in paths:
            try:
                run = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(run, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError):
                # A half-written file (job killed mid-write) must show up as a failure, not crash the table.
                run = {"status": "failed", "error": f"unreadable metrics.json: {p}",
                       "experiment": str(p.parent.relative_to(d)) or d.name}
            run["_path"] = str(p)
            runs.append(run)
    return runs


def _is_ok(run: dict) -> bool:
    return run.get("status") == "ok" and _num(run.get("miou")) is not None


def _mean(values):
    vals = [v for v in map(_num, values) if v is not None]
    return statistics.fmean(vals) if vals else None


def aggregate(runs: list[dict]) -> list[dict]:
    """One row per (experiment, arm, preset) over its successful seeds, one per distinct failure."""
    groups: dict[tuple, list[dict]] = {}
    # A failed job may lack its label; borrow the one its experiment's other seeds report.
    labels = {r.get("experiment"): r["label"] for r in runs if r.get("label")}
    for r in runs:
        key = (str(r.get("experiment") or "?"), r.get("arm") or "", r.get("preset") or "")
        if not _is_ok(r):
            # Seeds that fail the same way collapse into one row; a config error fails every seed.
            err = _first_line(r.get("error") or ("status ok but no mIoU recorded" if r.get("status") == "ok"
                                                 else f"status {r.get('status')!r}, no error recorded"))
            key += ("failed", err)
        groups.setdefault(key, []).append(r)
    rows = []
    for key, rs in groups.items():
        first = rs[0]
        row = {f: "" for f in FIELDS}
        row.update(experiment=key[0], arm=key[1], preset=key[2], table=first.get("table") or "",
                   label=first.get("label") or labels.get(key[0], key[0]), family=first.get("family") or "",
                   n=len(rs), seeds=";".join(str(r.get("seed", "")) for r in rs))
        if len(key) > 3:
            row.update(status="failed", error=key[4])
            rows.append(row)
            continue
        mious = [_num(r["miou"]) for r in rs]
        # Sample std (n-1): the spread we would expect from one more seed; blank for a single seed.
        row.update(status="ok", miou=statistics.fmean(mious),
                   miou_std=statistics.stdev(mious) if len(mious) > 1 else None,
                   params=(lambda p: None if p is None else round(p))(_mean(r.get("params") for r in rs)),
                   gmacs=_mean(r.get("gmacs") for r in rs),
                   gmacs_convention=first.get("gmacs_convention") or "",
                   latency_ms=_mean(r.get("latency_ms") for r in rs))
        hw = first.get("input_hw")
        if isinstance(hw, (list, tuple)) and len(hw) == 2:
            row["input_hw"] = f"{hw[1]}x{hw[0]}"  # printed W x H as the paper does ("1024x512")
        paper = first.get("paper") if isinstance(first.get("paper"), dict) else {}
        row.update(paper_miou=_num(paper.get("miou")), paper_params=_num(paper.get("params")),
                   paper_gmacs=_num(paper.get("gmacs")))
        classes = [c for r in rs if isinstance(r.get("class_iou"), dict) for c in r["class_iou"]]
        for c in dict.fromkeys(classes):
            row["iou_" + c.replace(" ", "_")] = _mean(r.get("class_iou", {}).get(c) for r in rs)
        rows.append(row)

    def order(r):  # the paper's: by table, most expensive first (ERFNet on top); failures last
        t, g = r["table"], _num(r["gmacs"])
        return (r["status"] != "ok", TABLE_ORDER.index(t) if t in TABLE_ORDER else len(TABLE_ORDER),
                t, -(g if g is not None else -1), r["experiment"], r["arm"])
    return sorted(rows, key=order)


def latency_fn(experiments: list[str]) -> dict[str, dict]:
    """Hook: measured latency per experiment, {experiment: {"ms": ..., "ratio_vs_erfnet": ...}}.

    Values are numbers or, as ``gradgroup.bench.measure_latency`` returns them, dicts keyed by input size
    "HxW". ``ratio_vs_erfnet`` is this model's latency / ERFNet's (below 1 is faster). A "_meta" entry
    (device, threads, rounds) is printed under the table.
    """
    try:
        from gradgroup.bench import measure_latency
    except ImportError as e:
        print(f"note: latency not measured (gradgroup.bench unavailable: {e})")
        return {}
    return measure_latency(experiments)


def _at(value, hw: str):
    """A number, or from a {"HxW": number} dict: this row's input size, else the paper's, else the only one."""
    if isinstance(value, dict):
        for k in (hw, "512x1024"):
            if k in value:
                return _num(value[k])
        return _num(next(iter(value.values()))) if len(value) == 1 else None
    return _num(value)


def attach_latency(rows: list[dict], measured: dict | None) -> None:
    """Put measured latency on the rows (it replaces metrics.json's), then the speedup vs ERFNet."""
    ratios = {}
    for r in rows:
        m = (measured or {}).get(r["experiment"])
        w, _, h = str(r.get("input_hw")).partition("x")
        hw = f"{h}x{w}"  # rows print W x H like the paper; the benchmark keys H x W like torch
        if r["status"] == "ok" and isinstance(m, dict) and _at(m.get("ms"), hw) is not None:
            r["latency_ms"] = _at(m["ms"], hw)
            ratios[id(r)] = _at(m.get("ratio_vs_erfnet"), hw)
    base = next((_num(r["latency_ms"]) for r in rows
                 if str(r.get("family")).lower() == "erfnet" and _num(r.get("latency_ms"))), None)
    for r in rows:
        ms, ratio = _num(r.get("latency_ms")), ratios.get(id(r))
        # A ratio timed side by side in one process beats dividing latencies from separate runs.
        r["speedup_vs_erfnet"] = 1 / ratio if ms and ratio else (base / ms if base and ms else None)


def select_best(rows: list[dict], budget_gmacs=None, budget_ms=None) -> tuple[dict | None, str]:
    """Mark each ok row yes/no against all given budgets and the best-mIoU fitting one "best"."""
    if budget_gmacs is None and budget_ms is None:
        return None, ""
    ok = [r for r in rows if r["status"] == "ok"]
    for r in ok:
        g, ms = _num(r.get("gmacs")), _num(r.get("latency_ms"))
        # An unknown cost never fits: a budget is a promise we cannot check without the number.
        fits = (budget_gmacs is None or (g is not None and g <= budget_gmacs)) and \
               (budget_ms is None or (ms is not None and ms <= budget_ms))
        r["fits_budget"] = "yes" if fits else "no"
    fitting = [r for r in ok if r["fits_budget"] == "yes"]
    budget = ", ".join(([f"GMACs <= {budget_gmacs:g}"] if budget_gmacs is not None else []) +
                       ([f"latency <= {budget_ms:g} ms"] if budget_ms is not None else []))
    if not fitting:
        msg = f"Nothing fits the budget ({budget})"
        if budget_ms is not None and not any(_num(r.get("latency_ms")) for r in ok):
            msg += ": no latency measured (drop --no-latency or record latency_ms)"
        return None, msg + "."
    best = max(fitting, key=lambda r: (r["miou"], -(_num(r.get("gmacs")) or 0)))
    best["fits_budget"] = "best"
    line = f"Best within budget ({budget}): {display_label(best)} ({best['experiment']}) " \
           f"mIoU {_pm(best['miou'], best.get('miou_std'), '+-')}"
    if _num(best.get("gmacs")) is not None:
        line += f", {best['gmacs']:.3f} GMACs"
    if _num(best.get("latency_ms")) is not None:
        line += f", {best['latency_ms']:.2f} ms"
    return best, line


def display_label(r: dict) -> str:
    return r["label"] + (f" [{r['arm']}]" if r.get("arm") else "")


def _pm(mean, std, sep="±", digits=2) -> str:
    s = _num(std)
    return f"{mean:.{digits}f}" + (f" {sep} {s:.{digits}f}" if s is not None else "")


def gmacs_header(rows: list[dict]) -> str:
    """Name the counting convention and resolution once when all rows share them (they should)."""
    conv = {(r.get("input_hw"), r.get("gmacs_convention")) for r in rows if r["status"] == "ok"}
    if len(conv) == 1:
        hw, c = conv.pop()
        return f"GMACs @ {hw or '?'} ({c or 'convention ?'})"
    return "GMACs (mixed resolution/convention: see results.csv)"


def markdown_table(rows: list[dict], notes: tuple[str, ...] = ()) -> str:
    has_budget = any(r.get("fits_budget") for r in rows)
    head = ["label", "experiment", "n", "mIoU (%)", "paper mIoU", "params", "paper params",
            gmacs_header(rows), "paper GMACs", "latency (ms)", "speedup vs ERFNet"] + \
           (["fits budget"] if has_budget else []) + ["status"]
    presets = {r.get("preset") for r in rows if r["status"] == "ok"}
    f = lambda v, spec: "" if _num(v) is None else format(_num(v), spec)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        label = display_label(r) + (f" ({r['preset']})" if len(presets) > 1 and r.get("preset") else "")
        ok = r["status"] == "ok"
        cells = [label, r["experiment"], f(r.get("n"), ".0f"),
                 _pm(r["miou"], r.get("miou_std")) if ok else "", f(r.get("paper_miou"), ".2f"),
                 f(r.get("params"), ",.0f"), f(r.get("paper_params"), ",.0f"), f(r.get("gmacs"), ".3f"),
                 f(r.get("paper_gmacs"), ".3f"), f(r.get("latency_ms"), ".2f"),
                 f(r.get("speedup_vs_erfnet"), ".2f") + ("x" if _num(r.get("speedup_vs_erfnet")) else "")]
        if has_budget:
            cells.append({"best": "★ best", "yes": "yes", "no": "no"}.get(r.get("fits_budget"), ""))
        cells.append("ok" if ok else f"failed: {r['error']}")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    notes = ["", "mIoU: mean ± sample std over n seeds; paper columns: the paper's printed numbers "
             "(Tables 3-5, Cityscapes val). Failed jobs are listed with the first line of their error.",
             *notes]
    return "\n".join(lines + notes) + "\n"


def write_csv(rows: list[dict], path) -> None:
    classes = list(dict.fromkeys(k for r in rows for k in r if k.startswith("iou_")))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, FIELDS + classes, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            # Floats keep 4 decimals: enough for mIoU/GMACs, and the file diffs cleanly between runs.
            w.writerow({k: ("" if v is None else (f"{v:.4f}".rstrip("0").rstrip(".") if isinstance(v, float)
                                                 else v)) for k, v in r.items()})


def load_results_csv(paths) -> list[dict]:
    """Rows of one or more results.csv files, numbers parsed; ``source`` names the file (notebook)."""
    rows = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        with open(p, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows.append({k: (_num(v) if (k in NUMERIC or k.startswith("iou_")) else v)
                             for k, v in r.items()} | {"source": str(p)})
    return rows


def log_wandb(mode: str, out: Path, rows: list[dict], png: Path, config: dict) -> None:
    """One summary run (job_type="table") holding the table and the plot; offline needs no account."""
    if mode == "disabled":
        return
    import wandb

    cols = FIELDS + list(dict.fromkeys(k for r in rows for k in r if k.startswith("iou_")))
    run = wandb.init(project="gradgroup", job_type="table", name="results-table", mode=mode,
                     dir=str(out), config=config)
    try:
        # wandb types each column: numbers (None when blank) or strings, never a mix.
        data = [[_num(r.get(c)) if c in NUMERIC or c.startswith("iou_") else str(r.get(c) or "") for c in cols]
                for r in rows]
        run.log({"results": wandb.Table(columns=cols, data=data), "pareto": wandb.Image(str(png))})
    finally:
        run.finish()  # always: an unfinished run would swallow the next one in a multirun


def make_table(runs, latency: LatencyFn | None = latency_fn, budget_gmacs=None, budget_ms=None):
    """Rows (latency and budget marks applied), the Markdown table, and the one-line budget answer."""
    rows = aggregate(runs)
    measured = {}
    if latency is not None:
        names = list(dict.fromkeys(r["experiment"] for r in rows if r["status"] == "ok"))
        try:
            measured = latency(names) or {}
        except Exception as e:  # a broken benchmark must not cost us the table
            print(f"note: latency measurement failed, using metrics.json latency only ({_first_line(e)})")
    attach_latency(rows, measured)
    best, line = select_best(rows, budget_gmacs, budget_ms)
    meta = measured.get("_meta") if isinstance(measured.get("_meta"), dict) else {}
    notes = ("Latency measured now (" + ", ".join(f"{k} {v}" for k, v in meta.items() if v is not None)
             + ").",) if meta else ()
    return rows, markdown_table(rows, notes), line


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="gradgroup-table", description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="dirs searched for metrics.json")
    ap.add_argument("--budget-gmacs", type=float, help="best mIoU with GMACs <= this")
    ap.add_argument("--budget-ms", type=float, help="best mIoU with latency (ms) <= this")
    ap.add_argument("--out", help="output dir (default: the first SWEEP_DIR)")
    ap.add_argument("--no-latency", action="store_true", help="do not call the latency benchmark")
    modes = ["offline", "online", "disabled"]
    env_mode = os.environ.get("WANDB_MODE", "offline")  # respect a session-wide choice (tests: disabled)
    ap.add_argument("--wandb", choices=modes, default=env_mode if env_mode in modes else "offline",
                    help="summary run mode; offline writes under OUT/wandb (default: $WANDB_MODE or offline)")
    args = ap.parse_args(argv)
    try:
        runs = load_runs(args.sweep_dirs)
    except GradgroupError as e:
        print(f"gradgroup-table: error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out or args.sweep_dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    rows, md, line = make_table(runs, None if args.no_latency else latency_fn,
                                args.budget_gmacs, args.budget_ms)
    write_csv(rows, out / "results.csv")
    (out / "results.md").write_text("# Results\n\n" + (line + "\n\n" if line else "") + md, encoding="utf-8")
    plot_pareto(rows, out / "pareto.png", args.budget_gmacs, args.budget_ms)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # ★ and ± on an ASCII terminal must not crash us
    print(md)
    n_failed = sum(1 for r in runs if not _is_ok(r))
    print(f"{len(runs)} runs ({n_failed} failed) -> {out / 'results.csv'}, results.md, pareto.png")
    if line:
        print(line)
    try:
        log_wandb(args.wandb, out, rows, out / "pareto.png", {"sweep_dirs": args.sweep_dirs,
                  "budget_gmacs": args.budget_gmacs, "budget_ms": args.budget_ms})
    except Exception as e:  # the files above are the product; a logger problem is only a warning
        print(f"warning: wandb logging failed: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
