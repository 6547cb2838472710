"""The building blocks of ERFNet (Romera et al., T-ITS 2018) and of its efficient variants
(Vallurupalli et al., CVPR-W 2018, section 3; see docs/paper.md section 1).

- `NonBottleneck1D`: ERFNet's factorised residual block (3x1, 1x3, dilated 3x1, dilated 1x3; convs with bias).
- `DepthwiseSeparableBlock`: the paper's "conv-module". With dense 1x1 convs it is block D; with grouped
  1x1 convs DGC; with a channel shuffle after the first grouped 1x1 DGCS. Its convs have no bias and it
  has four BNs, which is the only reading under which the paper's parameter counts match exactly.
- `Downsampler`, `Upsampler`: ERFNet's; `LightUpsampler`: the paper's "1x1 upsampling" for the light decoder.

BN eps is 1e-3 as in ERFNet's reference code. The encoder's block kinds (nonbt1d, d, dgc, dgcs) are
registered at the end of this file in `gradgroup.models.factory`'s block registry.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .factory import make_pointwise, register_block
from .layers import ChannelShuffle

BN_EPS = 1e-3


class Downsampler(nn.Module):
    """3x3 stride-2 conv to (out - in) channels, concatenated with a 2x2 max-pool of the input, BN, ReLU."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch - in_ch, 3, stride=2, padding=1, bias=True)
        self.pool = nn.MaxPool2d(2, stride=2)
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))


class NonBottleneck1D(nn.Module):
    """ERFNet's Non-bt-1D: two factorised 3x3 convs (the second dilated), BN, dropout, residual."""

    def __init__(self, channels: int, dilation: int = 1, dropout: float = 0.0):
        super().__init__()
        c, d = channels, dilation
        self.conv3x1_1 = nn.Conv2d(c, c, (3, 1), padding=(1, 0), bias=True)
        self.conv1x3_1 = nn.Conv2d(c, c, (1, 3), padding=(0, 1), bias=True)
        self.bn1 = nn.BatchNorm2d(c, eps=BN_EPS)
        self.conv3x1_2 = nn.Conv2d(c, c, (3, 1), padding=(d, 0), dilation=(d, 1), bias=True)
        self.conv1x3_2 = nn.Conv2d(c, c, (1, 3), padding=(0, d), dilation=(1, d), bias=True)
        self.bn2 = nn.BatchNorm2d(c, eps=BN_EPS)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv3x1_1(x))
        out = F.relu(self.bn1(self.conv1x3_1(out)))
        out = F.relu(self.conv3x1_2(out))
        out = self.dropout(self.bn2(self.conv1x3_2(out)))
        return F.relu(out + x)


class DepthwiseSeparableBlock(nn.Module):
    """Blocks D / DGC / DGCS: dw3x3-BN-ReLU-pw1x1-BN-[shuffle]-dw3x3(dilated)-BN-ReLU-pw1x1-BN, residual.

    `pointwise` is a conv-factory kind ("dense", "group", "group_shuffle", "gradual"); `shuffle` inserts
    ShuffleNet's channel shuffle after the first 1x1 (the paper's DGCS). Depthwise convs are never grouped
    further. Dropout follows ERFNet's per-stage rate (the paper is silent; it adds no params or MACs).
    """

    def __init__(self, channels: int, dilation: int = 1, dropout: float = 0.0, pointwise: str = "dense",
                 groups: int = 1, shuffle: bool = False, where: str = "block"):
        super().__init__()
        c, d = channels, dilation
        self.groups = groups if pointwise != "dense" else 1
        self.dw1 = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.bn1 = nn.BatchNorm2d(c, eps=BN_EPS)
        self.pw1 = make_pointwise(pointwise, c, c, groups, where=f"{where}.pw1")
        self.bn2 = nn.BatchNorm2d(c, eps=BN_EPS)
        self.shuffle = ChannelShuffle(groups) if shuffle and self.groups > 1 else nn.Identity()
        self.dw2 = nn.Conv2d(c, c, 3, padding=d, dilation=d, groups=c, bias=False)
        self.bn3 = nn.BatchNorm2d(c, eps=BN_EPS)
        self.pw2 = make_pointwise(pointwise, c, c, groups, where=f"{where}.pw2")
        self.bn4 = nn.BatchNorm2d(c, eps=BN_EPS)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.dw1(x)))
        out = self.shuffle(self.bn2(self.pw1(out)))
        out = F.relu(self.bn3(self.dw2(out)))
        out = self.dropout(self.bn4(self.pw2(out)))
        return F.relu(out + x)


class Upsampler(nn.Module):
    """ERFNet's 3x3 stride-2 transposed conv, BN, ReLU."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1, bias=True)
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class LightUpsampler(nn.Module):
    """The light decoder's "1x1 upsampling": a 1x1 conv and a x2 bilinear upsample, BN, ReLU.

    A 1x1 conv (bias included) commutes with bilinear upsampling, whose weights sum to one, so the conv
    runs at the input resolution: the same outputs for a quarter of the MACs. The complexity counter's
    `paper` convention still counts it at the output resolution, as the paper's numbers do.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 1, bias=True)
        self.conv.paper_output_scale = 2  # see gradgroup.measure.complexity: the paper counts it after the x2
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(self.conv(x), scale_factor=2, mode="bilinear", align_corners=False)
        return F.relu(self.bn(out))


# ---------------------------------------------------------------------------- the encoder's block kinds
@register_block("nonbt1d")
def nonbt1d_block(channels: int, dilation: int, dropout: float, groups: int, gradual: bool, where: str) -> nn.Module:
    """ERFNet's Non-bt-1D; it has no 1x1 convs, so `groups` does not apply."""
    return NonBottleneck1D(channels, dilation, dropout)


def _separable(pointwise: str, shuffle: bool):
    """Builder of a depthwise separable block whose 1x1 convs are `pointwise` ("gradual" if asked)."""
    def build(channels: int, dilation: int, dropout: float, groups: int, gradual: bool, where: str) -> nn.Module:
        kind = "gradual" if gradual else pointwise
        return DepthwiseSeparableBlock(channels, dilation, dropout, kind, groups, shuffle, where=where)
    return build


register_block("d")(_separable("dense", False))
register_block("dgc", gradual=True)(_separable("group", False))
register_block("dgcs", gradual=True)(_separable("group_shuffle", True))
