"""Gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4): anneal dense 1x1 convs into grouped ones.

- `schedules`: `alpha_at` and `AlphaSchedule`, alpha as a pure function of training progress.
- `callback`: `GradualGrouping`, the Lightning callback that sets alpha from the trainer's progress.
- `convert`: `convert_to_grouped`, real `nn.Conv2d(groups=G)` layers once alpha = 0.

The annealed layer itself, `GradualPointwiseConv` (with `set_alpha` and `gradual_convs`), is one more
conv kind of the model factory and lives in `gradgroup.models.gradual_conv`; it is re-exported here so
the whole technique has one entry point.
"""
from ..models.gradual_conv import GradualPointwiseConv, block_diagonal_mask, gradual_convs, set_alpha
from .callback import GradualGrouping
from .convert import NotGroupedYetError, convert_to_grouped, max_abs_output_diff, to_grouped_conv
from .schedules import PERS, SHAPES, AlphaSchedule, alpha_at

__all__ = ["GradualGrouping", "GradualPointwiseConv", "AlphaSchedule", "NotGroupedYetError", "PERS", "SHAPES",
           "alpha_at", "block_diagonal_mask", "convert_to_grouped", "gradual_convs", "max_abs_output_diff",
           "set_alpha", "to_grouped_conv"]

