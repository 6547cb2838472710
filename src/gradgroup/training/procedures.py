"""The paper's two-phase training procedure (Vallurupalli et al., CVPR-W 2018, section 4; Table 4).

Phase 1: the encoder alone, with its own 1x1 classifier, on labels downsampled by 8 (ERFNet's first
stage), under the alpha schedule when its 1x1 convs are gradual; at the end alpha = 0 and the encoder is
converted to real grouped convs. Phase 2: the classifier removed, the decoder attached; the encoder at
lr `procedure.encoder_lr` (5e-20: almost frozen) for `procedure.phase2_frozen_epochs`, then everything
at the base lr. Each phase leaves its own checkpoints and metrics (phase 1 under `<run_dir>/phase1/`,
with `phase1_metrics.json`, so the table command never mistakes it for a finished row).

`procedure.encoder_checkpoint` starts phase 2 from any phase-1 checkpoint (a Lightning `.ckpt` of phase
1, or the `encoder.pt` it saves). The paper's encoders were ImageNet-pretrained; offline, a checkpoint
given here stands in for that, and by default the encoder is trained from scratch in phase 1.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig

from .errors import ConfigError
from .experiment import convert_checked, deploy_kwargs, fit, has_gradual, load_weights, model_kwargs, test_and_summarise
from .models import build_model


def _encoder_state(model: torch.nn.Module) -> dict:
    return {k: v for k, v in model.encoder.state_dict().items() if not k.startswith("head.")}


def run_phase1(cfg: DictConfig, run_dir: Path, datamodule, weights) -> tuple[dict, dict]:
    """Train the encoder alone; return (deployable encoder state, phase-1 summary)."""
    p1_dir = run_dir / "phase1"
    model = build_model(**model_kwargs(cfg, encoder_only=True))
    module, trainer = fit(cfg, p1_dir, model, datamodule, weights, encoder_only=True,
                          max_epochs=cfg.procedure.phase1_epochs, log_suffix="phase1")
    load_weights(module, trainer, "last")
    summary = {"phase": 1, **test_and_summarise(module, trainer, datamodule), "epochs": trainer.current_epoch,
               "label_scale": "1/8", "checkpoint": str(p1_dir / "checkpoints" / "last.ckpt")}
    encoder_model = module.model
    if has_gradual(encoder_model):
        encoder_model, summary["conversion_max_abs_diff"] = convert_checked(encoder_model, datamodule)
    state = _encoder_state(encoder_model)
    torch.save({"state_dict": state, "model_kwargs": deploy_kwargs(cfg)}, p1_dir / "encoder.pt")
    (p1_dir / "phase1_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return state, summary


def load_encoder_checkpoint(cfg: DictConfig, path: str) -> dict:
    """A deployable encoder state from a phase-1 `.ckpt` (gradual or not) or an `encoder.pt`."""
    from .grouping.convert import convert_to_grouped

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"procedure.encoder_checkpoint: {path} does not exist; give a phase-1 checkpoint "
                          f"(<run_dir>/phase1/checkpoints/last.ckpt or <run_dir>/phase1/encoder.pt).")
    blob = torch.load(file, map_location="cpu", weights_only=False)
    state = blob.get("state_dict", blob)
    if any(k.startswith("model.encoder.") for k in state):  # a Lightning checkpoint of phase 1
        model = build_model(**model_kwargs(cfg, encoder_only=True))
        enc = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.encoder.")}
        try:
            model.load_state_dict(enc, strict=True)
        except RuntimeError as err:
            raise ConfigError(f"procedure.encoder_checkpoint: {path} does not fit model.encoder of this "
                              f"experiment ({err.args[0].splitlines()[0]}).") from err
        return _encoder_state(convert_to_grouped(model))
    return {k: v for k, v in state.items() if not k.startswith("head.")}


def run_two_phase(cfg: DictConfig, run_dir: Path, datamodule, weights):
    p = cfg.procedure
    if p.encoder_checkpoint:
        encoder_state, phase1 = load_encoder_checkpoint(cfg, p.encoder_checkpoint), {"source": p.encoder_checkpoint}
    else:
        encoder_state, phase1 = run_phase1(cfg, run_dir, datamodule, weights)
    model = build_model(**deploy_kwargs(cfg))
    try:
        model.encoder.load_state_dict(encoder_state, strict=True)
    except RuntimeError as err:
        raise ConfigError(f"procedure.encoder_checkpoint: the encoder does not fit this experiment's "
                          f"model.encoder ({err.args[0].splitlines()[0]}).") from err
    module, trainer = fit(cfg, run_dir, model, datamodule, weights, max_epochs=p.phase2_epochs,
                          optim={"encoder_lr": p.encoder_lr, "encoder_lr_epochs": p.phase2_frozen_epochs},
                          log_suffix="phase2")
    used = load_weights(module, trainer, cfg.eval.checkpoint)
    extra = {"phase1": phase1, "checkpoint_used": used}
    if "conversion_max_abs_diff" in phase1:
        extra["conversion_max_abs_diff"] = phase1["conversion_max_abs_diff"]
    return module, trainer, extra
