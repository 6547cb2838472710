"""MACs (and bytes moved) of each op and top-level layer of an ERFNet variant, so a profile can put time
beside work and the roofline (`measure.roofline`) can bound it.

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


BYTES_PER_VALUE = 4  # fp32 activations and weights


def op_costs(model: nn.Module, input_hw: Sequence[int]) -> list[dict]:
    """Every weight-carrying op of one forward pass on one image of size input_hw (H, W), in call order:
    {"layer": named layer, "macs": MACs (exact convention, `measure.complexity.conv_macs`), "bytes": fp32
    bytes the op must move at least once: its input, its output and its weights}."""
    ops: list[dict] = []
    handles = []
    for name, layer in named_layers(model).items():
        for m in layer.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) or callable(getattr(m, "mac_count", None)):
                def hook(mod, inputs, output, name=name):
                    values = inputs[0].numel() + output.numel() + sum(p.numel() for p in mod.parameters())
                    ops.append({"layer": name, "macs": conv_macs(mod, inputs, output, "exact"),
                                "bytes": BYTES_PER_VALUE * values})
                handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, *input_hw))
    finally:
        for h in handles:
            h.remove()
    return ops


def layer_macs(model: nn.Module, input_hw: Sequence[int]) -> dict[str, int]:
    """MACs (exact convention) of each named layer for one image of size input_hw (H, W)."""
    totals = dict.fromkeys(named_layers(model), 0)
    for op in op_costs(model, input_hw):
        totals[op["layer"]] += op["macs"]
    return totals
