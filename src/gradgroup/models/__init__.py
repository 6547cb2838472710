"""ERFNet and its efficient variants (depthwise separable, grouped, grouped+shuffled blocks)."""
from .convs import channel_shuffle, make_pointwise
from .erfnet import Decoder, Encoder, SegmentationNet, build_model

__all__ = ["channel_shuffle", "make_pointwise", "Decoder", "Encoder", "SegmentationNet", "build_model"]
