"""A search's outcome from its files: the confirmed front, the paper's rows beside it, and the verdict.

Reads only files (the results layer's rule): `<dir>/search/trials.json` (every trial, exported by the
sweeper), `<dir>/search/latency_cache.json` (measured latency, roofline bound and fraction per
architecture), `<dir>/confirm/front.json` (what was retrained) and the confirmation's metrics.json files.
Each confirmed row's mIoU is the mean over the confirmation seeds with its 95% Student-t interval
(results/stats.py); the final front is the non-dominated set of those means against measured latency
(results/pareto.py). A searched placement dominates a paper row when its mean mIoU is at least the row's
at no more latency, one of the two strictly; the paired mIoU difference over the shared seeds, with its
Student-t interval and sign-flip p, says how sure that is.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..common.records import RECORD, is_ok, read_record_file
from .pareto import pareto_front
from .ablation import p_text
from .format import md_row
from .stats import ALPHA as SIGNIFICANCE, compare, describe, paired, min_seeds_for, smallest_p
from ..common.records import is_ok

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
        runs = [r for r in data["runs"] if r.get("experiment") == e["experiment"] and is_ok(r)]
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


def paired_t(arm: dict, base: dict) -> dict:
    """stats.compare, with the Student-t interval of the paired differences in place of the bootstrap one:
    at the 3 seeds a confirmation runs, a bootstrap interval is little more than the range of the
    differences (results/stats.py), which reads as more certain than 3 seeds are."""
    c = compare(arm, base)
    _, d = paired(arm, base)
    if d.size >= 2:
        t = describe(d)
        c.update(ci_low=t["ci_low"], ci_high=t["ci_high"])
    return c


def verdicts(rows: list[dict], paper_labels=VERDICT_ROWS) -> list[dict]:
    """For each paper row named: every confirmed searched row beside it, with the paired mIoU difference
    (searched - paper, over the shared seeds), the latency ratio and whether it dominates by the means;
    `dominated_by` lists those that do."""
    out = []
    for label in paper_labels:
        paper = next((r for r in rows if r["source"] == "paper" and r["label"] == label), None)
        if paper is None:
            continue
        compared = [{**r, "diff": paired_t(r["per_seed"], paper["per_seed"]), "dominates": dominates(r, paper),
                     "latency_ratio": (r["latency_ms"] / paper["latency_ms"]
                                       if r.get("latency_ms") and paper.get("latency_ms") else None)}
                    for r in rows if r["source"] == "search"]
        out.append({"paper": paper, "compared": compared, "dominated_by": [c for c in compared if c["dominates"]]})
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
        body.append(md_row([mark, r["label"] + src, r["words"], _ci(r), _f(r["params"], ","), _f(r["gmacs"], ".3f"),
                            _f(r["latency_ms"], ".1f"), _f(r["speedup"], ".2f") + "x",
                            _f(r["roofline_fraction"], ".0%")]))
    return "\n".join(head + body)


def verdict_text(found: list[dict]) -> str:
    """`verdicts` in words: per paper row the verdict by the means, then every searched row beside it
    with its paired difference, interval and p, and what the number of seeds lets those p-values say."""
    lines, ns = [], set()
    for v in found:
        p = v["paper"]
        what = f"**{p['label']}** ({_ci(p)} mIoU, {_f(p['latency_ms'], '.1f')} ms)"
        winners = ", ".join(w["label"] for w in v["dominated_by"])
        lines.append(f"- {what}: " + (f"dominated (by the means) by {winners}." if winners else
                                      "no searched placement dominates it on this backend."))
        if not v["compared"]:
            continue
        lines += ["", f"  | searched placement | latency ms (x {p['label']}'s) | mIoU - {p['label']}, paired "
                      "[95% t CI] | p (seeds) | dominates |", "  |---|---|---|---|---|"]
        for c in sorted(v["compared"], key=lambda c: c["latency_ms"] or 0):
            d = c["diff"]
            ns.add(d["n"])
            ci = "" if d["ci_low"] is None else f" [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
            lines.append("  " + md_row([c["label"], f"{_f(c['latency_ms'], '.1f')} ({_f(c['latency_ratio'], '.2f')}x)",
                                        _f(d["mean_diff"], "+.2f") + ci, f"{p_text(d['p_value'])} ({d['n']})",
                                        "yes" if c["dominates"] else "no"]))
        lines.append("")
    if not lines:
        return "- no paper row named DG4*-proposed or D*-proposed was confirmed."
    if ns and max(ns) > 0 and smallest_p(max(ns)) >= SIGNIFICANCE:
        lines.append(f"With {max(ns)} paired seeds the smallest sign-flip p is {smallest_p(max(ns)):.2g}, so no "
                     f"difference above can reach p < {SIGNIFICANCE}: \"dominates\" compares means, and the "
                     "intervals say how far each could be from zero. A significance claim needs at least "
                     f"{min_seeds_for(SIGNIFICANCE)} confirmation seeds (`hydra.sweeper.confirm.seeds`).")
    return "\n".join(lines).rstrip()


def trial_summary(trials: list[dict]) -> dict:
    trained = [t for t in trials if t.get("trained")]
    return {"asked": len(trials), "trained": len(trained),
            "over_budget": sum(1 for t in trials if t.get("skipped") and "duplicate_of" not in t),
            "duplicates": sum(1 for t in trials if "duplicate_of" in t),
            "failed": sum(1 for t in trials if t.get("state") == "FAIL")}
