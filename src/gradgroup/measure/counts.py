"""Our params / GMACs for every paper row beside the paper's: the Markdown counting table of docs/counts.md.

The paper (Vallurupalli et al., CVPR-W 2018, Tables 3-5) prints absolute numbers under a convention in
the parts all rows share (docs/paper.md section 3), so the table also shows each row's difference from
ERFNet, ours beside the paper's: the differences are what must, and do, agree. The numbers are measured
by the caller (`python -m gradgroup.cli.counts`, i.e. `make counts`); this module only lays them out.
"""
from __future__ import annotations

from typing import Sequence

HEADER = ("| row | params | paper params | Δparams vs ERFNet (ours / paper) | GMACs exact | GMACs paper conv. "
          "| paper GMACs | ΔGMACs vs ERFNet, paper conv. (ours / paper) |")


def markdown(data: Sequence[dict]) -> str:
    """One line per row; differences are taken from the first row (ERFNet).

    Each row: {"label", "params", "gmacs_exact", "gmacs_paper" (ours, exact and paper conventions),
    "paper": {"params", "gmacs"} (the paper's printed numbers)}.
    """
    base = data[0]
    lines = [HEADER, "|---|---|---|---|---|---|---|---|"]
    for r in data:
        p = r["paper"]
        dp = (base["params"] - r["params"], base["paper"]["params"] - p["params"])
        dg = (base["gmacs_paper"] - r["gmacs_paper"], base["paper"]["gmacs"] - p["gmacs"])
        lines.append(f"| {r['label']} | {r['params']:,} | {p['params']:,} | {dp[0]:,} / {dp[1]:,} | "
                     f"{r['gmacs_exact']:.3f} | {r['gmacs_paper']:.3f} | {p['gmacs']:.3f} | {dg[0]:.3f} / {dg[1]:.3f} |")
    return "\n".join(lines)
