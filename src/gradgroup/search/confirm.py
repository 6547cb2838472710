"""Confirming a search's front: its non-dominated trials and the paper's rows, retrained on fresh seeds.

A trial's mIoU is one seed's, and the front was picked on it, so it flatters the front (the winner's curse;
seed std 0.3-1.4 mIoU at the quick preset). Here the front's trials (at most `k`, spread over latency when
there are more) and the paper's rows (experiment files, trained with the same preset and the overrides
that put them on the trials' budget) are trained again on `seeds`, seeds the search did not select on,
into `<sweep dir>/confirm/`. The report draws the final front from those means (results/search_report.py).
Jobs whose run dir already holds an ok record are not launched again, so a cut-off confirmation resumes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from optuna.trial import TrialState

from ..common.atomic import atomic_write_json
from ..common.records import read_record
from .cost import LatencyCache, arch_key
from .runner import model_of
from .space import Space
from .study import trained
from ..common.records import is_ok

CONFIRM_DIR = "confirm"
FRONT_FILE = "front.json"


def spread(items: list, k: int) -> list:
    """At most k of `items` (sorted by latency), evenly spaced, both ends kept."""
    if len(items) <= k:
        return items
    if k == 1:
        return items[:1]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def search_front(study, k: int) -> list:
    """The trained trials on the search's front (Optuna's `best_trials`: non-dominated among the feasible
    ones, by their single-seed mIoU and latency), at most k."""
    front = [t for t in study.best_trials if trained(t)] if study.get_trials(deepcopy=False) else []
    return spread(sorted(front, key=lambda t: t.values[1]), k)


def slug_of(experiment: str) -> str:
    return experiment.replace("/", "-")


def confirm_jobs(study, space: Space, compose: Callable, cache: LatencyCache, sweep_dir, k: int,
                 seeds: Sequence[int], paper_rows: Sequence[str], paper_overrides: Sequence[str],
                 fixed: Sequence[str], log=print) -> list[list[str]]:
    """The confirmation's job overrides not yet done, after timing the paper rows' architectures and writing
    `<sweep dir>/confirm/front.json` (what was selected and why) and both dirs' latency.json."""
    root = Path(sweep_dir)
    front = search_front(study, k)
    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        log("search: no finished trial to confirm; the paper rows alone are retrained")
    entries, specs, names = [], {}, {}
    for t in front:
        point = space.point_of(t.params)
        entries.append({"source": "search", "trial": t.number, "label": point.label, "words": point.words,
                        "experiment": f"search/{point.slug}", "arch": t.user_attrs["arch"], "slug": point.slug,
                        "overrides": point.overrides(), "search_miou": t.values[0]})
    for row in paper_rows:
        cfg = compose([*fixed, f"experiment={row}", *paper_overrides])
        spec = model_of(cfg)
        key = arch_key(spec)
        specs[key] = spec
        entries.append({"source": "paper", "label": str(cfg.label), "words": f"the paper's {cfg.label} ({row})",
                        "experiment": row, "arch": key, "slug": slug_of(row),
                        "overrides": [f"experiment={row}", *paper_overrides]})
    cache.measure(specs, log=log)
    for e in entries:
        names[e["experiment"]] = e["arch"]
    atomic_write_json(root / CONFIRM_DIR / FRONT_FILE, {"k": k, "seeds": list(seeds), "paper_overrides":
                                                         list(paper_overrides), "entries": entries})
    trials = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("name")]
    cache.write_latency_json(root, {**{t.user_attrs["name"]: t.user_attrs["arch"] for t in trials}, **names})
    cache.write_latency_json(root / CONFIRM_DIR, names)
    jobs = []
    for e in entries:
        for s in seeds:
            subdir = f"{CONFIRM_DIR}/{e['slug']}_seed{s}"
            done = read_record(root / subdir)
            if done and is_ok(done):
                continue
            jobs.append([*fixed, *e["overrides"], f"seed={s}", f"hydra.sweep.subdir={subdir}"])
    log(f"search: confirming {len(front)} front trial(s) and {len(paper_rows)} paper row(s) on seeds "
        f"{list(seeds)}: {len(jobs)} job(s) to run -> {root / CONFIRM_DIR}")
    return jobs
