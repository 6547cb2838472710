"""How the grouped 1x1 convs of a directly grouped network are initialised: the init-scale control of the
gradual grouping study (docs/gradual_study.md, "The init confound").

PyTorch draws a conv's weights uniformly in +-1/sqrt(fan_in) (`nn.Conv2d`'s default, kaiming_uniform with
a = sqrt(5)), where fan_in counts the input channels one output channel sees: C_in for a dense 1x1 conv,
C_in / G for `groups=G`. A `GradualPointwiseConv` starts as the dense conv it anneals from, so its in-group
weights are drawn sqrt(G) times smaller than those of the grouped conv a `direct` run trains. Under Adam
(a per-weight step of about the learning rate, whatever the weight's size) and a BatchNorm after every 1x1
conv, that changes the effective step of the grouped weights, so a gradual-vs-direct comparison would
measure the annealing *and* the init scale.

`POINTWISE_INITS`:

- ``default``: each conv as PyTorch builds it (the paper's tables, and every row outside the study);
- ``dense_fan_in``: every grouped 1x1 conv's weights multiplied by 1/sqrt(G) right after it is built, i.e.
  drawn from U(+-1/sqrt(C_in)), exactly the distribution of a gradual conv's in-group weights. Scaling the
  draw (rather than drawing again) keeps the random stream, so a seeded run draws every other weight as
  `default` does. Gradual convs and dense convs are unchanged (their fan-in is already C_in).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError

POINTWISE_INITS = ("default", "dense_fan_in")


def check_pointwise_init(name: str) -> str:
    if name not in POINTWISE_INITS:
        raise ConfigError(f"model.encoder.pointwise_init={name!r} is unknown; expected one of {POINTWISE_INITS}.")
    return name


@torch.no_grad()
def apply_pointwise_init(module: nn.Module, name: str) -> int:
    """Apply `name` to every grouped 1x1 `nn.Conv2d` in `module`; returns how many convs were rescaled."""
    if check_pointwise_init(name) == "default":
        return 0
    count = 0
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.groups > 1:
            m.weight.mul_(1.0 / math.sqrt(m.groups))
            count += 1
    return count
