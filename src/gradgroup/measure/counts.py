"""`python -m gradgroup.counts`: our params / GMACs for every paper row beside the paper's, as Markdown.

What the README's counting table is made from (`make counts`). Differences are taken from each table's
own ERFNet, since the paper's absolute numbers use a convention in the parts all rows share
(shared/paper.md section 3): the differences are what must, and do, agree.
"""
from __future__ import annotations

from .config_paths import compose_config
from .experiment import measure_complexity

ROWS = ([f"table3/{n}" for n in ("erfnet", "d", "dg2", "dg4", "dg8", "dg2s", "dg4s", "dg8s")]
        + [f"table4/{n}" for n in ("d_proposed", "dg2_proposed", "dg4_proposed")]
        + [f"table5/{n}" for n in ("d", "dg2", "dg4", "dg8", "dg2s", "dg4s", "dg8s")])


def rows() -> list[dict]:
    out = []
    for name in ROWS:
        cfg = compose_config([f"experiment={name}", "complexity.convention=paper"])
        paper = measure_complexity(cfg)
        cfg.complexity.convention = "exact"
        exact = measure_complexity(cfg)
        out.append({"name": name, "label": cfg.label, "params": exact["params"], "gmacs_exact": exact["gmacs"],
                    "gmacs_paper": paper["gmacs"], "paper": dict(cfg.paper)})
    return out


def markdown(data: list[dict]) -> str:
    base = data[0]
    lines = ["| row | params | paper params | Δparams vs ERFNet (ours / paper) | GMACs exact | GMACs paper conv. "
             "| paper GMACs | ΔGMACs vs ERFNet, paper conv. (ours / paper) |", "|---|---|---|---|---|---|---|---|"]
    for r in data:
        p = r["paper"]
        dp = (base["params"] - r["params"], base["paper"]["params"] - p["params"])
        dg = (base["gmacs_paper"] - r["gmacs_paper"], base["paper"]["gmacs"] - p["gmacs"])
        lines.append(f"| {r['label']} | {r['params']:,} | {p['params']:,} | {dp[0]:,} / {dp[1]:,} | "
                     f"{r['gmacs_exact']:.3f} | {r['gmacs_paper']:.3f} | {p['gmacs']:.3f} | {dg[0]:.3f} / {dg[1]:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(rows()))
