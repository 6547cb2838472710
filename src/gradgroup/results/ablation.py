"""Does gradual grouping itself help? The summary of the ablation sweep (docs/paper.md section 4).

The paper's Table 4 changes three things at once (gradual grouping, light decoder, ImageNet encoder).
Our ablation (sweeps/ablation_gradual.yaml, every job with ``table=ablation``) changes one: for each
group count G, the same DG{G}* network, decoder, epochs, data and seeds, trained directly grouped
("direct": ``experiment=table3/dg{G} grouping=none``) or annealed from dense by gradual grouping
("gradual": ``grouping=gradual``); dense D* (``experiment=table3/d``) is the ceiling. Per arm this gives
mean +- std mIoU over seeds, and per G the paired difference gradual - direct (same seed paired), with
its mean, std and the number of seeds where gradual won. The command is `gradgroup-ablation`.
"""
from __future__ import annotations

import statistics
from collections import defaultdict

from .format import first_line, num
from .records import is_ok

ARMS = ("dense", "direct", "gradual")


def ablation_arm(run: dict) -> str | None:
    """The run's arm, from what was trained: dense block "d" (G = 1), else gradual or direct grouping.

    Records without ``block``/``gradual`` (written before the ablation became a grouping sweep, with
    experiment "ablation/...") name their arm in ``arm``.
    """
    if run.get("block") == "d":
        return "dense"
    if run.get("gradual") is True:
        return "gradual"
    if run.get("block") is not None:
        return "direct"
    return run.get("arm") if run.get("arm") in ARMS else None


def ablation_groups(run: dict, arm: str) -> int:
    """G of the grouped convolutions; 1 for the dense ceiling."""
    g = num(run.get("groups"))
    return 1 if arm == "dense" or g is None else int(g)


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def summarise(runs: list[dict]) -> str:
    """Markdown: mIoU per (arm, G) over seeds, then per G the paired gradual - direct difference.

    Only successful runs of ``table == "ablation"`` count; every failed run in ``runs`` is listed below.
    A seed repeated within one arm counts once (the last one read).
    """
    by_arm: dict[tuple, dict] = defaultdict(dict)
    for r in runs:
        arm = ablation_arm(r)
        if is_ok(r) and r.get("table") == "ablation" and arm is not None:
            by_arm[(ablation_groups(r, arm), arm)][r.get("seed")] = num(r["miou"])
    failed = [r for r in runs if not is_ok(r)]
    lines = ["| arm | G | seeds | mIoU (mean ± std) |", "|---|---|---|---|"]
    for (g, arm), seeds in sorted(by_arm.items()):
        lines.append(f"| {arm} | {g} | {len(seeds)} | {_mean_std(list(seeds.values()))} |")
    lines += ["", "| G | paired seeds | gradual − direct (mean ± std) | gradual better in |", "|---|---|---|---|"]
    for g in sorted({g for g, arm in by_arm if arm == "gradual"}):
        grad, direct = by_arm.get((g, "gradual"), {}), by_arm.get((g, "direct"), {})
        seeds = [s for s in grad if s in direct]
        diffs = [grad[s] - direct[s] for s in seeds]
        wins = sum(d > 0 for d in diffs)
        lines.append(f"| {g} | {len(seeds)} | {_mean_std(diffs)} | {wins}/{len(seeds)} seeds |")
    if failed:
        lines += ["", f"{len(failed)} failed job(s): " + "; ".join(
            f"{r.get('experiment')} seed {r.get('seed')}: "
            f"{first_line(r.get('error') or ('status ok but no mIoU recorded' if r.get('status') == 'ok' else None))}"
            for r in failed)]
    return "\n".join(lines)
