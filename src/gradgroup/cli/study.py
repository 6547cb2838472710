"""`python -m gradgroup.cli.study STUDY_DIR`: the gradual grouping study's report, from its runs (`make study`).

Reads every metrics.json under STUDY_DIR (the four sweeps of sweeps/study_*.yaml, one sub-dir each) and
writes beside them: ablation.md (the arm and comparison tables, `gradgroup-ablation`), comparisons.json
(one object per comparison, as `gradgroup-ablation --json`), forest.png and curves.png
(`gradgroup.results.study_plots`) and gradual_study.md (`gradgroup.results.study_doc`), then logs one
wandb summary run in the study's group (common/wandb_names.py; offline unless
--wandb or WANDB_MODE says otherwise). --publish docs/gradual_study.md also
writes the page there, with its two pictures beside it as gradual_study_forest.png / _curves.png.

    python -m gradgroup.cli.study STUDY_DIR [--publish FILE.md] [--command TEXT] [--wandb MODE]
                                  [--wandb-project P] [--wandb-entity E]
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import sys
from collections import defaultdict
from pathlib import Path

from ..common.atomic import atomic_write_text, publish_page
from ..common.wandb_names import summary_target
from ..measure.latency import cpu_description
from ..results.ablation import ablation_arm, ablation_groups, arm_rows, as_records, cells, comparisons, summarise
from ..results.history import curves
from ..results.records import is_ok, load_runs
from ..results.study_doc import study_markdown
from ..results.study_plots import plot_curves, plot_forest
from .report import reports_user_errors
from .wandb_flags import add_wandb_flags, wandb_mode

PROG = "gradgroup-study"


def machine() -> dict:
    """The machine this report is made on (the one `make study` ran the jobs on): CPU, SIMD, cores, torch."""
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "not installed"
    return {**cpu_description(), "torch": torch_version}


def _curve_keys(runs: list[dict]) -> dict:
    by_key = defaultdict(list)
    for r in runs:
        arm = ablation_arm(r)
        if is_ok(r) and arm is not None and r.get("epochs") is not None:
            by_key[(ablation_groups(r, arm), int(r["epochs"]), arm)].append(r)
    return by_key


@reports_user_errors(PROG)
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description="Report of the gradual grouping study (make study).")
    p.add_argument("study_dir", metavar="STUDY_DIR", help="the study dir: its sweeps' metrics.json files below it")
    p.add_argument("--publish", metavar="FILE.md", help="also write the page here, its pictures beside it")
    p.add_argument("--command", default="python -m gradgroup.cli.study", help="the command named on the page")
    add_wandb_flags(p, "STUDY_DIR")
    p.add_argument("--plan-commit", help="the commit that added docs/gradual_study_plan.md (named on the page)")
    p.add_argument("--deviation", action="append", default=[], metavar="TEXT",
                   help="a deviation from the plan, listed on the page (repeatable)")
    args = p.parse_args(argv)
    mode = wandb_mode(args)
    out = Path(args.study_dir)
    runs = load_runs([out])
    by_cell = cells(runs)
    comps = comparisons(by_cell)
    atomic_write_text(out / "ablation.md", summarise(runs) + "\n")
    atomic_write_text(out / "comparisons.json", json.dumps(as_records(comps), indent=1) + "\n")
    pngs = {"forest": out / "forest.png", "curves": out / "curves.png"}
    plot_forest(comps, pngs["forest"])
    plot_curves(curves(_curve_keys(runs)), pngs["curves"])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    kw = dict(command=args.command, machine=machine(), date=date, plan_commit=args.plan_commit,
              deviations=tuple(args.deviation))
    page = study_markdown(runs, comps, out, forest_png="forest.png", curves_png="curves.png", **kw)
    atomic_write_text(out / "gradual_study.md", page)
    written = [out / "gradual_study.md"]
    if args.publish:
        target = Path(args.publish)
        names = {k: f"{target.stem}_{k}.png" for k in pngs}
        publish_page(study_markdown(runs, comps, out, forest_png=names["forest"], curves_png=names["curves"], **kw),
                     target, {src: names[key] for key, src in pngs.items()})
        written.append(target)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    print(page)
    print(f"study report -> {', '.join(map(str, written))}, {out / 'ablation.md'}, comparisons.json, forest.png, curves.png")
    if mode != "disabled":
        from ..results.wandb_summary import log_study_wandb  # wandb takes seconds to import: only when logging
        from .quiet import install as quiet_console

        quiet_console()
        try:
            target = summary_target(runs, out, mode, args.wandb_project, args.wandb_entity)
            log_study_wandb(target, out, comps, arm_rows(by_cell), pngs, {"study_dir": str(out), "command": args.command})
        except Exception as e:  # the files above are the product; a logger problem is only a warning
            print(f"warning: wandb logging failed: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
