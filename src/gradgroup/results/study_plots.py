"""The study's two pictures: a forest plot of the paired differences, and val mIoU curves with alpha.

Forest plot: one row per comparison (arm − baseline at G and an epoch budget), its role in the plan, the
mean paired difference with its 95% interval (the inverted sign-flip test) and n, the deciding p written
beside it (Holm's for the secondary family), a line at 0 (no effect).
Curves: one panel per G and budget, per arm the validation mIoU after each epoch (mean over seeds and a
95% t band), and alpha on a second axis (dashed: the value after each epoch, from 1 at the start) for
the arms that anneal; direct has alpha = 0 and
dense D* no grouping throughout. Rows come from `results.ablation`, curves from `results.history`.
"""
from __future__ import annotations

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure  # object API + Agg canvas: no pyplot global state, no display

from .ablation import ARM_ORDER, p_is, p_text

COLORS = {arm: f"C{i}" for i, arm in enumerate(ARM_ORDER)}
COLORS["dense"] = "0.45"


def _color(arm: str) -> str:
    return COLORS.get(arm, f"C{len(COLORS) + sum(map(ord, arm)) % (10 - len(COLORS))}")  # stable per name


def comparison_label(c: dict) -> str:
    role = f"[{c['role']}] " if c.get("role") else ""
    return f"{role}{c['arm']} − {c['baseline']}, G = {c['groups']}, {c['epochs']} ep (n = {c['n']})"


def plot_forest(comps: list[dict], path) -> Figure:
    """Mean paired difference (mIoU) with its interval, one row per comparison, top to bottom."""
    fig = Figure(figsize=(10, 1.4 + 0.45 * max(len(comps), 1)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ys = list(range(len(comps)))[::-1]
    for y, c in zip(ys, comps):
        color = _color(c["arm"])
        if c["ci_low"] is not None:
            ax.plot([c["ci_low"], c["ci_high"]], [y, y], color=color, lw=2.2, solid_capstyle="butt")
        ax.plot([c["mean_diff"]], [y], "o", color=color, ms=7)
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(ys, [comparison_label(c) for c in comps])
    ax.set_ylim(-0.7, len(comps) - 0.3)
    ax.set_xlabel("paired difference in test mIoU (arm − baseline, points), mean and 95% interval (inverted sign-flip)")
    ax.grid(True, axis="x", alpha=0.3)
    right = ax.secondary_yaxis("right")
    right.set_yticks(ys, [p_is(c["p_value"]) + (f", Holm {p_text(c['p_holm'])}" if c.get("p_holm") is not None else "")
                          for c in comps])
    right.tick_params(length=0)
    ax.set_title("Does the schedule matter? Paired by seed")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_curves(curves: dict, path) -> Figure:
    """One panel per (G, epochs) of `curves` {(G, epochs, arm): DataFrame from results.history.curves};
    dense (G = 1) is drawn in every panel of its budget as the ceiling."""
    panels = sorted({(g, e) for g, e, arm in curves if arm != "dense"}, key=lambda k: (k[1] or 0, k[0]))
    cols = min(len(panels), 2) or 1
    rows = max(math.ceil(len(panels) / cols), 1)
    fig = Figure(figsize=(7.2 * cols, 4.4 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax, (g, epochs) in zip(axes, panels):
        twin = ax.twinx()
        twin.set_ylim(-0.05, 1.05)
        twin.set_ylabel("alpha (dashed)")
        arms = sorted((arm for gg, e, arm in curves if e == epochs and (gg == g or arm == "dense")),
                      key=lambda a: (ARM_ORDER.index(a) if a in ARM_ORDER else len(ARM_ORDER), a))
        for arm in arms:
            df = curves[(1 if arm == "dense" else g, epochs, arm)]
            color, x = _color(arm), df.index.to_numpy()
            ax.plot(x, df["mean"], color=color, lw=2, marker="o", ms=3, label=f"{arm} (n = {int(df['n'].max())})")
            band = df.dropna(subset=["ci_low"])
            if len(band):
                ax.fill_between(band.index.to_numpy(), band["ci_low"].clip(0, 100), band["ci_high"].clip(0, 100),
                                color=color, alpha=0.15, lw=0)  # an interval of few seeds may leave [0, 100]
            if df["alpha"].notna().any():  # logged after each epoch (its last batch); every arm starts at 1
                twin.plot([0, *x], [1.0, *df["alpha"]], color=color, ls="--", lw=1.2, marker=".", ms=5)
        ax.set_title(f"G = {g}, {epochs} epoch{'s' if epochs != 1 else ''}: val mIoU, mean and 95% band over seeds")
        ax.set_xlabel("epoch")
        ax.set_ylabel("val mIoU (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=min(len(arms), 5), fontsize=9,
                  title="solid: val mIoU; dashed: alpha after each epoch (direct: 0 throughout)", title_fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
