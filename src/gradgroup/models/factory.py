"""Registries of the layers and blocks that differ between ERFNet variants (timm-style factories).

The paper (Vallurupalli et al., CVPR-W 2018, section 3; docs/paper.md section 1) varies only the 1x1
pointwise convs of a depthwise separable block: dense ("D"), grouped ("DGC") or grouped followed by a
ShuffleNet channel shuffle ("DGCS"); gradual grouping (section 4) adds one more kind, a dense conv whose
cross-group weights are scaled by alpha. Following timm's layer and model registries, a block asks
`make_pointwise(kind, ...)` for its 1x1 convs and the encoder asks `make_block(kind, ...)` for each
residual layer, both by name, so a config switches kinds and no ERFNet subclass exists per variant.

A new kind is one decorated function; the decorator registers it when its module is imported:

    @register_block("my_block")                      # then model.encoder.block=my_block
    def my_block(channels, dilation, dropout, groups, gradual, where):
        return MyBlock(channels, dilation, dropout)  # keeps [N, channels, H, W]

Written in `gradgroup.models.blocks`, nothing else changes. Written in a module of its own,
src/gradgroup/models/my_block.py, it needs one line in src/gradgroup/models/__init__.py, beside
`from . import blocks`: `from . import my_block  # noqa: F401 (registers my_block)`; every way to a
model (the config's `gradgroup.models.ModelSpec`, the factory itself) passes through that file.
The pointwise kinds are registered here; the block kinds (nonbt1d, d, dgc, dgcs) beside their classes in
`gradgroup.models.blocks`. Kinds are looked up by name: a `str`-valued Enum member (a structured
config's closed choice) finds the kind its value names.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, TypeVar

from torch import nn

from ..errors import ConfigError
from .gradual_conv import GradualPointwiseConv
from .layers import check_groups

# (in_ch, out_ch, groups, where) -> a 1x1 conv module; `where` names the layer in error messages.
PointwiseBuilder = Callable[[int, int, int, str], nn.Module]
# (channels, dilation, dropout, groups, gradual, where) -> a residual block keeping [N, channels, H, W].
BlockBuilder = Callable[[int, int, float, int, bool, str], nn.Module]
B = TypeVar("B", bound=Callable)


@dataclass(frozen=True)
class BlockEntry:
    """A registered block kind; `gradual`: it can build its grouped 1x1 convs as gradual ones."""

    build: BlockBuilder
    gradual: bool = False


_POINTWISE: dict[str, PointwiseBuilder] = {}
_BLOCKS: dict[str, BlockEntry] = {}


def kind_name(kind) -> str:
    """The plain name of a kind given as a str or as an Enum member (its value)."""
    return kind.value if isinstance(kind, Enum) else kind


def _add(registry: dict, kind, entry, what: str) -> None:
    name = kind_name(kind)
    if not isinstance(name, str) or not name:
        raise ValueError(f"a {what} kind is a non-empty string, got {kind!r}")
    if name in registry:
        raise ValueError(f"{what} kind {name!r} is already registered")
    registry[str(name)] = entry


def register_pointwise(kind: str) -> Callable[[B], B]:
    """Decorator: register `fn(in_ch, out_ch, groups, where) -> nn.Module` as the 1x1 conv kind `kind`."""
    def deco(fn: B) -> B:
        _add(_POINTWISE, kind, fn, "pointwise conv")
        return fn
    return deco


def register_block(kind: str, *, gradual: bool = False) -> Callable[[B], B]:
    """Decorator: register `fn(channels, dilation, dropout, groups, gradual, where) -> nn.Module` as the
    residual block kind `kind` (model.encoder.block). `gradual=True` declares that the block anneals its
    grouped 1x1 convs when built with `gradual` (model.encoder.gradual); other kinds reject it."""
    def deco(fn: B) -> B:
        _add(_BLOCKS, kind, BlockEntry(fn, gradual), "block")
        return fn
    return deco


def pointwise_kinds() -> tuple[str, ...]:
    """The registered 1x1 conv kinds, in registration order."""
    return tuple(_POINTWISE)


def block_kinds() -> tuple[str, ...]:
    """The registered block kinds, in registration order."""
    return tuple(_BLOCKS)


def block_supports_gradual(kind) -> bool:
    """Whether the registered block kind `kind` anneals its 1x1 convs (False for unknown kinds)."""
    entry = _BLOCKS.get(kind_name(kind)) if isinstance(kind_name(kind), str) else None
    return bool(entry and entry.gradual)


def make_pointwise(kind: str, in_ch: int, out_ch: int, groups: int = 1, where: str = "pointwise conv") -> nn.Module:
    """Build the 1x1 conv of a D/DGC/DGCS block by kind name (see the registered kinds below)."""
    name = kind_name(kind)
    builder = _POINTWISE.get(name) if isinstance(name, str) else None
    if builder is None:
        raise ConfigError(f"{where}: unknown pointwise conv kind {name!r}; expected one of {pointwise_kinds()}.")
    return builder(in_ch, out_ch, groups, where)


def make_block(kind: str, channels: int, dilation: int, dropout: float, groups: int = 1,
               gradual: bool = False, where: str = "block") -> nn.Module:
    """Build one residual encoder block by kind name; `gradual` asks for annealed grouped 1x1 convs."""
    name = kind_name(kind)
    entry = _BLOCKS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ConfigError(f"{where}: unknown block {name!r}; expected one of {sorted(_BLOCKS)} (model.encoder.block).")
    if gradual and not entry.gradual:
        grouped = " or ".join(k for k, e in _BLOCKS.items() if e.gradual)
        raise ConfigError(f"{where}: gradual grouping needs a grouped block ({grouped}), not {name!r} "
                          f"(model.encoder.gradual).")
    return entry.build(channels, dilation, dropout, groups, bool(gradual), where)


# ---------------------------------------------------------------------------- the paper's 1x1 convs
# No bias on any of them: a BN follows (the paper's params(D, C) = 2C^2 + 26C needs exactly that).
@register_pointwise("dense")
def dense_pointwise(in_ch: int, out_ch: int, groups: int, where: str) -> nn.Module:
    """Block D's dense 1x1 conv; `groups` does not apply."""
    return nn.Conv2d(in_ch, out_ch, 1, bias=False)


def _checked(in_ch: int, out_ch: int, groups: int, where: str) -> None:
    check_groups(in_ch, groups, where)
    check_groups(out_ch, groups, where)


@register_pointwise("group_shuffle")  # the same conv: the DGCS block adds the shuffle after its first 1x1
@register_pointwise("group")
def grouped_pointwise(in_ch: int, out_ch: int, groups: int, where: str) -> nn.Module:
    """DGC's and DGCS's grouped 1x1 conv, nn.Conv2d(groups=G)."""
    _checked(in_ch, out_ch, groups, where)
    return nn.Conv2d(in_ch, out_ch, 1, groups=groups, bias=False)


@register_pointwise("gradual")
def gradual_pointwise(in_ch: int, out_ch: int, groups: int, where: str) -> nn.Module:
    """Gradual grouping's 1x1 conv: dense at first, annealed towards groups=G by setting its alpha."""
    _checked(in_ch, out_ch, groups, where)
    return GradualPointwiseConv(in_ch, out_ch, groups)
