"""MACs of each top-level layer of an ERFNet variant, so a profile can put time beside work.

The paper counts cost in MACs of conv weights (docs/paper.md section 3); `measure.complexity` owns that
count (exact convention) and this splits it by layer: encoder layers 1-16 as numbered in ERFNet, the
decoder's layers, and the output layer. Where the measured time share of a layer exceeds its MAC share,
that layer holds the speedup back.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .complexity import conv_macs


def named_layers(model: nn.Module) -> dict[str, nn.Module]:
    """{"encoder 1": ..., "decoder 1": ..., "output": ...} of a SegmentationNet or its inference form
    (`deploy.rewrites.DeployedNet`, whose `layers` run encoder then decoder layers in one sequence)."""
    if hasattr(model, "encoder"):
        enc, dec = list(model.encoder.layers), list(model.decoder.layers)
        out = model.decoder.output_conv
    else:
        seq = list(model.layers)
        enc, dec, out = seq[:16], seq[16:], model.output
    return {**{f"encoder {i + 1}": m for i, m in enumerate(enc)},
            **{f"decoder {i + 1}": m for i, m in enumerate(dec)}, "output": out}


def layer_macs(model: nn.Module, input_hw: Sequence[int]) -> dict[str, int]:
    """MACs (exact convention) of each named layer for one image of size input_hw (H, W)."""
    totals: dict[str, int] = {}
    handles = []
    for name, layer in named_layers(model).items():
        totals[name] = 0
        for m in layer.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) or callable(getattr(m, "mac_count", None)):
                def hook(mod, inputs, output, name=name):
                    totals[name] += conv_macs(mod, inputs, output, "exact")
                handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, *input_hw))
    finally:
        for h in handles:
            h.remove()
    return totals
