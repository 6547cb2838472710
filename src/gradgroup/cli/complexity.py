"""`gradgroup-complexity experiment=<name>`: params and GMACs of the deployable model, as one JSON object.

Uses the same config tree as training (conf/complexity.yaml composes conf/train.yaml), so any experiment
or override composes the same way. `complexity.convention=paper` reproduces the paper's counting of
transposed convs (Vallurupalli et al., CVPR-W 2018, Tables 3-5; docs/paper.md section 3). A light
command: it imports neither pytorch_lightning nor the training code.
"""
from __future__ import annotations

import json

import hydra
from omegaconf import DictConfig

from ..config.build import deployable_model
from ..config.compose import CONF_SOURCE, register_resolvers
from ..measure.complexity import complexity_report
from .report import reports_user_errors

PROG = "gradgroup-complexity"
register_resolvers()


@reports_user_errors(PROG)
def report(cfg: DictConfig) -> dict:
    """The printed object: experiment, label, params, gmacs, input_hw, convention (of the deployable model
    at `complexity.input_hw`, counted under `complexity.convention`)."""
    c = cfg.complexity
    measured = complexity_report(deployable_model(cfg), tuple(int(v) for v in c.input_hw), c.convention)
    measured.pop("macs", None)
    return {"experiment": cfg.name, "label": cfg.label, **measured}


@hydra.main(version_base="1.3", config_path=CONF_SOURCE, config_name="complexity")
def _hydra_main(cfg: DictConfig) -> None:
    print(json.dumps(report(cfg)))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
