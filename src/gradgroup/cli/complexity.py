"""`gradgroup-complexity experiment=<name>`: params and GMACs of the deployable model, as one JSON object.

Uses the same config tree as training, so any experiment or override composes the same way.
`complexity.convention=paper` reproduces the paper's counting of transposed convs.
"""
from __future__ import annotations

import json
import sys

import hydra
from omegaconf import DictConfig

from .config_paths import CONF_DIR, register_resolvers
from .errors import GradgroupError

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="complexity")
def _hydra_main(cfg: DictConfig) -> None:
    from .experiment import measure_complexity

    try:
        report = measure_complexity(cfg)
    except GradgroupError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    report = {"experiment": cfg.name, "label": cfg.label, **report}
    report.pop("macs", None)
    print(json.dumps(report))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
