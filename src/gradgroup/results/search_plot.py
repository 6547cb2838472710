"""The search's Pareto plot: every trial, the confirmed front with intervals, and the paper's rows.

Left: mIoU against measured latency. Grey dots are the trials as the search saw them (one seed each);
coloured points are the confirmed rows (mean over the confirmation seeds, 95% t interval as error bar):
circles the searched placements, squares the paper's rows, each labelled (placed so labels do not
cover each other, results/plot_labels.py); the interval is clipped to [0, 100]; the dashed staircase joins the
final front (drawn from the confirmed means). Right: the same confirmed rows against GMACs, the paper's
axis. Object API with the Agg canvas (no pyplot state, no display), like results/pareto.py.
"""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plot_labels import place_labels


def _err(r: dict) -> list[list[float]]:
    """The 95% t interval as error bar lengths, clipped to mIoU's range [0, 100]: with n = 2 the t
    interval is wide enough to reach below 0, which no mIoU can."""
    if r.get("ci_low") is None:
        return [[0.0], [0.0]]
    return [[r["mean"] - max(r["ci_low"], 0.0)], [min(r["ci_high"], 100.0) - r["mean"]]]


def plot_search(trials: list[dict], rows: list[dict], path=None, title: str = "", budget_ms=None) -> Figure:
    fig = Figure(figsize=(14, 5.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    tried = [t for t in trials if t.get("trained") and t.get("values")]
    ax.scatter([t["values"][1] for t in tried], [t["values"][0] for t in tried], s=22, color="0.65",
               label=f"search trials ({len(tried)}, one seed each)", zorder=2)
    skipped = [t for t in trials if t.get("skipped") and t.get("values") and t["values"][1]]
    if skipped:
        ax.scatter([t["values"][1] for t in skipped], [0.0] * len(skipped), marker="x", color="C3", s=30,
                   label="over budget, not trained", zorder=2)
    shown = [r for r in rows if r.get("mean") is not None and r.get("latency_ms") is not None]
    for panel, xkey, xlabel in [(ax, "latency_ms", "measured latency (ms per image)"),
                                (ax2, "gmacs", "GMACs per image (exact convention)")]:
        for r in shown:
            if r.get(xkey) is None:
                continue
            paper = r["source"] == "paper"
            panel.errorbar([r[xkey]], [r["mean"]], yerr=_err(r), marker="s" if paper else "o", ms=8, capsize=3,
                           color="C1" if paper else ("C0" if r["front"] else "C2"), zorder=4,
                           mec="k" if r["front"] else None)
        panel.set_xlabel(xlabel)
        panel.set_ylabel("val mIoU (%)")
        panel.grid(True, alpha=0.3)
    front = sorted((r for r in shown if r["front"]), key=lambda r: r["latency_ms"])
    if front:
        ax.step([r["latency_ms"] for r in front], [r["mean"] for r in front], where="post", ls="--", color="k",
                lw=1.2, alpha=0.7, label="final front (confirmed means)", zorder=3)
    for color, marker, text in [("C0", "o", "searched, on the final front"), ("C2", "o", "searched, dominated"),
                                ("C1", "s", "paper rows, same budget")]:
        ax.scatter([], [], color=color, marker=marker, label=text)
    if budget_ms:
        ax.axvline(budget_ms, color="C3", ls=":", label=f"latency budget ({budget_ms:g} ms)")
    ax.set_title("mIoU vs measured latency (upper left is better)")
    ax2.set_title("confirmed rows vs GMACs")
    # Below both panels, so it never covers a point (constrained layout makes the room).
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="outside lower center", ncols=6)
    for panel, xkey in [(ax, "latency_ms"), (ax2, "gmacs")]:
        place_labels(panel, [(r[xkey], r["mean"], r["label"]) for r in shown if r.get(xkey) is not None])
    if title:
        fig.suptitle(title, fontsize=11)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
