"""A search's outcome from its files: the confirmed front, the paper's rows beside it, and the verdict.

Reads only files (the results layer's rule): `<dir>/search/trials.json` (every trial, exported by the
sweeper), `<dir>/search/latency_cache.json` (measured latency, roofline bound and fraction per
architecture), `<dir>/confirm/front.json` (what was retrained) and the confirmation's metrics.json files.
Each confirmed row's mIoU is the mean over the confirmation seeds with its 95% Student-t interval
(results/stats.py); the final front is the non-dominated set of those means against measured latency
(results/pareto.py). A searched placement dominates a paper row when its mean mIoU is at least the row's
at no more latency, one of the two strictly; the paired mIoU difference over the shared seeds, with its
bootstrap interval, says how sure that is.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..common.records import RECORD, read_record_file
from .pareto import pareto_front
from .stats import compare, describe

VERDICT_ROWS = ("DG4*-proposed", "D*-proposed")


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def load(sweep_dir) -> dict:
    """{"trials", "latency", "front", "runs"} of a search dir (missing parts empty)."""
    d = Path(sweep_dir)
    runs = []
    for p in sorted((d / "confirm").rglob(RECORD)) if (d / "confirm").is_dir() else []:
        try:
            runs.append(read_record_file(p))
        except (OSError, ValueError):
            continue
    return {"trials": _json(d / "search" / "trials.json").get("trials", []),
            "latency": _json(d / "search" / "latency_cache.json"), "front": _json(d / "confirm" / "front.json"),
            "runs": runs}


def confirmed_rows(data: dict) -> list[dict]:
    """One row per confirmed entry: label, words, source, per-seed mIoU, mean and interval, params, GMACs,
    latency, speedup vs ERFNet, roofline fraction; `front` marks the final front (over every row)."""
    lat = data["latency"]
    rows = []
    for e in data["front"].get("entries", []):
        runs = [r for r in data["runs"] if r.get("experiment") == e["experiment"] and r.get("status") == "ok"]
        per_seed = {r["seed"]: float(r["miou"]) for r in runs if r.get("miou") is not None}
        cost = lat.get(e["arch"], {})
        row = {**{k: e.get(k) for k in ("label", "words", "source", "experiment", "trial", "search_miou")},
               "per_seed": per_seed, "params": runs[0].get("params") if runs else cost.get("params"),
               "gmacs": runs[0].get("gmacs") if runs else cost.get("gmacs_1024x512"),
               "latency_ms": cost.get("ms"), "speedup": cost.get("speedup_vs_erfnet"),
               "roofline_fraction": cost.get("roofline_fraction"), "front": False}
        row.update(describe(list(per_seed.values())) if per_seed else {"n": 0, "mean": None})
        rows.append(row)
    scored = [i for i, r in enumerate(rows) if r["mean"] is not None and r["latency_ms"] is not None]
    for j in pareto_front([(rows[i]["latency_ms"], 100 - rows[i]["mean"]) for i in scored]):
        rows[scored[j]]["front"] = True
    return rows


def dominates(a: dict, b: dict) -> bool:
    """a's mean mIoU >= b's at latency <= b's, one of them strictly."""
    if None in (a.get("mean"), b.get("mean"), a.get("latency_ms"), b.get("latency_ms")):
        return False
    return (a["mean"] >= b["mean"] and a["latency_ms"] <= b["latency_ms"]) and \
        (a["mean"] > b["mean"] or a["latency_ms"] < b["latency_ms"])


def verdicts(rows: list[dict], paper_labels=VERDICT_ROWS) -> list[dict]:
    """For each paper row named: the searched rows that dominate it, each with the paired mIoU difference."""
    out = []
    for label in paper_labels:
        paper = next((r for r in rows if r["source"] == "paper" and r["label"] == label), None)
        if paper is None:
            continue
        winners = [{**r, "diff": compare(r["per_seed"], paper["per_seed"])}
                   for r in rows if r["source"] == "search" and dominates(r, paper)]
        out.append({"paper": paper, "dominated_by": winners})
    return out


def _ci(r: dict) -> str:
    if r.get("mean") is None:
        return "n/a"
    if r.get("ci_low") is None:
        return f"{r['mean']:.2f} (n={r['n']})"
    return f"{r['mean']:.2f} ± {(r['ci_high'] - r['ci_low']) / 2:.2f} (n={r['n']})"


def _f(v, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def front_table(rows: list[dict], backend: str = "", size: str = "") -> str:
    """Markdown: one line per confirmed row, the final front first and marked."""
    head = ["| | label | choices | mIoU mean ± 95% CI | params | GMACs | latency ms | speedup vs ERFNet "
            f"({backend} @ {size}) | roofline fraction |", "|---|---|---|---|---|---|---|---|---|"]
    body = []
    for r in sorted(rows, key=lambda r: (not r["front"], r["latency_ms"] or 0)):
        mark = "front" if r["front"] else ""
        src = "" if r["source"] == "search" else " (paper)"
        body.append(f"| {mark} | {r['label']}{src} | {r['words']} | {_ci(r)} | {_f(r['params'], ',')} | "
                    f"{_f(r['gmacs'], '.3f')} | {_f(r['latency_ms'], '.1f')} | {_f(r['speedup'], '.2f')}x | "
                    f"{_f(r['roofline_fraction'], '.0%')} |")
    return "\n".join(head + body)


def verdict_text(rows: list[dict]) -> str:
    lines = []
    for v in verdicts(rows):
        p = v["paper"]
        what = f"**{p['label']}** ({_ci(p)} mIoU, {_f(p['latency_ms'], '.1f')} ms)"
        if not v["dominated_by"]:
            lines.append(f"- {what}: no searched placement dominates it on this backend.")
            continue
        lines.append(f"- {what} is dominated by:")
        for w in v["dominated_by"]:
            d = w["diff"]
            ci = "" if d["ci_low"] is None else f" [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
            lines.append(f"  - {w['label']} ({w['words']}): {_ci(w)} mIoU at {w['latency_ms']:.1f} ms; paired "
                         f"difference {d['mean_diff']:+.2f} mIoU{ci} over {d['n']} seeds, sign-flip p = "
                         f"{d['p_value']:.2g}" + (" (the interval includes 0: not a sure win)"
                                                  if d["ci_low"] is not None and d["ci_low"] <= 0 else ""))
    return "\n".join(lines) or "- no paper row named DG4*-proposed or D*-proposed was confirmed."


def trial_summary(trials: list[dict]) -> dict:
    trained = [t for t in trials if t.get("trained")]
    return {"asked": len(trials), "trained": len(trained),
            "over_budget": sum(1 for t in trials if t.get("skipped") and "duplicate_of" not in t),
            "duplicates": sum(1 for t in trials if "duplicate_of" in t),
            "failed": sum(1 for t in trials if t.get("state") == "FAIL")}
