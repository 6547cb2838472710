"""Our params / GMACs for every paper row beside the paper's: the Markdown counting table of docs/counts.md.

The paper (Vallurupalli et al., CVPR-W 2018, Tables 3-5) prints absolute numbers under a convention in
the parts all rows share (docs/paper.md section 3), so the table also shows each row's difference from
ERFNet, ours beside the paper's: the differences are what must, and do, agree. `count_rows` measures
the rows (both counting conventions of `measure.complexity`); `markdown` lays them out.
`python -m gradgroup.cli.counts` (`make counts`) prints the table.
"""
from __future__ import annotations

from typing import Sequence

from ..models.factory import block_kinds
from .complexity import complexity_report

HEADER = ("| row | params | paper params | Δparams vs ERFNet (ours / paper) | GMACs exact | GMACs paper conv. "
          "| paper GMACs | ΔGMACs vs ERFNet, paper conv. (ours / paper) |")


def _row_order(spec) -> tuple:
    kinds = block_kinds()
    block, groups = spec.encoder.get("block", "nonbt1d"), spec.encoder.get("groups", 1)
    return (kinds.index(block) if block in kinds else len(kinds), groups)


def count_rows(tables: Sequence[Sequence[dict]]) -> list[dict]:
    """One measured row per distinct deployed network, tables in the order given; within a table ERFNet
    first, then D, then the grouped (DGC) and grouped+shuffled (DGCS) blocks by group count. A network
    already listed (Table 4's ERFNet is Table 3's, only trained otherwise) is counted once.

    Each table: entries {"name", "label", "spec" (a deployable ModelSpec), "input_hw", "paper"} as
    `config.build.experiment_models` makes them. Each row: {"name", "label", "params", "gmacs_exact",
    "gmacs_paper", "paper"}.
    """
    out, seen = [], []
    for entries in tables:
        for e in sorted(entries, key=lambda e: (_row_order(e["spec"]), e["name"])):
            if e["spec"] in seen:
                continue
            seen.append(e["spec"])
            model = e["spec"].build()
            exact, paper = (complexity_report(model, e["input_hw"], c) for c in ("exact", "paper"))
            out.append({"name": e["name"], "label": e["label"], "params": exact["params"],
                        "gmacs_exact": exact["gmacs"], "gmacs_paper": paper["gmacs"], "paper": e["paper"]})
    return out


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
