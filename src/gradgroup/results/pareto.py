"""The paper's Figure 4 for a results table: error (100 - mIoU) against GMACs, one series per family,
the Pareto front marked, error bars over seeds, and a second panel against measured latency.

"Efficient Semantic Segmentation using Gradual Grouping" (Vallurupalli et al., CVPR-W 2018) plots only
GMACs; the latency panel uses what `gradgroup-bench --sweep` measured. Draws the rows that
`gradgroup.results.table` builds, or that `load_results_csv` reads back from a results.csv.
"""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure  # object API + Agg canvas: no pyplot global state, no display

import re
from pathlib import Path

from .format import display_label, gmacs_header, num
from .plot_labels import place_labels
from ..common.records import is_ok


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats in both cost and error (lower is better), by cost."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    front, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def family_of(row: dict) -> str:
    """The plotted family: the config's `family`, except that a D row (depthwise separable, no grouping:
    D*, D, D*-proposed) is its own series. The configs file D* under DGC* as its G = 1 point, which drew
    it in the grouped family's colour, as if it were grouped."""
    if re.match(r"D(?!G)", row.get("label") or ""):
        return row["label"]
    return row.get("family") or row["label"]


def plot_pareto(rows: list[dict], path=None, budget_gmacs=None, budget_ms=None):
    """Figure 4 of the paper: error against GMACs per family (+ a latency panel); returns the Figure."""
    ok = [r for r in rows if is_ok(r)]
    fig = Figure(figsize=(15, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    multi = len({r.get("source") for r in ok}) > 1
    series = lambda r: (Path(r["source"]).parent.name + ": " if multi else "") + \
        family_of(r) + (f" [{r['arm']}]" if r.get("arm") else "")
    names = list(dict.fromkeys(series(r) for r in ok))
    colors = {n: f"C{i % 10}" for i, n in enumerate(names)}
    markers = {n: "osD^vP*Xhp<>"[i % 12] for i, n in enumerate(names)}
    for ax, xkey, xlabel, budget in [
            (axes[0], "gmacs", f"{gmacs_header(ok)}: multiply-accumulates / 1e9 per image", budget_gmacs),
            (axes[1], "latency_ms", "measured latency (ms per image)", budget_ms)]:
        pts = [r for r in ok if num(r.get(xkey)) is not None]
        ax.set_xlabel(xlabel)
        ax.set_ylabel("error = 100 − mIoU (%)")
        ax.grid(True, alpha=0.3)
        if not pts:
            ax.text(0.5, 0.5, "no latency measured", ha="center", va="center", fontsize=14,
                    color="0.4", transform=ax.transAxes)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title("Error vs latency")
            continue
        for name in names:
            s = sorted((r for r in pts if series(r) == name), key=lambda r: r[xkey])
            if s:
                ax.errorbar([r[xkey] for r in s], [100 - r["miou"] for r in s],
                            yerr=[num(r.get("miou_std")) or 0 for r in s], color=colors[name],
                            marker=markers[name], ms=7, lw=1.5, capsize=3, label=name)
        xy = [(r[xkey], 100 - r["miou"]) for r in pts]
        front = [xy[i] for i in pareto_front(xy)]
        # Dashed staircase = the best error reachable at each cost; ringed points lie on it.
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", ls="--", color="k",
                lw=1.2, alpha=0.7, label="Pareto front")
        ax.scatter([p[0] for p in front], [p[1] for p in front], s=190, facecolors="none",
                   edgecolors="k", linewidths=1.5, zorder=5)
        if budget is not None:
            unit = " GMACs" if xkey == "gmacs" else " ms"
            ax.axvline(budget, color="C3", ls=":", lw=1.5, label=f"budget ({budget:g}{unit})")
        best = [r for r in pts if r.get("fits_budget") == "best"]
        if best:
            ax.scatter([best[0][xkey]], [100 - best[0]["miou"]], marker="*", s=420, color="gold",
                       edgecolors="k", zorder=6, label="best within budget")
        place_labels(ax, [(r[xkey], 100 - r["miou"], display_label(r)) for r in pts], color="0.25")
        ax.set_title("Error vs compute (paper Fig. 4)" if xkey == "gmacs" else "Error vs measured latency")
    # One legend outside both panels: the left panel has every series (all ok rows have GMACs).
    handles = {l: h for ax in axes for h, l in zip(*ax.get_legend_handles_labels())}
    labels = [n for n in names if n in handles] + [l for l in handles if l not in names]
    fig.legend([handles[l] for l in labels], labels, loc="outside right upper", fontsize=9)
    fig.suptitle("Accuracy / efficiency trade-off (lower-left is better)", fontsize=13)
    if path is not None:
        fig.savefig(path, dpi=130)
    return fig
