"""SOURCE for gradgroup-eval / gradgroup-predict: a run dir, a Lightning .ckpt, a converted.pt or an .onnx.

Resolves the file to load and the run it belongs to (the nearest folder above it holding config.yaml),
and composes the config the data and model are built from: the run's own config.yaml (so an eval sees
the data exactly as the run did) with `key=value` overrides checked against the schema, or, for a file
outside any run, the project's default config with Hydra overrides (e.g. `preset=paper data.root=...`).
A run dir stands for the weights its test used, read from its own files (`run_weights`): a moved or copied
run dir never reaches back to where it was trained.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ..common.records import read_record
from ..common.run_files import find_run_dir, run_weights
from ..config.build import build
from ..config.compose import compose_config, register_resolvers
from ..config.schema import TrainConfig
from ..errors import ConfigError, require_extra
from ..inference.predictor import TorchPredictor, model_from_converted, model_from_lightning

KINDS = {".ckpt": "ckpt", ".pt": "converted", ".onnx": "onnx"}
EXPECTED = "a run dir (with config.yaml), a Lightning .ckpt of a run, a converted.pt or an exported .onnx"


@dataclass
class Source:
    given: Path
    kind: str                      # ckpt | converted | onnx
    weights: Path
    run_dir: Path | None
    record: dict = field(default_factory=dict)   # the run's metrics.json ({} without a run)


def _read_record(run_dir: Path | None) -> dict:
    return (read_record(run_dir) if run_dir else None) or {}


def resolve_source(source: str) -> Source:
    path = Path(source).expanduser().absolute()
    if path.is_dir():
        run_dir = find_run_dir(path) if (path / "config.yaml").is_file() else None
        if run_dir is None:
            raise ConfigError(f"SOURCE: {path} is a folder without config.yaml; give {EXPECTED}.")
        record = _read_record(run_dir)
        weights = run_weights(run_dir, record)
        if weights is None:
            raise ConfigError(f"SOURCE: run dir {run_dir} has no checkpoints/last.ckpt (nor the checkpoint its "
                              "metrics.json names); did the run finish its first epoch?")
        return Source(path, KINDS.get(weights.suffix, "ckpt"), weights, run_dir, record)
    if not path.is_file():
        raise ConfigError(f"SOURCE: {path} does not exist; give {EXPECTED}.")
    if path.suffix not in KINDS:
        raise ConfigError(f"SOURCE: {path} has suffix {path.suffix!r}; give {EXPECTED}.")
    run_dir = find_run_dir(path.parent)
    return Source(path, KINDS[path.suffix], path, run_dir, _read_record(run_dir))


def load_config(src: Source, overrides: list[str], defaults: dict | None = None) -> DictConfig:
    """The run's config.yaml + `key=value` overrides (schema-checked), or the default config + overrides.

    `defaults` ({dotted key: value}) apply unless an override sets the same key."""
    register_resolvers()
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    extra = [f"{k}={v}" for k, v in (defaults or {}).items() if k not in given]
    if src.run_dir is None:
        return compose_config(list(overrides) + extra)
    groups = [o for o in overrides if "." not in o.split("=", 1)[0]]
    if groups:
        raise ConfigError(f"{groups[0]}: a run's own config.yaml is used for {src.run_dir}; override single keys "
                          "(e.g. data.root=/path/to/cityscapes), not config groups or presets.")
    saved = OmegaConf.load(src.run_dir / "config.yaml")
    cfg = OmegaConf.merge(OmegaConf.structured(TrainConfig), saved)
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides) + extra))


def device_name(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available here; use --device cpu.")
    return device


def build_predictor(src: Source, cfg: DictConfig, device: str):
    """(predictor, model kwargs or None): the network of `src` on `device`, or its ONNX session."""
    if src.kind == "onnx":
        require_extra("deploy", f"SOURCE {src.weights.name} (an ONNX file)")
        from ..inference.onnx_predictor import OnnxPredictor  # lazy: onnxruntime loads only for ONNX sources
        return OnnxPredictor(src.weights, device), None
    if src.kind == "converted":
        model, kwargs = model_from_converted(src.weights)
    else:
        if src.run_dir is None:
            raise ConfigError(f"SOURCE: {src.weights} is a Lightning checkpoint outside a run dir; its network is "
                              "described by the run's config.yaml. Give the run dir, or a converted.pt / .onnx.")
        kwargs = build(cfg.model).kwargs()
        model = model_from_lightning(src.weights, kwargs)
    return TorchPredictor(model, device), kwargs
