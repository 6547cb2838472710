"""`gradgroup-search report DIR`: the front table, the Pareto plots and the search page of a search dir.

    gradgroup-search report multirun/search/<timestamp> [--publish docs/search.md] [--command "make search"]
        [--roofline FILE] [--wandb MODE] [--wandb-project P] [--wandb-entity E]

Run after the search and its confirmation (`make search` runs all three; docs/search.md). Writes into DIR:
front.md and front.json (the confirmed rows, the final front, the verdicts), search_pareto.png (every
trial, the front, the paper's rows), Optuna's own Pareto-front and parameter-importance plots when they
render (matplotlib backend; skipped with the reason otherwise), and search.md; `--publish PATH` copies
search.md there (with image links pointing into DIR). `--roofline FILE` adds the Spearman check that
`gradgroup-roofline --out FILE` wrote. Then one wandb summary run in the search's group (the front as a
table, its mIoU-vs-latency scatter, the plots; docs/wandb.md), offline unless --wandb or WANDB_MODE says otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from omegaconf import OmegaConf

from ..common.atomic import atomic_write_json, atomic_write_text, publish_page
from ..common.wandb_names import summary_target
from ..results.records import load_runs
from ..results.search_doc import document
from ..results.search_plot import plot_search
from ..results.search_report import confirmed_rows, front_table, load, verdict_text, verdicts
from ..errors import require_extra
from .report import fail, reports_user_errors
from .wandb_flags import add_wandb_flags, wandb_mode

PROG = "gradgroup-search"


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("report", help="front table, plots and search.md of a search dir")
    r.add_argument("dir")
    r.add_argument("--publish", metavar="PATH", help="also write the page to PATH (e.g. docs/search.md)")
    r.add_argument("--command", default=None, help="the command that ran the search, for the page")
    r.add_argument("--roofline", metavar="FILE", help="a gradgroup-roofline --out JSON to cite")
    add_wandb_flags(r, "DIR")
    return p.parse_args(argv)


def optuna_plots(sweep_dir: Path, study_name: str) -> list[str]:
    """Optuna's matplotlib Pareto-front and importance plots; a plot that fails is skipped with the reason."""
    import warnings

    import optuna
    from optuna.visualization import matplotlib as ovm

    from ..search.study import open_study

    made = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        stored = open_study(sweep_dir, study_name, None)
        done = [t for t in stored.trials if t.user_attrs.get("trained")]
        study = optuna.create_study(directions=stored.directions)  # the trained trials only, in memory
        study.add_trials(done)
        for name, draw in [("optuna_pareto.png", lambda: ovm.plot_pareto_front(
                               study, target_names=["val mIoU", "latency ms"])),
                           ("optuna_importance_miou.png", lambda: ovm.plot_param_importances(
                               # Optuna's evaluator ranks params by how they lower the target: negate mIoU
                               study, target=lambda t: -t.values[0], target_name="val mIoU (negated)")),
                           ("optuna_importance_latency.png", lambda: ovm.plot_param_importances(
                               study, target=lambda t: t.values[1], target_name="latency ms"))]:
            if len(done) < 2:
                print(f"note: skipping {name}: fewer than 2 trained trials", file=sys.stderr)
                continue
            try:
                ax = draw()
                ax.figure.set_size_inches(8, 5)
                ax.figure.tight_layout()
                ax.figure.savefig(sweep_dir / name, dpi=110)
                made.append(name)
            except Exception as e:  # an optional plot: its failure costs the plot, never the report
                print(f"note: skipping {name}: {type(e).__name__}: {e}", file=sys.stderr)
    return made


def report(args) -> None:
    mode = wandb_mode(args)
    d = Path(args.dir)
    if not (d / "search" / "trials.json").is_file():
        fail(f"{d} holds no search/trials.json: is it a search dir (gradgroup-train --config-name search)?", PROG)
    data = load(d)
    if not data["front"]:
        print(f"note: {d} has no confirm/front.json yet; run the confirmation (hydra.sweeper.mode=confirm) "
              "for the front table", file=sys.stderr)
    rows = confirmed_rows(data)
    settings = data["latency"].get("_settings", {})
    found = verdicts(rows)
    table_md, verdict_md = front_table(rows, settings.get("backend", ""), settings.get("size", "")), verdict_text(found)
    atomic_write_text(d / "front.md", table_md + "\n\n" + verdict_md + "\n")
    atomic_write_json(d / "front.json", {"rows": rows, "verdicts": found})
    cfg = OmegaConf.load(d / "multirun.yaml")
    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=False)
    plot_search(data["trials"], rows, d / "search_pareto.png", title=f"placement search: {d}",
                budget_ms=(sweeper.get("budget") or {}).get("latency_ms"))
    images = ["search_pareto.png", *optuna_plots(d, sweeper.get("study_name", "search"))]
    spearman = json.loads(Path(args.roofline).read_text())["spearman"] if args.roofline else None
    command = args.command or "gradgroup-train --config-dir sweeps --config-name search " + " ".join(
        str(o) for o in [*cfg.hydra.overrides.hydra, *cfg.hydra.overrides.task])
    runs = load_runs([d])
    page = document(d, data, table_md, verdict_md, sweeper, command, cfg.get("preset_name"), runs, spearman, images)
    atomic_write_text(d / "search.md", page)
    print(table_md)
    print(verdict_md)
    print(f"wrote {d / 'front.md'}, {d / 'search_pareto.png'}, {d / 'search.md'}" +
          (f", {', '.join(images[1:])}" if images[1:] else ""), file=sys.stderr)
    if args.publish:  # the pictures go beside the page: a search dir (multirun/) is not part of the repo
        out = Path(args.publish)
        names = {name: name if name.startswith(out.stem + "_") else f"{out.stem}_{name}" for name in images}
        for name, dest in names.items():
            page = page.replace(f"]({name})", f"]({dest})")
        publish_page(page, out, {d / name: dest for name, dest in names.items()})
        print(f"published {out} and {', '.join(names.values())} beside it", file=sys.stderr)
    if mode != "disabled":
        _log_wandb(args, mode, d, runs, rows, images)


def _log_wandb(args, mode: str, d: Path, runs: list[dict], rows: list[dict], images: list[str]) -> None:
    from ..results.wandb_summary import log_search_wandb  # wandb takes seconds to import: only when logging
    from .quiet import install as quiet_console

    quiet_console()
    target = summary_target(runs, d, mode, args.wandb_project, args.wandb_entity)
    try:
        run_id = log_search_wandb(target, d, rows, {Path(name).stem: d / name for name in images},
                                  {"search_dir": str(d), "command": args.command})
        print(f"wandb: summary run {run_id} in {target['project']}, group {target['group']} ({mode})", file=sys.stderr)
    except Exception as e:  # the files above are the product; a logger problem is only a warning
        print(f"warning: wandb logging failed: {e}", file=sys.stderr)


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    require_extra("search", PROG)
    if args.cmd == "report":
        report(args)


if __name__ == "__main__":
    main()
