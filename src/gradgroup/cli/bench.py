"""`gradgroup-bench`: measured batch-1 inference latency of experiments, side by side, as a ratio to ERFNet.

    gradgroup-bench EXPERIMENT... [--hw H W]... [--rounds N] [--warmup N] [--threads N] [--json]
    gradgroup-bench --sweep DIR [EXPERIMENT...] [--out FILE]

The paper's "5X runtime" (Vallurupalli et al., CVPR-W 2018; docs/paper.md section 5) is a FLOPs ratio;
this times the deployable networks (gradual convs already real grouped convs), freshly built from each
experiment's config: latency does not depend on trained weights, so no checkpoint is needed. Table 3's
ERFNet is always timed too, as the reference. `--sweep DIR` benchmarks the experiments of DIR's finished
jobs (their metrics.json files) and writes DIR/latency.json, which `gradgroup-table DIR` reads.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from hydra.utils import instantiate

from ..config.compose import compose_config
from ..results.records import load_runs
from .report import fail, reports_user_errors

PROG = "gradgroup-bench"
DEFAULT_HW = [(512, 1024), (128, 256)]  # the paper's input, and the quick training size


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="experiment names, e.g. table3/dg4 (or experiment=table3/dg4)")
    p.add_argument("--sweep", metavar="DIR", help="benchmark the experiments of this sweep's metrics.json files "
                   "and write DIR/latency.json (unless --out says otherwise)")
    p.add_argument("--out", metavar="FILE", help="also write the result as JSON to FILE")
    p.add_argument("--hw", type=int, nargs=2, action="append", metavar=("H", "W"),
                   help="input size; repeatable (default: 512 1024 and the quick training size 128 256)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's default)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    if not args.experiments and not args.sweep:
        p.error("name at least one EXPERIMENT, or a sweep dir with --sweep DIR")
    return args


def sweep_experiments(sweep_dir: str) -> list[str]:
    """The experiments of a sweep's finished jobs, in the order of their metrics.json files."""
    runs = load_runs([sweep_dir])
    names = list(dict.fromkeys(r["experiment"] for r in runs if r.get("status") == "ok" and r.get("experiment")))
    skipped = sorted({str(r.get("experiment")) for r in runs if r.get("status") != "ok"} - set(names))
    if skipped:
        print(f"note: not benchmarking {skipped}: no finished job in {sweep_dir}", file=sys.stderr)
    if not names:
        fail(f"no finished job (status ok) in {sweep_dir}: nothing to benchmark", PROG)
    return names


def build_deployable(experiment: str):
    """The deployable network of an experiment, in eval mode, built from its composed config."""
    cfg = compose_config([f"experiment={experiment}"])
    return instantiate(cfg.model, _convert_="all").deployable().build().eval()


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    from ..measure.latency import REFERENCE, markdown, measure_latency  # torch only past --help

    names = [e.split("=", 1)[1] if e.startswith("experiment=") else e for e in args.experiments]
    if args.sweep:
        names += sweep_experiments(args.sweep)
    names = list(dict.fromkeys([REFERENCE, *names]))
    models = {name: build_deployable(name) for name in names}
    res = measure_latency(models, args.hw or DEFAULT_HW, args.rounds, args.warmup, args.threads, reference=REFERENCE)
    out = args.out or (str(Path(args.sweep) / "latency.json") if args.sweep else None)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    print(json.dumps(res) if args.json else markdown(res))


if __name__ == "__main__":
    main()
