"""docs/gradual_study.md, written from the study's runs: the plan's verdicts, then what ran, tables, plots.

`make study` runs the parts of the pre-registered plan (docs/gradual_study_plan.md; its rules are
`gradgroup.results.study_plan`) into one study dir, one sub-dir per part; this page is built from their
metrics.json files alone (what ran, on how many seeds, which test split, how long each part took) plus
what the command line hands in (command, machine, the plan's commit, deviations). The page opens with the
plan, then the primary verdict, the secondary family (Holm over it alone), then the exploratory part;
every verdict's word follows its numbers (`study_plan.verdict_word`).
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .ablation import METHODS, arm_rows, arm_table, cells, comparison_table, failed_line, p_is, p_text
from .format import ci_cell, num
from .records import is_ok
from .stats import t_interval
from .study_plan import (EXPLORATORY_ROLE, PLANNED_SEEDS, PRIMARY, PRIMARY_ROLE, SECONDARY, SECONDARY_ROLE,
                         SESOI, ALPHA)


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
        out.append({"part": name, "jobs": len(rs), "failed": sum(not is_ok(r) for r in rs),
                    "job_s": sum(walls), "mean_job_s": sum(walls) / len(walls) if walls else None,
                    "span_s": max(ends) - min(starts) if ends and starts else None,
                    "start": min(starts) if starts else None, "end": max(ends) if ends else None})
    return sorted(out, key=lambda p: p["start"] or 0)


def _epochs(n) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _minutes(seconds) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def verdict(c: dict) -> str:
    """One sentence: the difference, its interval (and the t interval beside it), p (Holm's for the
    secondary family), n, seeds won, and the verdict in bold."""
    where = f"{c['arm']} − {c['baseline']} at G = {c['groups']}, {_epochs(c['epochs'])}"
    ci = ci_cell(c["ci_low"], c["ci_high"], signed=True, digits=2, missing="(no interval below 6 seeds)")
    t_low, t_high = t_interval(c["mean_diff"], c.get("sd_diff"), c["n"])
    t_ci = ci_cell(t_low, t_high, signed=True, digits=2, missing="")
    holm = f", Holm-adjusted p = {p_text(c['p_holm'])}" if c.get("p_holm") is not None else ""
    stat = (f"{c['mean_diff']:+.2f} mIoU, 95% interval {ci}" + (f" (t: {t_ci})" if t_ci else "") +
            f", exact sign-flip {p_is(c['p_value'])}{holm}, n = {c['n']} paired seeds, "
            f"{c['arm']} ahead in {c['wins']}/{c['n']}")
    return f"{where}: {stat}: **{c['verdict']}**."


def _planned(question, comps: list[dict], role: str) -> str:
    """A planned comparison's verdict; one with fewer pairs than the plan's says it is not the verdict yet
    (the plan reads each once all its pairs exist, and never stops early on what it sees)."""
    found = [c for c in comps if c.get("role") == role and (c["arm"], c["baseline"], c["groups"]) == tuple(question)]
    if not found:
        return f"{question.text()}: not run yet (its part of `make study` has not finished)."
    n = found[0]["n"]
    return verdict(found[0]) + (f" Only {n} of the plan's {PLANNED_SEEDS} pairs have finished: this is not the "
                                "plan's verdict yet." if n < PLANNED_SEEDS else "")


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
                   forest_png: str, curves_png: str, plan_commit: str | None = None,
                   deviations: tuple[str, ...] = ()) -> str:
    """The page. `machine`: cpu, simd, cpu_count, torch; the PNG names are relative to the page."""
    by_cell = cells(runs)
    times = part_times(runs, study_dir)
    starts = [t["start"] for t in times if t["start"] is not None]
    ends = [t["end"] for t in times if t["end"] is not None]
    total = max(ends) - min(starts) if starts and ends else None
    explore = [c for c in comps if c.get("role") == EXPLORATORY_ROLE]
    splits = sorted({(r.get("test_split") or "val", r.get("test_images")) for r in runs if is_ok(r)},
                    key=lambda s: (str(s[0]), s[1] or 0))
    plan_ref = f", committed in {plan_commit} before the runs" if plan_commit else ""
    lines = [
        "# Does gradual grouping help? The pre-registered study", "",
        f"Generated by `{command}` on {date} from the runs in `{study_dir}` "
        "(`gradgroup.results.study_doc`; `python -m gradgroup.cli.study <study dir>` regenerates it).", "",
        "## The plan", "",
        f"The analysis was fixed before the runs: [gradual_study_plan.md](gradual_study_plan.md){plan_ref}. "
        f"Primary: {PRIMARY.text()} at the full budget, {PLANNED_SEEDS} paired seeds, exact two-sided sign-flip "
        f"test at {ALPHA} with no adjustment and the interval that inverts it. Secondary, Holm over these "
        f"alone: " + "; ".join(q.text() for q in SECONDARY) + ". Everything else is exploratory and unadjusted. "
        f"`direct_matched` is direct grouping with the grouped convs drawn at the gradual conv's in-group "
        f"scale (the init confound's fix; the plan argues the choice). A verdict is better/worse at p < {ALPHA}, "
        f"else 'no effect larger than X' when the interval lies within ±{SESOI} mIoU, else inconclusive.", "",
        "## Primary", "",
        f"- {_planned(PRIMARY, comps, PRIMARY_ROLE)}", "",
        "## Secondary (Holm over these three alone)", "",
        *(f"- {_planned(q, comps, SECONDARY_ROLE)}" for q in SECONDARY), "",
        "## Exploratory (unadjusted; a hint, not a finding)", "",
        *([f"- {verdict(c)}" for c in explore] or ["- none run yet."]), "",
        "## The measurement", "",
        "Test mIoU of the last epoch's weights (gradual models converted to real grouped convs), scored on "
        + "; ".join(f"the `{name}` split of {n if n is not None else 'an unrecorded number of'} images"
                    for name, n in splits) + " (the same images for every arm and seed).", "",
        "## What ran", "",
        *design_lines(by_cell), "",
        "## Machine and time", "",
        f"{machine.get('cpu', '?')} ({machine.get('simd', '?')}), {machine.get('cpu_count', '?')} cores, "
        f"torch {machine.get('torch', '?')}; wall time {_minutes(total)} in all (first job's start to last job's "
        "end, per part below; a resumed study counts its pause).", "",
        "| part | jobs | failed | wall time | mean per job | summed job time |", "|---|---|---|---|---|---|",
        *(f"| {t['part']} | {t['jobs']} | {t['failed']} | {_minutes(t['span_s'])} | {_minutes(t['mean_job_s'])} | "
          f"{_minutes(t['job_s'])} |" for t in times), "",
        "## Deviations from the plan", "",
        *([f"- {d}" for d in deviations] or ["- none."]), "",
        "## Test mIoU per arm", "", *arm_table(arm_rows(by_cell)), "",
        "## Paired comparisons", "", *comparison_table(comps), "", METHODS, *failed_line(runs), "",
        f"![paired differences with 95% intervals]({forest_png})", "",
        "## Validation mIoU and alpha over training", "",
        f"![val mIoU per arm over epochs, alpha dashed]({curves_png})", ""]
    return "\n".join(lines)
