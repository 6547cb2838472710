"""The placement search space: which block kind and group count each encoder stage gets, the decoder, and
gradual grouping on or off; one sampled point as the ordinary overrides of a `gradgroup-train` run.

Declared in `hydra.sweeper.space` of sweeps/search.yaml (docs/search.md), e.g.

    kinds: [nonbt1d, d, dgc2, dgc4, dgc8, dgcs2, dgcs4, dgcs8]   # <block><G>: a registered kind, G for grouped ones
    stages: {s4: [3, 4, 5, 6, 7], s8a: [9, 10, 11, 12], s8b: [13, 14, 15, 16]}  # or {layers: [...], kinds: [...]}
    decoder: [erfnet, light]
    gradual: [false, true]

A point becomes `model.encoder.stages=[...]`, `model.decoder.name=...` and `grouping=gradual|none`
(model.encoder.stages is the model's own mixed-placement key, models/erfnet.py), plus `name`, `label`,
`family` and `table`, so every trial is an ordinary run dir whose metrics.json `gradgroup-table` reads.
Gradual grouping only means something with a grouped stage: a point without one is normalised to off.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..models.erfnet import DECODERS, resolve_layers
from ..models.factory import block_kinds, block_supports_gradual
from ..models.layers import check_groups

KEY = "hydra.sweeper.space"
SHORT = {"nonbt1d": "N", "d": "D"}
WORDS = {"nonbt1d": "Non-bt-1D", "d": "D (depthwise separable)", "dgc": "DGC", "dgcs": "DGCS"}


def parse_kind(token: str) -> tuple[str, int]:
    """ "dgc4" -> ("dgc", 4), "d" -> ("d", 1): a registered block kind with its group count appended."""
    token = str(token)
    m = re.fullmatch(r"(.+?)(\d+)", token)
    block, groups = (m.group(1), int(m.group(2))) if m and m.group(1) in block_kinds() else (token, 1)
    if block not in block_kinds():
        raise ConfigError(f"{KEY}.kinds: {token!r} is not <block><G> with a registered block kind "
                          f"({', '.join(block_kinds())}); e.g. dgc4, dgcs2, d, nonbt1d.")
    if groups > 1 and not block_supports_gradual(block):
        raise ConfigError(f"{KEY}.kinds: {token!r}: block {block!r} has no grouped convs; write it without a G.")
    for ch in (64, 128):
        check_groups(ch, groups, f"{KEY}.kinds {token!r}")
    return block, groups


def kind_label(token: str) -> str:
    block, g = parse_kind(token)
    if block in SHORT:
        return SHORT[block]
    return f"DG{g}" + ("S" if block == "dgcs" else "") if block in ("dgc", "dgcs") else f"{block.upper()}{g}"


def kind_words(token: str) -> str:
    block, g = parse_kind(token)
    return WORDS.get(block, block) + (f" G={g}" if g > 1 else "")


def span(layers: Sequence[int]) -> str:
    lo, hi = min(layers), max(layers)
    return f"layers {lo}-{hi}" if list(layers) == list(range(lo, hi + 1)) else "layers " + ",".join(map(str, layers))


@dataclass(frozen=True)
class Stage:
    name: str
    layers: tuple[int, ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Space:
    stages: tuple[Stage, ...]
    decoders: tuple[str, ...]
    gradual: tuple[bool, ...]

    @classmethod
    def from_config(cls, node: Mapping) -> "Space":
        """Check and load a space declaration (plain mapping); a ConfigError names the key to fix."""
        if not isinstance(node, Mapping) or not node.get("stages"):
            raise ConfigError(f"{KEY}: expected {{kinds: [...], stages: {{name: [layers]}}, decoder: [...], "
                              f"gradual: [...]}}, got {node!r} (see sweeps/search.yaml).")
        default_kinds = tuple(str(k) for k in node.get("kinds") or ())
        stages, seen = [], set()
        for name, st in node["stages"].items():
            layers, kinds = (st.get("layers"), st.get("kinds") or default_kinds) if isinstance(st, Mapping) \
                else (st, default_kinds)
            layers = tuple(resolve_layers(layers or []))
            if not layers or seen & set(layers):
                raise ConfigError(f"{KEY}.stages.{name}: needs encoder layers of its own (residual layers "
                                  f"3-7, 9-16, each in one stage); got {list(layers)}.")
            if not kinds:
                raise ConfigError(f"{KEY}.stages.{name}: no kinds to choose from; set {KEY}.kinds.")
            for k in kinds:
                parse_kind(k)
            seen |= set(layers)
            stages.append(Stage(str(name), layers, tuple(map(str, kinds))))
        decoders = tuple(str(d) for d in node.get("decoder") or ("erfnet",))
        bad = [d for d in decoders if d not in DECODERS]
        if bad:
            raise ConfigError(f"{KEY}.decoder: {bad} unknown; expected some of {list(DECODERS)}.")
        gradual = tuple(bool(g) for g in node.get("gradual", (False,)))
        if not gradual:
            raise ConfigError(f"{KEY}.gradual: give [false], [true] or [false, true].")
        return cls(tuple(stages), decoders, gradual)

    def suggest(self, trial) -> "Point":
        """One point from an Optuna trial (categorical parameters `stage.<name>`, `decoder`, `gradual`)."""
        kinds = {s.name: trial.suggest_categorical(f"stage.{s.name}", list(s.kinds)) for s in self.stages}
        decoder = trial.suggest_categorical("decoder", list(self.decoders))
        gradual = trial.suggest_categorical("gradual", list(self.gradual))
        return self.point(kinds, decoder, gradual)

    def point(self, kinds: Mapping[str, str], decoder: str, gradual: bool) -> "Point":
        grouped = any(block_supports_gradual(parse_kind(k)[0]) for k in kinds.values())
        return Point(tuple((s, kinds[s.name]) for s in self.stages), decoder, bool(gradual) and grouped)

    def point_of(self, params: Mapping) -> "Point":
        """The point of a trial's `params` (a resumed or adopted trial)."""
        return self.point({s.name: params[f"stage.{s.name}"] for s in self.stages}, params["decoder"],
                          params["gradual"])

    @property
    def size(self) -> int:
        n = len(self.decoders) * len(self.gradual)
        for s in self.stages:
            n *= len(s.kinds)
        return n


