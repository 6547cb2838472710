"""Small layers shared by the ERFNet variants: ShuffleNet's channel shuffle and the group-count check.

The paper (Vallurupalli et al., CVPR-W 2018, section 3; docs/paper.md section 1) varies only the 1x1
pointwise convs of a depthwise separable block: dense ("D"), grouped ("DGC") or grouped followed by a
ShuffleNet channel shuffle ("DGCS"). The convs themselves are built by name in `gradgroup.models.factory`.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError


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
