"""Building objects from config nodes: the one function the code builds them with, and the deployable network.

`build(node)` is `hydra.utils.instantiate` with one change: a GradgroupError raised by the target (a bad
group count, a missing data root) surfaces as itself instead of wrapped in Hydra's
InstantiationException, so records and the console show its message (cli/report.py: exit status 2).
`training/run.py` builds a run's objects with it; the commands that use a model or data without
training (complexity, counts, bench, export, eval, predict) build theirs with it too. Objects built here
never see a config: below this layer nothing reads a DictConfig.
"""
from __future__ import annotations

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from ..errors import GradgroupError
from .compose import compose_config


def build(node: DictConfig, **kwargs):
    """The object a `_target_` node describes (a partial for `_partial_` nodes), `kwargs` overriding keys."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, GradgroupError):
            raise err.__cause__ from None
        raise


def deployable_model(cfg: DictConfig):
    """The deployed network of a composed config, in eval mode: the `model` node's ModelSpec with gradual
    convs already real grouped convs (a converted model's exact architecture) and no encoder head."""
    return build(cfg.model, _convert_="all").deployable().build().eval()


def experiment_models(names) -> list[dict]:
    """Each experiment's deployable model recipe with what a counts table prints beside it: {"name",
    "label", "spec" (the deployable ModelSpec, unbuilt), "input_hw", "paper": {"params", "gmacs"}}."""
    out = []
    for name in names:
        cfg = compose_config([f"experiment={name}"])
        out.append({"name": name, "label": cfg.label, "spec": build(cfg.model, _convert_="all").deployable(),
                    "input_hw": tuple(int(v) for v in cfg.complexity.input_hw),
                    "paper": {"params": cfg.paper.params, "gmacs": cfg.paper.gmacs}})
    return out
