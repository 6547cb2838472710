"""The annealed 1x1 conv of gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4; docs/paper.md
section 4).

"A grouped conv is a dense conv whose cross-group weights are zero." `GradualPointwiseConv` keeps a dense
1x1 weight and a fixed block-diagonal mask (contiguous channel groups, laid out exactly as
`nn.Conv2d(groups=G)` lays them out) and computes with the effective weight

    W_eff = W * mask + alpha * W * (1 - mask)

so alpha = 1 is the dense conv and alpha = 0 is the grouped conv. As in CondenseNet (Huang et al., CVPR
2018), the mask and alpha are registered buffers, so checkpoints and resumed runs carry them, and after
training `gradgroup.grouping.convert` turns every such layer into a real `nn.Conv2d(groups=G)`. Unlike
CondenseNet, nothing changes inside `forward()` and there is no global state: the `GradualGrouping`
callback sets alpha explicitly through `set_alpha` from training progress.

Open question of the paper, decided here: cross-group *gradients* are scaled by alpha too. It follows from
the chain rule on W_eff (dL/dW_cross = alpha * dL/dW_eff_cross), so cross-group weights learn more slowly
as they fade out and receive exactly zero gradient once alpha = 0 (weight decay and Adam momentum may
still move them; that is harmless, since they are multiplied by 0 and dropped at conversion).

Speed (the target is a training step within 1.15x of dense D*): alpha = 1 runs a plain dense conv on W,
alpha = 0 runs a real grouped conv on the block-diagonal blocks of W (which also makes cross-group
gradients exactly zero), and only 0 < alpha < 1 pays for the masked product, an elementwise op on a
C x C weight that is negligible next to the conv itself.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .layers import check_groups

# The three ways forward() computes, chosen from alpha by set_alpha. A string (not the float alpha) picks
# the branch so that torch.compile guards on three values instead of recompiling for every alpha.
DENSE, MASKED, GROUPED = "dense", "masked", "grouped"


def block_diagonal_mask(out_ch: int, in_ch: int, groups: int) -> torch.Tensor:
    """[out, in, 1, 1] float mask, 1 where output channel o and input channel i share a group.

    nn.Conv2d(groups=G) feeds output channel o from the input channels of group o // (out/G), a
    contiguous slice of in/G channels; this mask marks exactly those connections.
    """
    out_group = torch.arange(out_ch) // (out_ch // groups)
    in_group = torch.arange(in_ch) // (in_ch // groups)
    return (out_group[:, None] == in_group[None, :]).float()[:, :, None, None]


class GradualPointwiseConv(nn.Module):
    """A bias-free 1x1 conv annealed from dense (alpha = 1) to `groups` groups (alpha = 0).

    Set alpha only through `set_alpha` (or by loading a state_dict): it keeps the `alpha` buffer and the
    branch forward() takes in step, and it lets forward() avoid reading a device tensor on every call.
    """

    kernel_size = (1, 1)
    stride = (1, 1)
    padding = (0, 0)
    dilation = (1, 1)

    def __init__(self, in_channels: int, out_channels: int, groups: int):
        super().__init__()
        check_groups(in_channels, groups, "GradualPointwiseConv in_channels")
        check_groups(out_channels, groups, "GradualPointwiseConv out_channels")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 1, 1))
        # Initialised as the dense conv it starts as (nn.Conv2d's default, fan_in = in_channels).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.register_parameter("bias", None)  # a BN follows; keeps conv-like introspection working
        self.register_buffer("mask", block_diagonal_mask(out_channels, in_channels, groups))
        self.register_buffer("alpha", torch.tensor(1.0))
        self._mode = DENSE

    # ------------------------------------------------------------------ alpha
    def set_alpha(self, value: float) -> None:
        """Set the cross-group scale; 0 <= value <= 1 (1 = dense, 0 = grouped)."""
        value = float(value)
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ConfigError(f"gradual grouping alpha must lie in [0, 1], got {value!r}.")
        with torch.no_grad():
            self.alpha.fill_(value)
        self._mode = self._mode_for(value)

    @staticmethod
    def _mode_for(value: float) -> str:
        return DENSE if value == 1.0 else GROUPED if value == 0.0 else MASKED

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint restores the alpha buffer; re-derive the branch so forward() agrees with it.
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._mode = self._mode_for(float(self.alpha))

    # ------------------------------------------------------------------ weights
    def grouped_weight(self) -> torch.Tensor:
        """The block-diagonal blocks of `weight` in nn.Conv2d(groups=G)'s layout: [out, in/G, 1, 1].

        Differentiable: its backward scatters gradients into the in-group entries only.
        """
        g, og, ig = self.groups, self.out_channels // self.groups, self.in_channels // self.groups
        blocks = torch.diagonal(self.weight.view(g, og, g, ig), dim1=0, dim2=2)  # [og, ig, g]
        return blocks.permute(2, 0, 1).reshape(self.out_channels, ig, 1, 1)

    def effective_weight(self) -> torch.Tensor:
        """The dense weight the layer currently computes with: in-group + alpha * cross-group."""
        if self._mode == DENSE:
            return self.weight
        # mask * (1 - alpha) + alpha is 1 on in-group entries and alpha on cross-group ones; the alpha
        # buffer (not a Python float) keeps this one graph for every alpha under torch.compile.
        return self.weight * (self.mask * (1.0 - self.alpha) + self.alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._mode == GROUPED:
            return F.conv2d(x, self.grouped_weight(), groups=self.groups)
        return F.conv2d(x, self.effective_weight())

    # ------------------------------------------------------------------ complexity
    def macs_for(self, output: torch.Tensor, grouped: bool) -> int:
        """MACs of one call that produced `output`, counted dense or grouped."""
        per_output = self.in_channels // self.groups if grouped else self.in_channels
        return output.numel() * per_output

    def mac_count(self, inputs: tuple, output: torch.Tensor) -> int:
        """Effective MACs for gradgroup.measure.complexity: cross-group weights cost MACs while alpha > 0."""
        return self.macs_for(output, grouped=self._mode == GROUPED)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size=(1, 1), groups={self.groups}, "
                f"alpha={float(self.alpha):.4g}, bias=False")


def gradual_convs(model: nn.Module) -> list[tuple[str, GradualPointwiseConv]]:
    """Every GradualPointwiseConv in `model`, with its qualified name, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, GradualPointwiseConv)]


def set_alpha(model: nn.Module, value: float) -> int:
    """Set alpha on every gradual conv of `model`; returns how many were set."""
    convs = gradual_convs(model)
    for _, conv in convs:
        conv.set_alpha(value)
    return len(convs)
