"""How a network is trained: the standard procedure and the paper's two-phase one (docs/paper.md section 4).

Procedures are classes built from the `procedure` config node; `run` receives objects (the model recipe,
a `Fitter` bound to the datamodule, trainer, loggers and callbacks) and never reads a config.

- `StandardProcedure`: the whole network at once (Tables 3 and 5, from scratch); with `grouping=gradual`
  the GradualGrouping callback anneals the grouped 1x1 convs meanwhile, and the trained model is then
  converted to real grouped convs (saved as checkpoints/converted.pt).
- `TwoPhaseProcedure`: phase 1 trains the encoder alone, with its own 1x1 classifier, on labels
  downsampled by 8 (ERFNet's first stage), under the alpha schedule when its 1x1 convs are gradual; at
  the end alpha = 0 and the encoder is converted. Phase 2 removes the classifier, attaches the decoder,
  keeps the encoder at `encoder_lr` (5e-20: almost frozen) for `phase2_frozen_epochs`, then trains all at
  the base lr. Phase 1 leaves its checkpoints and `phase1_metrics.json` under `<run_dir>/phase1/` (so the
  results table never mistakes it for a finished row). `encoder_checkpoint` starts phase 2 from any
  phase-1 checkpoint (a Lightning `.ckpt` of phase 1, or its `encoder.pt`): offline it stands in for the
  paper's ImageNet-pretrained encoder.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import ConfigError
from ..grouping.convert import convert_to_grouped
from ..models import ModelSpec
from ..models.weights_file import load_weights_file, network_state
from ..common.atomic import atomic_write_text
from ..common.run_files import converted_checkpoint, last_checkpoint
from .checkpoints import atomic_torch_save
from ..jobs.ranks import is_rank_zero
from .fitter import Fitter, convert_checked, test_and_summarise
from ..common.records import portable


class StandardProcedure:
    def __init__(self, checkpoint: str = "last"):
        self.checkpoint = str(checkpoint)

    def run(self, spec: ModelSpec, fitter: Fitter, run_dir: Path, ckpt_path: str | None = None):
        """Train, pick the weights to test, convert gradual convs; returns (module, trainer, extra record)."""
        module, trainer = fitter.fit(spec.build(), run_dir, ckpt_path=ckpt_path)
        extra = {"checkpoint_used": fitter.load_weights(module, trainer, self.checkpoint)}
        if spec.has_gradual:
            extra.update(convert_for_deployment(module, fitter, run_dir, spec))
        return module, trainer, extra


def convert_for_deployment(module, fitter: Fitter, run_dir: Path, spec: ModelSpec) -> dict:
    """Convert the trained model in place of the masked one; save a checkpoint without masked classes."""
    module.model, diff = convert_checked(module.model, fitter.datamodule)
    path = converted_checkpoint(run_dir)
    if is_rank_zero():  # under DDP every rank converts the same weights; one writes them
        atomic_torch_save({"model_kwargs": spec.deployable().kwargs(), "state_dict": module.model.state_dict()}, path)
    return {"conversion_max_abs_diff": diff, "converted_checkpoint": str(path)}


def _encoder_state(model: torch.nn.Module) -> dict:
    return {k: v for k, v in model.encoder.state_dict().items() if not k.startswith("head.")}


class TwoPhaseProcedure:
    def __init__(self, checkpoint: str = "last", phase1_epochs: int = 10, phase2_epochs: int = 10,
                 phase2_frozen_epochs: int = 1, encoder_lr: float = 5e-20, encoder_checkpoint: str | None = None):
        self.checkpoint = str(checkpoint)
        self.phase1_epochs, self.phase2_epochs = int(phase1_epochs), int(phase2_epochs)
        self.phase2_frozen_epochs, self.encoder_lr = int(phase2_frozen_epochs), float(encoder_lr)
        self.encoder_checkpoint = encoder_checkpoint

    def run(self, spec: ModelSpec, fitter: Fitter, run_dir: Path, ckpt_path: str | None = None):
        if ckpt_path:
            raise ConfigError("ckpt_path resumes the standard procedure only; a two-phase run restarts phase 2 "
                              "from its phase-1 checkpoint: procedure.encoder_checkpoint=<run_dir>/phase1/encoder.pt")
        if self.encoder_checkpoint:
            encoder_state = self.load_encoder_checkpoint(spec, self.encoder_checkpoint)
            phase1 = {"source": self.encoder_checkpoint}
        else:
            encoder_state, phase1 = self.run_phase1(spec, fitter, run_dir)
        model = spec.deployable().build()
        try:
            model.encoder.load_state_dict(encoder_state, strict=True)
        except RuntimeError as err:
            raise ConfigError(f"procedure.encoder_checkpoint: the encoder does not fit this experiment's "
                              f"model.encoder ({err.args[0].splitlines()[0]}).") from err
        module, trainer = fitter.fit(model, run_dir, max_epochs=self.phase2_epochs, log_suffix="phase2",
                                     optim={"encoder_lr": self.encoder_lr,
                                            "encoder_lr_epochs": self.phase2_frozen_epochs})
        extra = {"phase1": phase1, "checkpoint_used": fitter.load_weights(module, trainer, self.checkpoint)}
        if "conversion_max_abs_diff" in phase1:
            extra["conversion_max_abs_diff"] = phase1["conversion_max_abs_diff"]
        return module, trainer, extra

    def run_phase1(self, spec: ModelSpec, fitter: Fitter, run_dir: Path) -> tuple[dict, dict]:
        """Train the encoder alone; return (deployable encoder state, phase-1 summary)."""
        p1_dir = run_dir / "phase1"
        module, trainer = fitter.fit(spec.build(encoder_only=True), p1_dir, encoder_only=True,
                                     max_epochs=self.phase1_epochs, log_suffix="phase1")
        fitter.load_weights(module, trainer, "last")
        summary = {"phase": 1, **test_and_summarise(module, trainer, fitter.datamodule),
                   "epochs": trainer.current_epoch, "label_scale": "1/8",
                   "checkpoint": str(last_checkpoint(p1_dir))}
        encoder_model = module.model
        if spec.has_gradual:
            encoder_model, summary["conversion_max_abs_diff"] = convert_checked(encoder_model, fitter.datamodule)
        state = _encoder_state(encoder_model)
        if is_rank_zero():
            atomic_torch_save({"state_dict": state, "model_kwargs": spec.deployable().kwargs()}, p1_dir / "encoder.pt")
            atomic_write_text(p1_dir / "phase1_metrics.json", json.dumps(portable(summary, p1_dir), indent=2) + "\n")
        return state, summary

    @staticmethod
    def load_encoder_checkpoint(spec: ModelSpec, path: str) -> dict:
        """A deployable encoder state from a phase-1 `.ckpt` (gradual or not) or an `encoder.pt`."""
        blob = load_weights_file(path, "procedure.encoder_checkpoint",
                                 "a phase-1 checkpoint (<run_dir>/phase1/checkpoints/last.ckpt or "
                                 "<run_dir>/phase1/encoder.pt)")
        state = blob.get("state_dict", blob)
        if any(k.startswith("model.encoder.") for k in state):  # a Lightning checkpoint of phase 1
            model = spec.build(encoder_only=True)
            enc = {k: v for k, v in network_state(state).items() if k.startswith("encoder.")}
            try:
                model.load_state_dict(enc, strict=True)
            except RuntimeError as err:
                raise ConfigError(f"procedure.encoder_checkpoint: {path} does not fit model.encoder of this "
                                  f"experiment ({err.args[0].splitlines()[0]}).") from err
            return _encoder_state(convert_to_grouped(model))
        return {k: v for k, v in state.items() if not k.startswith("head.")}
