"""Turn a gradually grouped model into a real grouped one (Vallurupalli et al., CVPR-W 2018, section 4).

"At test time the layer is a real grouped conv (groups=G) with the same outputs." Once alpha = 0 the
cross-group weights of every `GradualPointwiseConv` contribute nothing, so the layer equals
`nn.Conv2d(in, out, 1, groups=G, bias=False)` holding the block-diagonal blocks of its dense weight. As in
CondenseNet's conversion step, the converted model holds only standard torch modules plus gradgroup's
normal blocks: its state_dict loads, strict, into a freshly built non-gradual model of the same
architecture, and its params and MACs are those of the grouped network. The DGCS channel shuffle is a
separate module of the block and is left in place.
"""
from __future__ import annotations

import copy
from typing import Sequence, Union

import torch
from torch import nn

from ..errors import GradgroupError
from ..models.gradual_conv import GradualPointwiseConv, gradual_convs


class NotGroupedYetError(GradgroupError, ValueError):
    """Conversion asked for while some cross-group weights still contribute (alpha != 0)."""


def to_grouped_conv(conv: GradualPointwiseConv) -> nn.Conv2d:
    """The real grouped conv that computes what `conv` computes at alpha = 0 (same device and dtype)."""
    w = conv.weight
    grouped = nn.Conv2d(conv.in_channels, conv.out_channels, 1, groups=conv.groups, bias=False,
                        device=w.device, dtype=w.dtype)
    with torch.no_grad():
        grouped.weight.copy_(conv.grouped_weight())
    grouped.weight.requires_grad_(w.requires_grad)
    grouped.train(conv.training)
    return grouped


def convert_to_grouped(model: nn.Module, force: bool = False) -> nn.Module:
    """A deep copy of `model` with every GradualPointwiseConv replaced by a real grouped conv.

    Refuses (NotGroupedYetError) while any alpha != 0, since dropping the cross-group weights would then
    change the outputs; `force=True` drops them anyway (e.g. to measure a run cut short). A model without
    gradual convs is returned as an unchanged copy, so converting twice is harmless.
    """
    found = gradual_convs(model)
    live = [(name, float(m.alpha)) for name, m in found if float(m.alpha) != 0.0]
    if live and not force:
        name, alpha = live[0]
        raise NotGroupedYetError(
            f"cannot convert to grouped convs: {len(live)} of {len(found)} gradual convs still have alpha != 0 "
            f"(e.g. {name}: alpha={alpha:.4g}), so their cross-group weights still contribute and dropping them "
            "would change the outputs. Train through the fine-tuning epochs (grouping.callback.finetune_epochs > 0) or "
            "pass force=True to drop them anyway.")
    if isinstance(model, GradualPointwiseConv):
        return to_grouped_conv(model)
    converted = copy.deepcopy(model)
    for name, conv in gradual_convs(converted):
        parent_name, _, child = name.rpartition(".")
        parent = converted.get_submodule(parent_name) if parent_name else converted
        setattr(parent, child, to_grouped_conv(conv))  # ModuleList children are set by their index name
    return converted


Inputs = Union[torch.Tensor, Sequence[torch.Tensor]]


def max_abs_output_diff(model_a: nn.Module, model_b: nn.Module, inputs: Inputs) -> float:
    """Largest |a(x) - b(x)| over the outputs of the two models, in eval mode and float32.

    Both models are put in eval mode (BN uses its running statistics, dropout is off) for the comparison
    and returned to their previous modes afterwards. Models not in float32 are compared on float32 copies.
    """
    xs = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    xs = tuple(x.float() for x in xs)
    outputs = []
    for model in (model_a, model_b):
        params = list(model.parameters()) + list(model.buffers())
        if any(t.is_floating_point() and t.dtype != torch.float32 for t in params):
            model = copy.deepcopy(model).float()
        modes = {m: m.training for m in model.modules()}  # restore per module: some may be frozen in eval
        model.eval()
        try:
            with torch.no_grad():
                outputs.append(model(*xs))
        finally:
            for m, training in modes.items():
                m.training = training
    a, b = outputs
    if a.shape != b.shape:
        raise ValueError(f"max_abs_output_diff: output shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}.")
    return float((a.float() - b.float()).abs().max())
