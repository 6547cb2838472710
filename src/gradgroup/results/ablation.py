"""Does gradual grouping itself help? The ablation and the study, paired by seed (docs/paper.md section 4).

The paper's Table 4 changes three things at once (gradual grouping, light decoder, ImageNet encoder).
The ablation (sweeps/ablation_gradual.yaml) and the study (sweeps/study_*.yaml, `make study`) change one:
for each group count G and epoch budget, the same DG{G}* network, decoder, data and seeds, trained

- ``direct``: grouped from the start (``experiment=table3/dg{G} grouping=none``); ``direct_matched`` the
  same with the grouped convs drawn at a gradual conv's in-group scale (``grouping=direct_matched``,
  models/pointwise_init.py), the study's baseline;
- ``abrupt``: dense until the point where the gradual schedule reaches 0, then grouped in one step
  (``grouping=abrupt``), which tells "starting dense" from "annealing slowly";
- ``gradual``: alpha annealed linearly from 1 to 0 (``grouping=gradual``), ``cosine`` likewise with a
  cosine shape (``grouping=cosine``); any other arm a gradual run names in its record is kept too;

with dense D* (``experiment=table3/d``) as the ceiling. Any sweep works whose runs are these arms on
shared seeds (ERFNet's Non-bt-1D rows are not an arm). Per arm: n, mean +- std mIoU and a 95% t
interval; per comparison (`COMPARISONS`, per G and budget, runs paired by seed): the statistics of
`gradgroup.results.stats`, each with its role in the pre-registered plan (`gradgroup.results.study_plan`:
primary, secondary with Holm over that family alone, or exploratory and unadjusted). The command is
`gradgroup-ablation`.
"""
from __future__ import annotations

from collections import defaultdict

from .format import ci_cell, first_line, num
from ..common.records import Status
from .records import is_ok
from .stats import CI_METHOD, compare, describe
from .study_plan import SESOI, assign_roles, verdict_word

# (arm, baseline) pairs, each reported per G and epoch budget where both arms ran.
COMPARISONS = (("gradual", "direct_matched"), ("gradual", "abrupt"), ("abrupt", "direct_matched"),
               ("direct", "direct_matched"), ("cosine", "direct_matched"), ("fixed_anneal", "direct_matched"),
               ("gradual", "fixed_anneal"), ("gradual", "direct"), ("abrupt", "direct"), ("cosine", "direct"))
ARM_ORDER = ("dense", "direct", "direct_matched", "abrupt", "gradual", "fixed_anneal", "cosine")
JSON_KEYS = ("role", "arm", "baseline", "groups", "epochs", "n", "mean_diff", "ci_low", "ci_high", "p_value",
             "p_holm", "verdict", "prob_improvement")


def ablation_arm(run: dict) -> str | None:
    """The run's arm, from what was trained: dense block "d" (G = 1); a gradual model is the arm its
    grouping choice names (gradual, abrupt, cosine; "gradual" when unnamed); other grouped ones the arm
    they name (direct_matched) or direct. ERFNet's own blocks (nonbt1d) are no arm."""
    block = run.get("block")
    if block == "d":
        return "dense"
    if run.get("gradual") is True:
        return str(run.get("arm") or "gradual")
    if block is not None and block != "nonbt1d":
        return str(run.get("arm") or "direct")
    return None


def ablation_groups(run: dict, arm: str) -> int:
    """G of the grouped convolutions; 1 for the dense ceiling."""
    g = num(run.get("groups"))
    return 1 if arm == "dense" or g is None else int(g)


def cells(runs: list[dict]) -> dict[tuple, dict]:
    """{(G, epochs, arm): {seed: mIoU}} over the ok runs that are an arm; a seed repeated within one
    cell counts once (the last one read)."""
    out: dict[tuple, dict] = defaultdict(dict)
    for r in runs:
        arm = ablation_arm(r)
        if is_ok(r) and arm is not None:
            epochs = num(r.get("epochs"))
            out[(ablation_groups(r, arm), None if epochs is None else int(epochs), arm)][r.get("seed")] = num(r["miou"])
    return dict(out)


def _arm_rank(arm: str) -> tuple:
    return (ARM_ORDER.index(arm) if arm in ARM_ORDER else len(ARM_ORDER), arm)


def arm_rows(by_cell: dict[tuple, dict]) -> list[dict]:
    """Per (arm, G, epochs): n, mean, sample std and the 95% t interval of the mean over seeds."""
    rows = []
    for (g, epochs, arm), seeds in sorted(by_cell.items(), key=lambda kv: (kv[0][1] or 0, kv[0][0], _arm_rank(kv[0][2]))):
        rows.append({"arm": arm, "groups": g, "epochs": epochs, **describe(list(seeds.values()))})
    return rows


def comparisons(by_cell: dict[tuple, dict]) -> list[dict]:
    """Every comparison of `COMPARISONS` present, per G and budget (budgets, then G, ascending), each
    with its plan role, p_holm (secondary family only) and verdict (`study_plan`)."""
    out = []
    for g, epochs in sorted({(g, e) for g, e, _ in by_cell}, key=lambda k: (k[1] or 0, k[0])):
        for arm, base in COMPARISONS:
            a, b = by_cell.get((g, epochs, arm)), by_cell.get((g, epochs, base))
            if a and b:
                out.append({"arm": arm, "baseline": base, "groups": g, "epochs": epochs, **compare(a, b)})
    assign_roles(out)
    for c in out:
        c["verdict"] = verdict_word(c)
    return out


