"""`python -m gradgroup.cli.counts` (`make counts`): params and GMACs of every paper row beside the paper's.

The rows are the experiments of conf/experiment/table3, table4 and table5 (Vallurupalli et al., CVPR-W
2018, Tables 3-5), measured and ordered by `gradgroup.measure.counts.count_rows` (docs/paper.md
section 3); differences are taken from the first row, Table 3's ERFNet. A light command: it imports
neither Lightning nor onnxruntime.
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ..config.build import experiment_models
from ..config.compose import experiment_names
from ..measure.counts import count_rows, markdown
from .report import reports_user_errors

TABLES = ("table3", "table4", "table5")
PROG = "gradgroup.cli.counts"


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.splitlines()[0]).parse_args(argv)
    print(markdown(count_rows([experiment_models(experiment_names([t])) for t in TABLES])))


if __name__ == "__main__":
    main()
