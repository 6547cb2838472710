"""One small factory for the convolutions that differ between ERFNet variants.

The paper (Vallurupalli et al., CVPR-W 2018, section 3) varies only the 1x1 pointwise convs of a depthwise
separable block: dense ("D"), grouped ("DGC") or grouped followed by a ShuffleNet channel shuffle ("DGCS").
Gradual grouping (section 4) adds a fourth kind: a dense conv whose cross-group weights are scaled by alpha.
Following timm's layer factories, blocks ask `make_pointwise(kind, ...)` for their 1x1 conv by name, so a
config switches the conv kind and no ERFNet subclass exists per variant.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

POINTWISE_KINDS = ("dense", "group", "group_shuffle", "gradual")


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle (Zhang et al. 2018): [N, g*k, H, W] -> interleave the g groups.

    A pure function; shuffling with g and then with C/g restores the original order.
    """
    n, c, h, w = x.shape
    if groups <= 1:
        return x
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ChannelShuffle(nn.Module):
    """Module wrapper of `channel_shuffle`, so the shuffle shows up in `print(model)` and in hooks."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


def check_groups(channels: int, groups: int, where: str) -> None:
    """Raise a ConfigError naming `where` unless `groups` is a positive divisor of `channels`."""
    if not isinstance(groups, int) or groups < 1:
        raise ConfigError(f"{where}: group count must be a positive integer, got {groups!r}.")
    if channels % groups:
        divisors = [g for g in range(1, channels + 1) if channels % g == 0 and g <= 16]
        raise ConfigError(
            f"{where}: group count {groups} does not divide {channels} channels; "
            f"choose one of {divisors} (model.encoder.groups)."
        )


def make_pointwise(kind: str, in_ch: int, out_ch: int, groups: int = 1, where: str = "pointwise conv") -> nn.Module:
    """Build the 1x1 conv of a D/DGC/DGCS block. No bias: a BN follows (paper: params(D,C) = 2C^2 + 26C).

    kind: "dense" (groups ignored), "group" (nn.Conv2d(groups=G)), "group_shuffle" (same conv; the
    block inserts the shuffle, since the paper shuffles only after the first 1x1), "gradual" (a dense conv
    annealed towards groups=G by the GradualGrouping callback).
    """
    if kind == "dense":
        return nn.Conv2d(in_ch, out_ch, 1, bias=False)
    if kind in ("group", "group_shuffle"):
        check_groups(in_ch, groups, where)
        check_groups(out_ch, groups, where)
        return nn.Conv2d(in_ch, out_ch, 1, groups=groups, bias=False)
    if kind == "gradual":
        check_groups(in_ch, groups, where)
        check_groups(out_ch, groups, where)
        from ..grouping.masked_conv import GradualPointwiseConv  # grouping builds on models, not the reverse

        return GradualPointwiseConv(in_ch, out_ch, groups)
    raise ConfigError(f"{where}: unknown pointwise conv kind {kind!r}; expected one of {POINTWISE_KINDS}.")
