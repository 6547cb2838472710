"""`ModelSpec`: the recipe of one network of the paper's tables, built when a procedure needs it.

The `model` config node instantiates it (`_target_: gradgroup.models.ModelSpec`), so a config says *what*
network a run uses and the code decides *when* to build it: the full network, the encoder alone for phase 1
of the paper's two-phase procedure (Vallurupalli et al., CVPR-W 2018, section 4; docs/paper.md section 4),
or the deployable network. Gradual grouping ends in real grouped convs (CondenseNet's conversion step), so
the deployable recipe of a gradual model is the same recipe with `encoder.gradual` false: that network has
exactly the converted model's architecture and state_dict keys.

Building calls `build_model` and nothing else, so it draws random numbers exactly as `build_model` does:
a seeded run starts from the same weights either way.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from ..errors import ConfigError
from .erfnet import SegmentationNet, build_model, layer_plan
from .factory import block_supports_gradual


def _plain(value: Any) -> Any:
    """Plain Python values: Enum members by their value, mappings as dicts, sequences as lists.

    Config containers (OmegaConf's DictConfig/ListConfig are a Mapping/Sequence) and structured-config
    enums become what `build_model` and `torch.save` handle without the config library.
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class ModelSpec:
    """What `build_model` is called with: `num_classes`, `encoder` {block, groups, layers, gradual, dropout,
    stages}
    and `decoder` {name}. Values are normalised to plain Python ones, so `ModelSpec(**spec.kwargs())`
    equals `spec` and two specs of the same network compare equal."""

    num_classes: int = 19
    encoder: dict = field(default_factory=dict)
    decoder: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("encoder", "decoder"):
            value = getattr(self, key)
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                raise ConfigError(f"model.{key}: expected a mapping of settings, got {value!r}.")
            object.__setattr__(self, key, _plain(value))

    def build(self, encoder_only: bool = False) -> SegmentationNet:
        """The network; `encoder_only` builds phase 1's encoder with its 1x1 classifier and no decoder."""
        return build_model(**self.kwargs(), encoder_only=encoder_only)

    def deployable(self) -> "ModelSpec":
        """The recipe of the deployed network: the same, with gradual convs already real grouped convs."""
        return replace(self, encoder={**self.encoder, "gradual": False})

    def kwargs(self) -> dict:
        """Plain `build_model` keyword arguments (saved beside weights; `ModelSpec(**kwargs)` rebuilds it)."""
        return {"num_classes": self.num_classes, "encoder": copy.deepcopy(self.encoder),
                "decoder": copy.deepcopy(self.decoder)}

    @property
    def has_gradual(self) -> bool:
        """Whether the network has gradual 1x1 convs to anneal: `encoder.gradual` set, a block kind that
        anneals (dgc, dgcs) and at least one layer of that kind (`layers` or `stages`). Raises ConfigError
        for an invalid `layers` or `stages`."""
        enc = self.encoder
        if not enc.get("gradual", False):
            return False
        plan = layer_plan(enc.get("block", "nonbt1d"), enc.get("groups", 1), enc.get("layers", "none"),
                          enc.get("stages"))
        return any(block_supports_gradual(kind) for kind, _ in plan.values())
