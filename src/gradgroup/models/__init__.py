"""ERFNet and its efficient variants (Vallurupalli et al., CVPR-W 2018): depthwise separable (D), grouped
(DGC) and grouped+shuffled (DGCS) blocks, and the gradual 1x1 conv that anneals dense into grouped.

The bottom layer of the package: it imports only torch and `gradgroup.errors`. Layers and blocks are built
by kind name through the registries of `factory`; `ModelSpec` is the recipe the `model` config node makes.
"""
# Modules whose kinds register themselves when imported (models/factory.py): a new block module gets its
# own line here, e.g. `from . import my_block  # noqa: F401 (registers my_block)`.
from . import blocks  # noqa: F401 (registers nonbt1d, d, dgc, dgcs)
from .erfnet import Decoder, Encoder, SegmentationNet, build_model
from .factory import (block_kinds, make_block, make_pointwise, pointwise_kinds, register_block,
                      register_pointwise)
from .gradual_conv import GradualPointwiseConv, block_diagonal_mask, gradual_convs, set_alpha
from .layers import ChannelShuffle, channel_shuffle, check_groups
from .spec import ModelSpec

__all__ = ["ChannelShuffle", "Decoder", "Encoder", "GradualPointwiseConv", "ModelSpec", "SegmentationNet",
           "block_diagonal_mask", "block_kinds", "build_model", "channel_shuffle", "check_groups", "gradual_convs",
           "make_block", "make_pointwise", "pointwise_kinds", "register_block", "register_pointwise", "set_alpha"]
