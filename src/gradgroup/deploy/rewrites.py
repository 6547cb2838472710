"""Exact inference rewrites of a deployable ERFNet variant (docs/paper.md section 5: the paper's "5X
runtime" is a FLOPs ratio; these make the measured time follow the MACs more closely).

- BatchNorm folded into the conv before it (Ioffe & Szegedy 2015; the standard inference fold,
  w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta), for Conv2d and
  ConvTranspose2d. The light upsampler's BN follows a bilinear x2 whose weights sum to one, so it commutes
  with the interpolation and folds into the 1x1 conv before it. The downsampler's BN after the concat
  folds into the conv half; the max-pool half keeps a per-channel scale and shift.
- The decoder's final 2x2 stride-2 ConvTranspose2d as a 1x1 conv to 4x the classes plus a pixel shuffle
  (Shi et al., CVPR 2016, sub-pixel convolution): the same sums in the same order per output pixel.
- Optionally a labels output: argmax over the classes of each of the 4 sub-pixels before the shuffle, so
  only a 1-channel label map is written at full resolution (equal to argmax of the logits up to ties).

Every rewrite works on an eval-mode copy; a module kind it does not know (e.g. a block kind registered
by a user) is kept as it is, which is still exact, only not faster. Dropout is the identity at eval.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..models.blocks import DepthwiseSeparableBlock, Downsampler, LightUpsampler, NonBottleneck1D, Upsampler
from ..models.erfnet import Decoder, SegmentationNet


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (scale, shift) of an eval-mode BatchNorm."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


@torch.no_grad()
def fold_bn(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> nn.Module:
    """A copy of `conv` that computes bn(conv(x)) (eval-mode BN), with a bias."""
    scale, shift = _bn_affine(bn)
    fused = copy.deepcopy(conv)
    w = fused.weight
    if isinstance(conv, nn.ConvTranspose2d):  # weight [in, out/groups, kh, kw]: out channels on dim 1
        g, per = conv.groups, conv.out_channels // conv.groups
        w.copy_((w.view(g, -1, per, *w.shape[2:]) * scale.view(g, 1, per, 1, 1)).view_as(w))
    else:  # weight [out, in/groups, kh, kw]
        w.mul_(scale.view(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    fused.bias = nn.Parameter(bias * scale + shift)
    return fused


class FusedNonBottleneck1D(nn.Module):
    """Non-bt-1D with bn1 and bn2 folded into the 1x3 convs before them."""

    def __init__(self, block: NonBottleneck1D):
        super().__init__()
        self.conv3x1_1, self.conv3x1_2 = copy.deepcopy(block.conv3x1_1), copy.deepcopy(block.conv3x1_2)
        self.conv1x3_1 = fold_bn(block.conv1x3_1, block.bn1)
        self.conv1x3_2 = fold_bn(block.conv1x3_2, block.bn2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv1x3_1(F.relu(self.conv3x1_1(x))))
        out = self.conv1x3_2(F.relu(self.conv3x1_2(out)))
        return F.relu(out + x)


class FusedSeparable(nn.Module):
    """Blocks D / DGC / DGCS with each of the four BNs folded into its conv; the shuffle stays."""

    def __init__(self, block: DepthwiseSeparableBlock):
        super().__init__()
        self.dw1, self.pw1 = fold_bn(block.dw1, block.bn1), fold_bn(block.pw1, block.bn2)
        self.shuffle = copy.deepcopy(block.shuffle)
        self.dw2, self.pw2 = fold_bn(block.dw2, block.bn3), fold_bn(block.pw2, block.bn4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.shuffle(self.pw1(F.relu(self.dw1(x))))
        out = self.pw2(F.relu(self.dw2(out)))
        return F.relu(out + x)


class FusedDownsampler(nn.Module):
    """ERFNet's downsampler: BN folded into the conv; the pooled channels keep a scale and shift (the
    scale may be negative, so it cannot move before the max), written as a depthwise 1x1 conv so ONNX
    Runtime keeps the whole block, and the residual blocks after it, in its blocked NCHWc layout (a
    per-channel Mul/Add would drop every following block back to NCHW, with a layout reorder each)."""

    def __init__(self, block: Downsampler):
        super().__init__()
        n_conv, n_pool = block.conv.out_channels, block.bn.num_features - block.conv.out_channels
        scale, shift = _bn_affine(block.bn)
        sub = nn.BatchNorm2d(n_conv, eps=block.bn.eps)
        sub.load_state_dict({k: v[:n_conv] if v.dim() else v for k, v in block.bn.state_dict().items()})
        self.conv = fold_bn(block.conv, sub.eval())
        self.pool = copy.deepcopy(block.pool)
        self.pool_affine = nn.Conv2d(n_pool, n_pool, 1, groups=n_pool, bias=True)
        with torch.no_grad():
            self.pool_affine.weight.copy_(scale[n_conv:].view(-1, 1, 1, 1))
            self.pool_affine.bias.copy_(shift[n_conv:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(torch.cat([self.conv(x), self.pool_affine(self.pool(x))], 1))


class FusedUpsampler(nn.Module):
    """ERFNet's 3x3 transposed-conv upsampler with its BN folded in."""

    def __init__(self, block: Upsampler):
        super().__init__()
        self.conv = fold_bn(block.conv, block.bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class FusedLightUpsampler(nn.Module):
    """The light decoder's 1x1 conv + bilinear x2 with the BN folded into the conv (see module doc)."""

    def __init__(self, block: LightUpsampler):
        super().__init__()
        self.conv = fold_bn(block.conv, block.bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(F.interpolate(self.conv(x), scale_factor=2, mode="bilinear", align_corners=False))


class SubpixelOutput(nn.Module):
    """A k x k stride-k ConvTranspose2d (no padding) as a 1x1 conv to C*k*k channels and a pixel shuffle.

    With `labels`, returns the argmax class map [N, 1, kH, kW] (uint8, so at most 256 classes) instead of the logits: the argmax
    is taken over the C classes of each sub-pixel before the shuffle.
    """

    def __init__(self, deconv: nn.ConvTranspose2d, labels: bool = False):
        super().__init__()
        k = deconv.kernel_size[0]
        if (deconv.kernel_size != (k, k) or deconv.stride != (k, k) or deconv.padding != (0, 0)
                or deconv.output_padding != (0, 0) or deconv.dilation != (1, 1) or deconv.groups != 1):
            raise ValueError(f"SubpixelOutput needs a k x k stride-k ConvTranspose2d without padding, got {deconv}")
        cin, cout = deconv.in_channels, deconv.out_channels
        if labels and cout > 256:
            raise ValueError(f"a labels output holds class ids in uint8: at most 256 classes, got {cout}")
        self.k, self.classes, self.labels = k, cout, labels
        self.conv = nn.Conv2d(cin, cout * k * k, 1, bias=True)
        with torch.no_grad():  # out[o, k*i+a, k*j+b] = sum_c x[c, i, j] * W[c, o, a, b]: channel o*k*k + a*k + b
            self.conv.weight.copy_(deconv.weight.permute(1, 2, 3, 0).reshape(cout * k * k, cin, 1, 1))
            bias = deconv.bias if deconv.bias is not None else torch.zeros(cout)
            self.conv.bias.copy_(bias.repeat_interleave(k * k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.labels:
            return F.pixel_shuffle(self.conv(x), self.k)
        # Labels: the 1x1 conv as a matmul on NHWC features with columns ordered (sub-pixel, class), so
        # the argmax runs over the innermost axis and no 4x-classes tensor is ever reordered (in ONNX
        # Runtime that reorder and the strided argmax cost more than the conv itself).
        n, _, h, w = x.shape
        k, c = self.k, self.classes
        weight = self.conv.weight.view(c, k * k, -1).permute(2, 1, 0).reshape(-1, k * k * c)
        bias = self.conv.bias.view(c, k * k).t().reshape(-1)
        scores = torch.matmul(x.permute(0, 2, 3, 1), weight) + bias  # [N, H, W, k*k*C]
        sub = scores.view(n, h, w, k, k, c).argmax(-1).to(torch.uint8)  # [N, H, W, a, b]
        # uint8: a quarter of int64's bytes at full resolution; N x 1 x kH x kW like the logits' argmax.
        return sub.permute(0, 1, 3, 2, 4).reshape(n, 1, h * k, w * k)


_FUSED = {NonBottleneck1D: FusedNonBottleneck1D, DepthwiseSeparableBlock: FusedSeparable,
          Downsampler: FusedDownsampler, Upsampler: FusedUpsampler, LightUpsampler: FusedLightUpsampler}


def fuse_layer(layer: nn.Module) -> nn.Module:
    """The folded form of one encoder/decoder layer; an unknown kind is kept (eval-mode copy)."""
    fused = _FUSED.get(type(layer))
    return fused(layer) if fused else copy.deepcopy(layer)


class DeployedNet(nn.Module):
    """Encoder and decoder layers in one flat sequence, BNs folded, the sub-pixel output layer last."""

    def __init__(self, model: SegmentationNet, labels: bool = False):
        super().__init__()
        if not isinstance(model, SegmentationNet) or not isinstance(model.decoder, Decoder):
            raise ValueError("rewrite_for_inference needs an encoder-decoder SegmentationNet "
                             "(ModelSpec.deployable().build()), not an encoder-only or foreign model")
        layers = [*model.encoder.layers, *model.decoder.layers]
        self.layers = nn.Sequential(*(fuse_layer(m) for m in layers))
        self.output = SubpixelOutput(model.decoder.output_conv, labels=labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.layers(x))


@torch.no_grad()
def rewrite_for_inference(model: SegmentationNet, labels: bool = False,
                          channels_last: bool = False) -> DeployedNet:
    """The exact inference form of a deployable model (eval mode; the input model is left untouched).

    `labels` returns the class map instead of the logits; `channels_last` stores the weights NHWC
    (feed it NHWC inputs: `x.to(memory_format=torch.channels_last)`) for eager PyTorch's NHWC kernels.
    """
    was_training = model.training
    model.eval()
    try:
        out = DeployedNet(model, labels=labels).eval()
    finally:
        model.train(was_training)
    return out.to(memory_format=torch.channels_last) if channels_last else out
