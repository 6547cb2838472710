"""`python -m gradgroup.cli.counts` (`make counts`): params and GMACs of every paper row beside the paper's.

The rows are the experiments of conf/experiment/table3, table4 and table5 (Vallurupalli et al., CVPR-W
2018, Tables 3-5), in table order and, within a table, ERFNet first, then D, then the grouped (DGC) and
the grouped+shuffled (DGCS) blocks by group count. A row whose deployed network is one already listed
(Table 4's ERFNet, the same network as Table 3's, only trained otherwise) is counted once. Differences
are taken from the first row, Table 3's ERFNet (docs/paper.md section 3; `gradgroup.measure.counts`).
"""
from __future__ import annotations

import argparse
from typing import Sequence

from hydra.utils import instantiate

from ..config.compose import CONF_DIR, compose_config
from ..models import block_kinds
from ..measure.complexity import complexity_report
from ..measure.counts import markdown
from .report import reports_user_errors

TABLES = ("table3", "table4", "table5")
PROG = "gradgroup.cli.counts"


def experiment_names(tables: Sequence[str] = TABLES) -> list[str]:
    """The experiments of each table (its conf/experiment/<table>/*.yaml files), tables in order."""
    return [f"{t}/{p.stem}" for t in tables for p in sorted((CONF_DIR / "experiment" / t).glob("*.yaml"))]


def _row_order(spec) -> tuple:
    kinds = block_kinds()
    block, groups = spec.encoder.get("block", "nonbt1d"), spec.encoder.get("groups", 1)
    return (kinds.index(block) if block in kinds else len(kinds), groups)


def rows(tables: Sequence[str] = TABLES) -> list[dict]:
    """One measured row per distinct deployed network: name, label, params, gmacs_exact, gmacs_paper, paper."""
    out, seen = [], []
    for table in tables:
        found = []
        for name in experiment_names([table]):
            cfg = compose_config([f"experiment={name}"])
            spec = instantiate(cfg.model, _convert_="all").deployable()
            found.append((_row_order(spec), name, cfg, spec))
        for _, name, cfg, spec in sorted(found, key=lambda f: f[:2]):
            if spec in seen:
                continue
            seen.append(spec)
            model, hw = spec.build(), tuple(int(v) for v in cfg.complexity.input_hw)
            exact, paper = (complexity_report(model, hw, c) for c in ("exact", "paper"))
            out.append({"name": name, "label": cfg.label, "params": exact["params"], "gmacs_exact": exact["gmacs"],
                        "gmacs_paper": paper["gmacs"],
                        "paper": {"params": cfg.paper.params, "gmacs": cfg.paper.gmacs}})
    return out


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.splitlines()[0]).parse_args(argv)
    print(markdown(rows()))


if __name__ == "__main__":
    main()
