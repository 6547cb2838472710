"""Parameter and multiply-accumulate (MAC) counts, the paper's "GFLOPs" (docs/paper.md section 3).

One counter for every table. It runs the model once on a zero input with forward hooks on the
weight-carrying layers and counts the MACs of their weights (bias adds, BN, ReLU, pooling and bilinear
interpolation are not counted; the paper's numbers count only conv weights).

Two conventions, printed in every table header:
- ``exact`` (default): the MACs actually performed. A transposed conv does Cin/g * Cout * k*k MACs per
  *input* pixel; the light upsampler's 1x1 conv runs before the bilinear x2 upsample.
- ``paper``: transposed convs and the light upsampler's 1x1 conv counted at their *output* resolution,
  which is how the paper's Tables 3-5 were counted (its light decoder saves exactly 4.824 GMACs only so).

A module may define ``mac_count(inputs, output) -> int`` to count itself (the gradual-grouping conv does,
since its cost depends on alpha), and ``paper_output_scale`` (an int s) to be counted s^2 times under
the ``paper`` convention. A convention may be given as a str-valued Enum member (a structured config's
closed choice); reports hold its plain value.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError

CONVENTIONS = ("exact", "paper")


def _plain(convention):
    return getattr(convention, "value", convention)  # an Enum member's value, a str as it is


def count_params(model: nn.Module) -> int:
    """All parameters (trainable or not), as the paper and ERFNet's reference count them."""
    return sum(p.numel() for p in model.parameters())


def conv_macs(module: nn.Module, inputs: tuple, output: torch.Tensor, convention: str) -> int:
    """MACs of one conv or transposed-conv call (or a module's own `mac_count`), under `convention`."""
    custom = getattr(module, "mac_count", None)
    if callable(custom):
        return int(custom(inputs, output))
    if isinstance(module, nn.ConvTranspose2d):
        kernel = module.weight.shape[2] * module.weight.shape[3]
        per_pixel = module.in_channels * (module.out_channels // module.groups) * kernel
        if convention == "paper":
            return output.shape[0] * output.shape[2] * output.shape[3] * per_pixel
        x = inputs[0]
        return x.shape[0] * x.shape[2] * x.shape[3] * per_pixel
    if isinstance(module, nn.Conv2d):
        kernel = module.weight.shape[2] * module.weight.shape[3]
        macs = output.numel() * (module.in_channels // module.groups) * kernel
        if convention == "paper":
            macs *= getattr(module, "paper_output_scale", 1) ** 2
        return macs
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def count_macs(model: nn.Module, input_hw: Sequence[int] = (512, 1024), convention: str = "exact",
               forward_kwargs: dict | None = None) -> int:
    """MACs of one forward pass on a single 3-channel image of size input_hw (H, W)."""
    convention = _plain(convention)
    if convention not in CONVENTIONS:
        raise ConfigError(f"complexity.convention: unknown convention {convention!r}; expected one of {CONVENTIONS}.")
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        total += conv_macs(module, inputs, output, convention)

    counted = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, counted) or callable(getattr(m, "mac_count", None))]
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros(1, 3, *input_hw, dtype=param.dtype, device=param.device), **(forward_kwargs or {}))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


def complexity_report(model: nn.Module, input_hw: Sequence[int] = (512, 1024), convention: str = "exact") -> dict:
    """The numbers every table prints: params, GMACs (MACs / 1e9) for one input, and how they were counted."""
    convention = _plain(convention)
    macs = count_macs(model, input_hw, convention)
    return {
        "params": count_params(model),
        "gmacs": macs / 1e9,
        "macs": macs,
        "input_hw": [int(input_hw[0]), int(input_hw[1])],
        "convention": convention,
    }
