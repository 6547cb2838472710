"""`gradgroup-ablation SWEEP_DIR...`: does gradual grouping itself help? (docs/paper.md section 4)

Reads the ablation sweep's metrics.json files and prints, per arm (dense, direct, gradual) and group
count G, mean +- std mIoU over seeds, and per G the paired difference gradual - direct; see
`gradgroup.results.ablation`. A light command: it imports neither torch nor pandas nor matplotlib.

    gradgroup-ablation SWEEP_DIR [SWEEP_DIR ...] [--out FILE.md] [--header TEXT]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..results.ablation import summarise
from ..results.records import load_runs
from .report import reports_user_errors

PROG = "gradgroup-ablation"


@reports_user_errors(PROG)
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description="Does gradual grouping itself help? Summary of the "
                                "gradual vs direct grouping ablation, paired by seed.")
    p.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="dirs searched for metrics.json")
    p.add_argument("--out", help="also write the summary (Markdown) to this file")
    p.add_argument("--header", default="", help="text written above the tables in --out (command, machine)")
    args = p.parse_args(argv)
    text = summarise(load_runs(args.sweep_dirs))
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # ± and − on an ASCII terminal must not crash us
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text((args.header + "\n\n" if args.header else "") + text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
