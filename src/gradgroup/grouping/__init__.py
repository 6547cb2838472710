"""Gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4): anneal dense 1x1 convs into grouped ones.

- `masked_conv`: `GradualPointwiseConv`, a dense 1x1 conv whose cross-group weights are scaled by alpha.
- `schedules`: `alpha_at` and `AlphaSchedule`, alpha as a pure function of training progress.
- `callback`: `GradualGrouping`, the Lightning callback that sets alpha from the trainer's progress.
- `convert`: `convert_to_grouped`, real `nn.Conv2d(groups=G)` layers once alpha = 0.

The callback is imported lazily, so building a model (which imports `masked_conv`) does not pull in
pytorch_lightning.
"""
from .convert import NotGroupedYetError, convert_to_grouped, max_abs_output_diff, to_grouped_conv
from .masked_conv import GradualPointwiseConv, block_diagonal_mask, gradual_convs, set_alpha
from .schedules import PERS, SHAPES, AlphaSchedule, alpha_at

__all__ = ["GradualGrouping", "GradualPointwiseConv", "AlphaSchedule", "NotGroupedYetError", "PERS", "SHAPES",
           "alpha_at", "block_diagonal_mask", "convert_to_grouped", "gradual_convs", "max_abs_output_diff",
           "set_alpha", "to_grouped_conv"]


def __getattr__(name: str):
    if name == "GradualGrouping":
        from .callback import GradualGrouping

        return GradualGrouping
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
