"""`gradgroup-complexity experiment=<name>`: params and GMACs of the deployable model, as one JSON object.

Uses the same config tree as training (conf/complexity.yaml composes conf/train.yaml), so any experiment
or override composes the same way. `complexity.convention=paper` reproduces the paper's counting of
transposed convs (Vallurupalli et al., CVPR-W 2018, Tables 3-5; docs/paper.md section 3). A light
command: it imports neither pytorch_lightning nor the training code.
"""
from __future__ import annotations

import json

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from ..config.compose import CONF_DIR, register_resolvers
from ..measure.complexity import complexity_report
from .report import reports_user_errors

PROG = "gradgroup-complexity"
register_resolvers()


def deployable_model(cfg: DictConfig):
    """The deployed network of a composed config, in eval mode: the `model` node's ModelSpec, with gradual
    convs already real grouped convs (a converted model's exact architecture) and no encoder head."""
    return instantiate(cfg.model, _convert_="all").deployable().build().eval()


def measure_complexity(cfg: DictConfig, model=None, convention=None) -> dict:
    """`complexity_report` of the deployable model at `complexity.input_hw`, under `convention`
    (default `complexity.convention`); pass `model` to count an already built one."""
    c = cfg.complexity
    model = deployable_model(cfg) if model is None else model
    return complexity_report(model, tuple(int(v) for v in c.input_hw), convention or c.convention)


@reports_user_errors(PROG)
def report(cfg: DictConfig) -> dict:
    """The printed object: experiment, label, params, gmacs, input_hw, convention."""
    measured = measure_complexity(cfg)
    measured.pop("macs", None)
    return {"experiment": cfg.name, "label": cfg.label, **measured}


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="complexity")
def _hydra_main(cfg: DictConfig) -> None:
    print(json.dumps(report(cfg)))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
