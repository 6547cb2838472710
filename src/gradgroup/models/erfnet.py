"""ERFNet and its efficient variants, built from a layer plan (docs/paper.md section 2).

Encoder layers are numbered as in ERFNet: 1 Down(3,16); 2 Down(16,64); 3-7 Non-bt-1D(64);
8 Down(64,128); 9-16 Non-bt-1D(128) with dilations 2,4,8,16,2,4,8,16. A variant replaces the residual
blocks at chosen layer indices by D/DGC/DGCS blocks (or any kind registered in
`gradgroup.models.factory`): all 13 ("starred", Table 1 of the paper), layers 6-7 and 13-16
("selective", Table 2), or any list. Decoders: ERFNet's, or the paper's light decoder.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .blocks import DepthwiseSeparableBlock, Downsampler, LightUpsampler, NonBottleneck1D, Upsampler
from .factory import block_supports_gradual, kind_name, make_block
from .pointwise_init import apply_pointwise_init, check_pointwise_init

# (channels, dilation) of each residual encoder layer, and the dropout per channel width, as in ERFNet's
# reference encoder.
RESIDUAL_LAYERS = {
    **{i: (64, 1) for i in range(3, 8)},
    **{9 + k: (128, d) for k, d in enumerate([2, 4, 8, 16, 2, 4, 8, 16])},
}
ERFNET_DROPOUT = {64: 0.03, 128: 0.3}
PLACEMENTS = {
    "starred": sorted(RESIDUAL_LAYERS),
    "selective": [6, 7, 13, 14, 15, 16],
    "none": [],
}
DECODERS = ("erfnet", "light", "light_all_d")


def resolve_layers(layers: str | Iterable[int]) -> list[int]:
    """Turn a placement name or a list of encoder layer indices into a validated sorted list."""
    if isinstance(layers, str):
        if layers not in PLACEMENTS:
            raise ConfigError(f"model.encoder.layers: unknown placement {kind_name(layers)!r}; expected one of "
                              f"{sorted(PLACEMENTS)} or a list of encoder layer indices from {sorted(RESIDUAL_LAYERS)}.")
        return list(PLACEMENTS[layers])
    try:
        idx = sorted({int(i) for i in layers})
    except (TypeError, ValueError):
        raise ConfigError(f"model.encoder.layers={layers!r} is invalid; expected one of {sorted(PLACEMENTS)} "
                          f"or a list of encoder layer indices from {sorted(RESIDUAL_LAYERS)}.") from None
    bad = [i for i in idx if i not in RESIDUAL_LAYERS]
    if bad:
        raise ConfigError(f"model.encoder.layers: {bad} are not residual encoder layers; "
                          f"valid indices are {sorted(RESIDUAL_LAYERS)} (1, 2 and 8 are downsamplers).")
    return idx


def resolve_dropout(dropout: Sequence[float] | None) -> dict[int, float]:
    """Dropout of the 64- and 128-channel encoder layers: ERFNet's (0.03, 0.3) unless overridden.

    ERFNet's reference itself lowers the 128-channel rate to 0.1 when it pretrains the encoder on
    ImageNet; short runs (the quick preset) likewise need less regularisation than 150 Cityscapes epochs.
    """
    if dropout is None:
        return dict(ERFNET_DROPOUT)
    try:
        d64, d128 = (float(d) for d in dropout)
    except (TypeError, ValueError):
        raise ConfigError(f"model.encoder.dropout={dropout!r} is invalid; expected [p_64ch, p_128ch], "
                          f"e.g. [0.03, 0.3] (ERFNet's), or null") from None
    if not (0 <= d64 < 1 and 0 <= d128 < 1):
        raise ConfigError(f"model.encoder.dropout={dropout!r} is invalid; each probability must be in [0, 1)")
    return {64: d64, 128: d128}


def resolve_stages(stages: Sequence[Mapping] | None) -> dict[int, tuple[str, int]]:
    """{layer: (block kind, groups)} of `model.encoder.stages`, a list of {layers, block, groups} entries
    that each replace a set of encoder layers (a mixed placement, e.g. the search of docs/search.md)."""
    plan: dict[int, tuple[str, int]] = {}
    for i, st in enumerate(stages or []):
        if not isinstance(st, Mapping) or "layers" not in st or "block" not in st or set(st) - {"layers", "block", "groups"}:
            raise ConfigError(f"model.encoder.stages[{i}]={st!r} is invalid; expected {{layers: [...], block: <kind>, "
                              "groups: G}, e.g. {layers: [3, 4, 5, 6, 7], block: dgc, groups: 4}.")
        for idx in resolve_layers(st["layers"]):
            if idx in plan:
                raise ConfigError(f"model.encoder.stages: encoder layer {idx} is named by two stages; "
                                  "each layer may be replaced once.")
            plan[idx] = (kind_name(st["block"]), int(st.get("groups", 1) or 1))
    return plan


def layer_plan(block: str, groups: int, layers: str | Iterable[int], stages: Sequence[Mapping] | None
               ) -> dict[int, tuple[str, int]]:
    """{layer: (block kind, groups)} of every replaced encoder layer: `block`/`groups` at `layers`, plus the
    entries of `stages`; a layer named by both is an error."""
    plan = {idx: (kind_name(block), int(groups)) for idx in resolve_layers(layers)}
    mixed = resolve_stages(stages)
    both = sorted(set(plan) & set(mixed))
    if both:
        raise ConfigError(f"model.encoder: layers {both} are replaced by both model.encoder.layers and "
                          "model.encoder.stages; name each layer in one of them.")
    return {**plan, **mixed}


class Encoder(nn.Module):
    """ERFNet's encoder with the residual blocks at `layers` replaced by `block` blocks.

    `block` is a registered block kind (`gradgroup.models.factory.register_block`); `gradual` builds the
    replaced blocks' grouped 1x1 convs as gradual ones (the other layers stay ERFNet's Non-bt-1D).
    `stages` replaces further layers, each entry its own kind and G (`resolve_stages`); with it, gradual
    grouping anneals the replaced blocks whose kind can and leaves the others (D, Non-bt-1D) as built.

    `head` is the 1x1 classifier used when the encoder is trained alone on labels downsampled by 8
    (ERFNet's first stage and the paper's phase 1); it is not part of the deployed encoder-decoder.
    """

    def __init__(self, block: str = "nonbt1d", groups: int = 1, layers: str | Sequence[int] = "none",
                 gradual: bool = False, num_classes: int = 19, with_head: bool = False,
                 dropout: Sequence[float] | None = None, stages: Sequence[Mapping] | None = None,
                 pointwise_init: str = "default"):
        super().__init__()
        check_pointwise_init(pointwise_init)
        plan = layer_plan(block, groups, layers, stages)
        drops = resolve_dropout(dropout)
        modules: list[nn.Module] = []
        for idx in range(1, 17):
            if idx in (1, 2, 8):
                modules.append(Downsampler(*{1: (3, 16), 2: (16, 64), 8: (64, 128)}[idx]))
                continue
            ch, dil = RESIDUAL_LAYERS[idx]
            kind, g = plan.get(idx, ("nonbt1d", 1))
            # Gradual grouping anneals every replaced block that can (a mixed plan's D blocks stay D).
            anneal = gradual and idx in plan and (block_supports_gradual(kind) or not stages)
            modules.append(make_block(kind, ch, dil, drops[ch], g, anneal, where=f"encoder layer {idx}"))
        self.layers = nn.ModuleList(modules)
        apply_pointwise_init(self.layers, pointwise_init)
        self.head = nn.Conv2d(128, num_classes, 1, bias=True) if with_head else None

    def forward(self, x: torch.Tensor, predict: bool = False) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.head(x) if predict else x


class Decoder(nn.Module):
    """ERFNet's decoder, or the paper's light decoder (docs/paper.md section 2, *derived* reading).

    "light": Up1x1(128,64), D(64), Non-bt-1D(64), Up1x1(64,16), D(16), Non-bt-1D(16), 2x2 deconv; the only
    reading under which the paper's Table 4 counts match. "light_all_d": every decoder block a D block.
    """

    def __init__(self, name: str = "erfnet", num_classes: int = 19):
        super().__init__()
        if name not in DECODERS:
            raise ConfigError(f"model.decoder.name: unknown decoder {kind_name(name)!r}; expected one of {DECODERS}.")
        up = Upsampler if name == "erfnet" else LightUpsampler

        def stage(ch: int) -> list[nn.Module]:
            first = NonBottleneck1D(ch) if name == "erfnet" else DepthwiseSeparableBlock(ch)
            second = DepthwiseSeparableBlock(ch) if name == "light_all_d" else NonBottleneck1D(ch)
            return [first, second]

        self.layers = nn.ModuleList([up(128, 64), *stage(64), up(64, 16), *stage(16)])
        self.output_conv = nn.ConvTranspose2d(16, num_classes, 2, stride=2, padding=0, output_padding=0, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.output_conv(x)


class SegmentationNet(nn.Module):
    """Encoder + decoder; `encoder_only=True` runs the encoder with its 1x1 head (1/8 resolution logits)."""

    def __init__(self, encoder: Encoder, decoder: Decoder | None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor, encoder_only: bool = False) -> torch.Tensor:
        if encoder_only or self.decoder is None:
            return self.encoder(x, predict=True)
        return self.decoder(self.encoder(x))


def build_model(num_classes: int = 19, encoder: dict | None = None, decoder: dict | None = None,
                encoder_only: bool = False) -> SegmentationNet:
    """Build a model from the `model` config group (plain dicts, so tests need no Hydra).

    encoder: {block, groups, layers, gradual, dropout, stages, pointwise_init}; decoder: {name}. `encoder_only` builds phase 1 of the
    paper's procedure: the encoder with its classifier and no decoder.
    """
    encoder = dict(encoder or {})
    decoder = dict(decoder or {})
    known = {"block", "groups", "layers", "gradual", "dropout", "stages", "pointwise_init"}
    unknown = set(encoder) - known
    if unknown:
        raise ConfigError(f"model.encoder: unknown keys {sorted(unknown)}; expected {sorted(known)}.")
    if set(decoder) - {"name"}:
        raise ConfigError(f"model.decoder: unknown keys {sorted(set(decoder) - {'name'})}; expected ['name'].")
    enc = Encoder(num_classes=num_classes, with_head=encoder_only, **encoder)
    dec = None if encoder_only else Decoder(decoder.get("name", "erfnet"), num_classes)
    return SegmentationNet(enc, dec)