@dataclass(frozen=True)
class Point:
    """One architecture of the space."""

    choices: tuple[tuple[Stage, str], ...]
    decoder: str
    gradual: bool

    @property
    def slug(self) -> str:
        parts = [f"{s.name}-{k}" for s, k in self.choices] + [self.decoder] + (["gg"] if self.gradual else [])
        return "_".join(parts)

    @property
    def label(self) -> str:
        tail = ("+light" if self.decoder != "erfnet" else "") + ("+gg" if self.gradual else "")
        return "|".join(kind_label(k) for _, k in self.choices) + tail

    @property
    def words(self) -> str:
        stages = "; ".join(f"{span(s.layers)}: {kind_words(k)}" for s, k in self.choices)
        return f"{stages}; decoder: {self.decoder}; gradual grouping: {'on' if self.gradual else 'off'}"

    def stages_value(self) -> str:
        """The `model.encoder.stages` override value: one entry per stage not left Non-bt-1D."""
        entries = []
        for s, k in self.choices:
            block, g = parse_kind(k)
            if block != "nonbt1d":
                entries.append(f"{{layers:[{','.join(map(str, s.layers))}],block:{block},groups:{g}}}")
        return "[" + ",".join(entries) + "]"

    def overrides(self) -> list[str]:
        """The `gradgroup-train` overrides of this architecture (seed and preset come from the search)."""
        return [f"name=search/{self.slug}", f"label='{self.label}'", "family=search", "table=search",
                f"model.encoder.stages={self.stages_value()}", f"model.decoder.name={self.decoder}",
                f"grouping={'gradual' if self.gradual else 'none'}"]
