"""`gradgroup-ablation SWEEP_DIR...`: does gradual grouping itself help? (shared/paper.md section 4)

The paper's Table 4 changes three things at once (gradual grouping, light decoder, ImageNet encoder).
Our ablation (sweeps/ablation_gradual.yaml) changes one: for each group count G, the same DG{G}*
network, decoder, epochs, data and seeds, trained directly grouped ("direct") or annealed from dense
("gradual"); dense D* is the ceiling. This reads the sweep's metrics.json files and prints, per arm,
mean +- std mIoU over seeds, and per G the paired difference gradual - direct (same seed paired), with
its mean, std and the number of seeds where gradual won.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def load(sweep_dirs: list[str]) -> list[dict]:
    runs = []
    for d in sweep_dirs:
        if not Path(d).is_dir():
            raise SystemExit(f"gradgroup-ablation: error: {d} is not a directory (give a multirun sweep dir)")
        for f in sorted(Path(d).rglob("metrics.json")):
            try:
                runs.append(json.loads(f.read_text()))
            except (OSError, ValueError):
                runs.append({"status": "failed", "error": f"unreadable {f}"})
    return runs


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def summarise(runs: list[dict]) -> str:
    ok = [r for r in runs if r.get("status") == "ok" and r.get("table") == "ablation"]
    failed = [r for r in runs if r.get("status") != "ok"]
    by_arm: dict[tuple, dict[int, float]] = defaultdict(dict)
    for r in ok:
        g = 1 if r.get("arm") == "dense" else int(r.get("groups") or 1)
        by_arm[(g, r["arm"])][r["seed"]] = r["miou"]
    lines = ["| arm | G | seeds | mIoU (mean ± std) |", "|---|---|---|---|"]
    for (g, arm), seeds in sorted(by_arm.items()):
        lines.append(f"| {arm} | {g} | {len(seeds)} | {_mean_std(list(seeds.values()))} |")
    lines += ["", "| G | paired seeds | gradual − direct (mean ± std) | gradual better in |", "|---|---|---|---|"]
    for g in sorted({g for g, arm in by_arm if arm == "gradual"}):
        grad, direct = by_arm.get((g, "gradual"), {}), by_arm.get((g, "direct"), {})
        seeds = sorted(set(grad) & set(direct))
        diffs = [grad[s] - direct[s] for s in seeds]
        wins = sum(d > 0 for d in diffs)
        lines.append(f"| {g} | {len(seeds)} | {_mean_std(diffs)} | {wins}/{len(seeds)} seeds |")
    if failed:
        lines += ["", f"{len(failed)} failed job(s): " + "; ".join(
            f"{r.get('experiment')} seed {r.get('seed')}: {str(r.get('error')).splitlines()[0]}" for r in failed)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="gradgroup-ablation", description=__doc__.splitlines()[0])
    p.add_argument("sweep_dirs", nargs="+")
    p.add_argument("--out", help="also write the summary (Markdown) to this file")
    p.add_argument("--header", default="", help="text written above the tables in --out (command, machine)")
    args = p.parse_args(argv)
    runs = load(args.sweep_dirs)
    if not runs:
        print(f"gradgroup-ablation: error: no metrics.json under {args.sweep_dirs}", file=sys.stderr)
        sys.exit(2)
    text = summarise(runs)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text((args.header + "\n\n" if args.header else "") + text + "\n")


if __name__ == "__main__":
    main()
