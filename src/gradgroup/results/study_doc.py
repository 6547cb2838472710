"""docs/gradual_study.md, written from the study's runs: design, machine, times, tables, plots, verdicts.

`make study` runs four sweeps into one study dir (sweeps/study_{grouped,cosine,dense,long}.yaml, one
sub-dir each); this page is built from their metrics.json files alone (what ran, on how many seeds, how
long each part took) plus the machine description the command line hands in. One verdict sentence per
comparison, stated with its interval; a comparison whose Holm-adjusted p is not below 0.05 is reported
as "ahead at p < 0.05 alone" when its own p is, else as "no detectable effect" together with the effect
this many seeds would have detected.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .ablation import METHODS, arm_rows, arm_table, cells, comparison_table, failed_line, p_is, p_text
from .format import ci_cell, num
from .stats import ALPHA as SIGNIFICANCE, min_seeds_for, smallest_p


def part_times(runs: list[dict], study_dir) -> list[dict]:
    """Per part (the first folder under the study dir): jobs, failed, summed and mean job wall time, and
    the span from the first job's start to the last one's end (wall time of the part; across a resume it
    includes the pause)."""
    parts: dict[str, list] = defaultdict(list)
    for r in runs:
        rel = Path(r["_path"]).relative_to(study_dir).parts
        parts[rel[0] if len(rel) > 2 else "."].append(r)
    out = []
    for name, rs in parts.items():
        walls = [num(r.get("wall_s")) for r in rs if num(r.get("wall_s")) is not None]
        starts = [num(r.get("started")) for r in rs if num(r.get("started")) is not None]
        ends = [num(r.get("started")) + num(r.get("wall_s")) for r in rs
                if num(r.get("started")) is not None and num(r.get("wall_s")) is not None]
        out.append({"part": name, "jobs": len(rs), "failed": sum(r.get("status") != "ok" for r in rs),
                    "job_s": sum(walls), "mean_job_s": sum(walls) / len(walls) if walls else None,
                    "span_s": max(ends) - min(starts) if ends and starts else None,
                    "start": min(starts) if starts else None, "end": max(ends) if ends else None})
    return sorted(out, key=lambda p: p["start"] or 0)


def _epochs(n) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _minutes(seconds) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def verdict(c: dict) -> str:
    """One sentence: the difference with its interval, p, Holm's p and n; the detectable size when none."""
    where = f"{c['arm']} − {c['baseline']} at G = {c['groups']}, {_epochs(c['epochs'])}"
    ci = ci_cell(c["ci_low"], c["ci_high"], signed=True, digits=1, missing="(no interval at n = 1)")
    stat = f"{c['mean_diff']:+.1f} mIoU {ci}, {p_is(c['p_value'])} (Holm {p_text(c['p_holm'])}), n = {c['n']}"
    if c["p_holm"] is not None and c["p_holm"] < SIGNIFICANCE:
        better = c["arm"] if c["mean_diff"] > 0 else c["baseline"]
        return f"{where}: {stat}; {better} is better."
    if c["mde"] is None:
        return (f"{where}: {stat}; no detectable effect, and none could be detected: below {min_seeds_for()} "
                f"paired seeds no sign-flip p reaches {SIGNIFICANCE}.")
    if c["p_value"] is not None and c["p_value"] < SIGNIFICANCE:
        ahead = c["arm"] if c["mean_diff"] > 0 else c["baseline"]
        return (f"{where}: {stat}; {ahead} ahead at p < {SIGNIFICANCE} alone, not after Holm's adjustment across "
                f"the study's comparisons (the smallest sign-flip p {c['n']} seeds allow is "
                f"{smallest_p(c['n']):.2g}).")
    return (f"{where}: {stat}; no detectable effect: with this n and spread a true difference of "
            f"±{c['mde']:.1f} mIoU would be found 4 times in 5.")


def design_lines(by_cell: dict) -> list[str]:
    """What ran: per epoch budget, the arms per G and their seed counts, read from the runs."""
    lines = []
    for epochs in sorted({e for _, e, _ in by_cell}, key=lambda e: e or 0):
        per_g = defaultdict(list)
        for (g, e, arm), seeds in by_cell.items():
            if e == epochs:
                per_g[g].append(f"{arm} ({len(seeds)} seeds)")
        lines.append(f"- {_epochs(epochs)}: " + "; ".join(f"G = {g}: {', '.join(sorted(v))}"
                                                        for g, v in sorted(per_g.items())))
    return lines


def study_markdown(runs: list[dict], comps: list[dict], study_dir, *, command: str, machine: dict, date: str,
                   forest_png: str, curves_png: str) -> str:
    """The page. `machine`: cpu, simd, cpu_count, torch; the PNG names are relative to the page."""
    by_cell = cells(runs)
    times = part_times(runs, study_dir)
    starts = [t["start"] for t in times if t["start"] is not None]
    ends = [t["end"] for t in times if t["end"] is not None]
    total = max(ends) - min(starts) if starts and ends else None
    lines = [
        "# Does gradual grouping help? The paired-seed study", "",
        f"Generated by `{command}` on {date} from the runs in `{study_dir}` "
        "(`gradgroup.results.study_doc`; rerun the command, or `python -m gradgroup.cli.study <study dir>`, "
        "to regenerate).", "",
        "## Design", "",
        "The same DG{G}* network (starred ERFNet encoder with grouped 1x1 convs, ERFNet decoder), data, epochs and "
        "seeds in every arm; each arm changes one thing:", "",
        "- `direct`: grouped from the start (`grouping=none`);",
        "- `abrupt`: dense (alpha = 1) until the point where the gradual schedule reaches 0, then alpha = 0 in one "
        "step and the same fine-tuning (`grouping=abrupt`): starting dense without annealing;",
        "- `gradual`: alpha annealed linearly from 1 to 0 over the first half of training (`grouping=gradual`), "
        "`cosine` the same with a cosine shape (`grouping=cosine`);",
        "- `dense`: D*, the ceiling (`experiment=table3/d`).", "",
        "Runs are paired by seed: within a seed every arm sees the same data order and augmentation draws "
        "(data/sampling.py) and draws its weights from the same seed (not the same weights: a grouped conv has "
        "fewer). What ran:", "",
        *design_lines(by_cell), "",
        "## Machine and time", "",
        f"{machine.get('cpu', '?')} ({machine.get('simd', '?')}), {machine.get('cpu_count', '?')} cores, "
        f"torch {machine.get('torch', '?')}; wall time {_minutes(total)} in all (first job's start to last job's "
        "end, per part below; a resumed study counts its pause).", "",
        "| part | jobs | failed | wall time | mean per job | summed job time |", "|---|---|---|---|---|---|",
        *(f"| {t['part']} | {t['jobs']} | {t['failed']} | {_minutes(t['span_s'])} | {_minutes(t['mean_job_s'])} | "
          f"{_minutes(t['job_s'])} |" for t in times), "",
        "## Verdicts", "",
        *(f"- {verdict(c)}" for c in comps), "",
        "## Test mIoU per arm", "", *arm_table(arm_rows(by_cell)), "",
        "## Paired comparisons", "", *comparison_table(comps), "", METHODS, *failed_line(runs), "",
        f"![paired differences with 95% intervals]({forest_png})", "",
        "## Validation mIoU and alpha over training", "",
        f"![val mIoU per arm over epochs, alpha dashed]({curves_png})", ""]
    return "\n".join(lines)