def _f(v, spec=".2f", signed=False) -> str:
    if v is None:
        return "-"
    return format(v, ("+" if signed else "") + spec)


def p_text(p) -> str:
    """A p-value as printed: three significant digits, "< 0.001" below that."""
    return "-" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3g}")


def p_is(p) -> str:
    """`p = 0.04`, or `p < 0.001` where p_text gives a bound: p in a sentence or a plot label."""
    text = p_text(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def arm_table(rows: list[dict]) -> list[str]:
    lines = ["| arm | G | epochs | n | mIoU (mean ± std) | 95% CI (t) |", "|---|---|---|---|---|---|"]
    for r in rows:
        spread = f" ± {r['std']:.2f}" if r["std"] is not None else ""
        lines.append(f"| {r['arm']} | {r['groups']} | {_f(r['epochs'], 'd')} | {r['n']} | {r['mean']:.2f}{spread} | "
                     f"{ci_cell(r['ci_low'], r['ci_high'], missing='-')} |")
    return lines


def comparison_table(comps: list[dict]) -> list[str]:
    lines = [f"| role | comparison | G | epochs | n | mean diff (mIoU) | 95% CI ({CI_METHOD}) | p (sign-flip) | "
             "p (Holm, secondary) | verdict | arm better in | MDE (80% power) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in comps:
        wins = "-" if c["n"] == 0 else f"{c['wins']}/{c['n']} seeds" + (f" ({c['ties']} tied)" if c["ties"] else "")
        lines.append(f"| {c['role']} | {c['arm']} − {c['baseline']} | {c['groups']} | {_f(c['epochs'], 'd')} | {c['n']} | "
                     f"{_f(c['mean_diff'], signed=True)} | {ci_cell(c['ci_low'], c['ci_high'], True, '-')} | "
                     f"{p_text(c['p_value'])} | {p_text(c['p_holm'])} | {c['verdict']} | {wins} | {_f(c['mde'])} |")
    return lines


METHODS = ("Per arm: mean ± sample std over n seeds, 95% Student-t interval of the mean. Per comparison: runs "
           "paired by seed; mean of the paired differences with the 95% interval that inverts the sign-flip test "
           "(every shift it does not reject, so p < 0.05 exactly when the interval excludes 0; none below 6 seeds); "
           "exact two-sided sign-flip permutation p (all 2^n sign patterns up to n = 16); role from the "
           "pre-registered plan (docs/gradual_study_plan.md): the primary is tested alone at 0.05, Holm's "
           "adjustment runs over the three secondary comparisons only, everything else is exploratory and "
           "unadjusted; verdict: better/worse when the deciding p is below 0.05, else 'no effect larger than X' "
           f"when the interval lies within ±{SESOI} mIoU, else inconclusive; arm better in: seeds where the arm won "
           "(a tie counts one half); MDE: the smallest true difference a paired t-test finds with 80% power at "
           "two-sided 0.05, from the observed spread of the differences ('-' below 6 seeds).")


def failed_line(runs: list[dict]) -> list[str]:
    failed = [r for r in runs if not is_ok(r)]
    if not failed:
        return []
    return ["", f"{len(failed)} failed job(s): " + "; ".join(
        f"{r.get('experiment')} seed {r.get('seed')}: "
        f"{first_line(r.get('error') or ('status ok but no mIoU recorded' if r.get('status') == Status.OK else None))}"
        for r in failed)]


def summarise(runs: list[dict]) -> str:
    """Markdown: the arm table, the comparison table, how they are computed, and the failed runs."""
    by_cell = cells(runs)
    return "\n".join(arm_table(arm_rows(by_cell)) + [""] + comparison_table(comparisons(by_cell)) +
                     ["", METHODS] + failed_line(runs))


def as_records(comps: list[dict]) -> list[dict]:
    """One plain dict per comparison: `JSON_KEYS` first (``role``: primary | secondary | exploratory), then
    sd_diff, mde and the paired seeds."""
    return [{k: c[k] for k in JSON_KEYS} | {k: c[k] for k in ("sd_diff", "mde", "seeds")} for c in comps]


def nothing_compared(runs: list[dict]) -> str | None:
    """None when `runs` give at least one comparison, else one line saying why not."""
    ok = [r for r in runs if is_ok(r)]
    if not runs:
        return "no metrics.json found"
    if not ok:
        return f"none of the {len(runs)} runs finished ok"
    by_cell = cells(ok)
    if not by_cell:
        return (f"none of the {len(ok)} ok runs is an arm (ERFNet's own blocks are not; an arm is a D, DGC or "
                "DGCS run, grouped directly or with grouping=gradual|abrupt|cosine|...)")
    if comparisons(by_cell):
        return None
    found = "; ".join(f"{arm} at G = {g}, {e} epochs ({len(s)} seeds)" for (g, e, arm), s in sorted(
        by_cell.items(), key=lambda kv: (kv[0][1] or 0, kv[0][0], _arm_rank(kv[0][2]))))
    pairs = ", ".join(f"{a} − {b}" for a, b in COMPARISONS)
    return (f"no two arms that are compared ({pairs}) ran with the same G and epochs on a shared seed; "
            f"found {found}")


def comparison_records(runs: list[dict]) -> list[dict]:
    """`as_records` of every comparison in `runs` (what `gradgroup-ablation --json` prints)."""
    return as_records(comparisons(cells(runs)))
