"""Weights -> a predictor: normalized images [N,3,H,W] in, logits [N,C,h,w] out, on PyTorch or onnxruntime.

Sources (see the eval/predict CLIs): a Lightning checkpoint of a run (its `state_dict` under `model.`,
the network rebuilt from the run's model recipe), a `converted.pt` (`model_kwargs` + `state_dict`, the
deployable grouped network of gradual grouping, docs/paper.md section 4), or an exported ONNX model
(input "image" float32 NCHW normalized, dynamic batch; output "logits" [N,19,H,W]). Weights are read
with `torch.load(weights_only=True)` only, so a file handed in cannot run code.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..common.run_files import converted_checkpoint, last_checkpoint
from ..errors import ConfigError
from ..models import ModelSpec
from ..models.weights_file import load_weights_file, network_state

_EXPECTED = "a run dir, a Lightning .ckpt of a run, a converted.pt or an exported .onnx"


def _load_strict(model: torch.nn.Module, state: dict) -> str | None:
    """None when `state` fits `model` exactly, else the first line of the mismatch."""
    try:
        model.load_state_dict(state, strict=True)
        return None
    except RuntimeError as err:
        return err.args[0].splitlines()[0] + " " + " ".join(err.args[0].splitlines()[1:2])


def model_from_lightning(path: Path, spec_kwargs: dict) -> torch.nn.Module:
    """The network of a run's Lightning checkpoint: the training recipe (gradual convs masked) or, for a
    phase-2 or converted fit, the deployable one, whichever the state_dict fits exactly."""
    blob = load_weights_file(path, "SOURCE", _EXPECTED)
    state = network_state(blob.get("state_dict", {}))
    if not state:
        raise ConfigError(f"SOURCE: {path} has no model weights (no 'model.*' keys in its state_dict); give {_EXPECTED}.")
    spec = ModelSpec(**spec_kwargs)
    problems = []
    for candidate in (spec, spec.deployable()):
        model = candidate.build()
        problem = _load_strict(model, state)
        if problem is None:
            return model
        problems.append(problem)
    raise ConfigError(f"SOURCE: {path} does not fit the model recipe of its run's config.yaml ({problems[0]}); "
                      "is it a phase-1 (encoder-only) checkpoint? Give the run dir or its checkpoints/last.ckpt.")


def model_from_converted(path: Path) -> tuple[torch.nn.Module, dict]:
    """The deployable network of a converted.pt (or any {'model_kwargs', 'state_dict'} file) and its kwargs."""
    blob = load_weights_file(path, "SOURCE", _EXPECTED)
    if "model_kwargs" not in blob or "state_dict" not in blob:
        raise ConfigError(f"SOURCE: {path} has no 'model_kwargs'/'state_dict'; a .pt source must be a converted.pt "
                          f"as training writes it; give {_EXPECTED}.")
    spec = ModelSpec(**blob["model_kwargs"])
    model = spec.build()
    problem = _load_strict(model, blob["state_dict"])
    if problem is not None:
        raise ConfigError(f"SOURCE: {path}: its state_dict does not fit its own model_kwargs ({problem}).")
    return model, spec.kwargs()


def deployable_from_run(run_dir: Path, spec: ModelSpec) -> tuple[torch.nn.Module, Path]:
    """The deployable network of a run (`spec`: its model recipe) with the run's trained weights, in eval
    mode, and the file they came from: checkpoints/converted.pt, else checkpoints/last.ckpt (not for a
    gradual model, whose deployable form only the conversion makes)."""
    converted, last = converted_checkpoint(run_dir), last_checkpoint(run_dir)
    model = spec.deployable().build()
    if converted.is_file():
        blob = load_weights_file(converted, "RUN_DIR", "the converted.pt a finished gradual run writes")
        state, source = blob.get("state_dict", {}), converted
    elif last.is_file() and not spec.has_gradual:
        blob = load_weights_file(last, "RUN_DIR", "the last.ckpt Lightning writes")
        state, source = network_state(blob.get("state_dict", {})), last
    else:
        need = "checkpoints/converted.pt (a gradual run writes it when it finishes)" if spec.has_gradual \
            else "checkpoints/converted.pt or checkpoints/last.ckpt"
        raise ConfigError(f"{run_dir} has no checkpoint to export: expected {need}; train to the end first "
                          "(gradgroup-train), or export random weights with experiment=NAME")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(f"{source} does not hold the weights of {run_dir}'s deployable model "
                          f"(missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]}); is it this run's?")
    return model.eval(), source


class TorchPredictor:
    """A network in eval mode on `device`; returns float32 logits on the CPU."""

    backend = "torch"

    def __init__(self, model: torch.nn.Module, device: str = "cpu"):
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.to(self.device, non_blocking=True)).float().cpu()
