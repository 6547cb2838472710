"""`gradgroup-ablation SWEEP_DIR...`: does gradual grouping itself help? (docs/paper.md section 4)

Reads the metrics.json files of any sweep whose runs are these arms on shared seeds (an ablation, the
study, or a user's `gradgroup-train -m experiment=table3/dg4 grouping=none,gradual seed=0,1,2,3,4,5`) and prints, per arm (dense, direct, abrupt,
gradual, cosine), group count G and epoch budget, n, mean +- std mIoU and a 95% interval, then every
paired comparison (gradual vs direct, abrupt vs direct, gradual vs abrupt, cosine vs direct) with its
mean difference, bootstrap interval, exact sign-flip p, Holm-adjusted p, probability of improvement and
minimum detectable effect; see `gradgroup.results.ablation` and `gradgroup.results.stats`. With --json,
a JSON array on stdout instead, one object per comparison (keys: role (primary | secondary |
exploratory, docs/gradual_study_plan.md), arm, baseline, groups, epochs, n,
mean_diff, ci_low, ci_high, p_value, p_holm, verdict, prob_improvement, then sd_diff, mde, seeds). When
nothing can be compared it says why in one line and exits 1. A light command: it imports neither torch
nor matplotlib.

    gradgroup-ablation SWEEP_DIR [SWEEP_DIR ...] [--json] [--out FILE.md] [--header TEXT]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..results.ablation import comparison_records, nothing_compared, summarise
from ..results.records import load_runs
from .report import reports_user_errors

PROG = "gradgroup-ablation"


@reports_user_errors(PROG)
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description="Does gradual grouping itself help? Summary of the "
                                "gradual vs direct grouping ablation or study, paired by seed.")
    p.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="dirs searched for metrics.json")
    p.add_argument("--json", action="store_true", help="print one JSON object per comparison (a JSON array) "
                   "instead of the Markdown tables")
    p.add_argument("--out", help="also write the summary (Markdown) to this file")
    p.add_argument("--header", default="", help="text written above the tables in --out (command, machine)")
    args = p.parse_args(argv)
    runs = load_runs(args.sweep_dirs)
    why = nothing_compared(runs)
    if why:
        print(f"{PROG}: nothing compared in {' '.join(args.sweep_dirs)}: {why}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(comparison_records(runs), indent=1))
    text = summarise(runs)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # ± and − on an ASCII terminal must not crash us
    if not args.json:
        print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text((args.header + "\n\n" if args.header else "") + text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
