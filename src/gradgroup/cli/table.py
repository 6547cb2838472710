"""`gradgroup-table SWEEP_DIR...`: results.csv, results.md and pareto.png of one or more sweeps.

The paper's Tables 3-5 (docs/paper.md section 3) and Figure 4 ("Efficient Semantic Segmentation using
Gradual Grouping", CVPR-W 2018) from the sweeps' metrics.json files, with mean +- std over seeds, the
measured latency that `gradgroup-bench --sweep DIR` left in DIR/latency.json, and the best model within
a budget.

    gradgroup-table SWEEP_DIR [SWEEP_DIR ...] [--budget-gmacs X] [--budget-ms Y] [--out DIR]
                    [--no-latency] [--latency-backend B] [--wandb {offline,online,disabled}]
                    [--wandb-project P] [--wandb-entity E] [--allow-failed]

Every job a sweep planned is listed: those that never started (a killed or fail-fast sweep) come from
the sweep's multirun.yaml (cli/sweep_progress.py) as "not started" rows.

Exit status: 0 when every job is ok; 1 when some failed or were killed (the table is still written and
lists them; --allow-failed exits 0 then); 2 for a user error (no such dir, no metrics.json).

A light command: it never imports torch; matplotlib and wandb load only to draw and to log.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from ..common.wandb_names import summary_target
from ..results.records import is_ok, load_latency, load_runs
from ..results.table import job_latency, make_table, write_csv
from .report import reports_user_errors
from ..results.sweep_jobs import never_started
from ..common.records import Status
from .wandb_flags import add_wandb_flags, wandb_mode

PROG = "gradgroup-table"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description="Results tables and the accuracy/compute Pareto plot "
                                 "for sweeps of gradual-grouping experiments.")
    ap.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="dirs searched for metrics.json")
    ap.add_argument("--budget-gmacs", type=float, help="best mIoU with GMACs <= this")
    ap.add_argument("--budget-ms", type=float, help="best mIoU with latency (ms) <= this")
    ap.add_argument("--out", help="output dir (default: the first SWEEP_DIR)")
    ap.add_argument("--no-latency", action="store_true",
                    help="ignore SWEEP_DIR/latency.json: a table without latency")
    ap.add_argument("--latency-backend", metavar="B", help="which backend's latency the table and --budget-ms use "
                    "(eager, optimized, compile, onnxruntime, onnxruntime-int8; default: the fastest fp32 "
                    "backend latency.json measured); named in the table's caption")
    add_wandb_flags(ap, "OUT")
    ap.add_argument("--allow-failed", action="store_true",
                    help="exit 0 even when some jobs failed or were killed (they are listed either way)")
    return ap


@reports_user_errors(PROG)
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    mode = wandb_mode(args)
    runs = load_runs(args.sweep_dirs)
    runs += [job for d in args.sweep_dirs for job in never_started(Path(d), runs)]
    out = Path(args.out or args.sweep_dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    measured = None
    if not args.no_latency:
        measured, notes = load_latency(args.sweep_dirs, args.latency_backend)
        for note in notes:
            print(note)
    rows, md, line = make_table(runs, measured, args.budget_gmacs, args.budget_ms)
    write_csv(rows, out / "results.csv")
    (out / "results.md").write_text("# Results\n\n" + (line + "\n\n" if line else "") + md, encoding="utf-8")
    from ..results.pareto import plot_pareto  # matplotlib only once there is something to draw (fast --help)

    plot_pareto(rows, out / "pareto.png", args.budget_gmacs, args.budget_ms)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # ★ and ± on an ASCII terminal must not crash us
    print(md)
    n_failed = sum(1 for r in runs if not is_ok(r))
    status = 1 if n_failed and not args.allow_failed else 0  # a script or CI sees the failures
    counts = Counter(Status.OK if is_ok(r) else Status(r.get("status") or Status.FAILED) for r in runs)
    said = ", ".join(f"{counts.pop(s)} {s}" for s in (Status.OK, Status.NOT_STARTED) if s in counts)
    said = ", ".join([said] * bool(said) + [f"{n} {s}" for s, n in counts.most_common()])
    print(f"{len(runs)} jobs ({said}) -> {out / 'results.csv'}, "
          "results.md, pareto.png")
    if line:
        print(line)
    if mode == "disabled":
        return status
    from ..results.wandb_summary import log_wandb  # wandb takes seconds to import: only when logging
    from .quiet import install as quiet_console  # light: no per-run wandb banner; the sweep printed the sync hint

    quiet_console()

    target = summary_target(runs, args.sweep_dirs[0], mode, args.wandb_project, args.wandb_entity)
    try:
        run_id = log_wandb(target, out, rows, out / "pareto.png", {"sweep_dirs": args.sweep_dirs,
                           "budget_gmacs": args.budget_gmacs, "budget_ms": args.budget_ms})
        print(f"wandb: summary run {run_id} in {target['project']}, group {target['group']} ({mode})")
        _latency_to_job_runs(runs, measured, mode)
    except Exception as e:  # the files above are the product; a logger problem is only a warning
        print(f"warning: wandb logging failed: {e}", file=sys.stderr)
    return status


def _latency_to_job_runs(runs: list[dict], measured: dict | None, mode: str) -> None:
    """Each job's wandb run summary gets the latency and speedup its table row shows (docs/wandb.md)."""
    jobs = job_latency(runs, measured)
    if not jobs:
        return
    from ..results.wandb_jobs import update_job_summaries

    meta = measured.get("_meta") or {}
    n = update_job_summaries(jobs, mode, {"latency_backend": meta.get("backend")})
    print(f"wandb: latency_ms and speedup_vs_erfnet ({meta.get('backend')}) added to the summaries of {n} job runs"
          + (" (offline: one more offline-run dir per job, which wandb sync uploads after the job's)"
             if mode == "offline" and n else "") + (f"; {len(jobs) - n} jobs ran without wandb" if len(jobs) > n else ""))


if __name__ == "__main__":
    sys.exit(main())
