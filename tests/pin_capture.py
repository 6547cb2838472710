"""What tests/fixtures/behaviour_pins.json pins about a training run, captured through the real `train(cfg)`.

Shared by tests/test_behaviour_pins.py (which compares) and tests/fixtures/regen_behaviour_pins.py (which
writes). Nothing here draws from any random generator, so observing a run does not change it.
"""
from __future__ import annotations

import hashlib

import torch

from gradgroup.training.module import SegmentationModule
from gradgroup.training.run import train

STEPS = 2  # the first training steps of the run's first fit (phase 1 of a two-phase run)


def weights_hash(model) -> str:
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def batch_fingerprint(image: torch.Tensor, label: torch.Tensor) -> dict:
    """Labels exactly (integers), images by float64 sum and sum of squares (a pixel's rounding may vary)."""
    img = image.detach().double()
    return {"label_sha": hashlib.sha256(label.detach().contiguous().numpy().tobytes()).hexdigest()[:16],
            "image_sum": float(img.sum()), "image_sq": float((img * img).sum())}


def capture_training(cfg, run_dir, monkeypatch) -> dict:
    """init_hash at the first fit's start; each of the first STEPS steps' batch fingerprint and loss; and
    `update_l1`, the float64 L1 norm of the first optimizer step's change to the weights. Adam's first
    step moves each weight by about lr * sign(gradient), so the norm measures the step (lr, weight decay,
    which weights train) while the rounding of any one gradient hardly moves it."""
    seen = {"batches": [], "losses": []}
    step = SegmentationModule.training_step
    start = {}

    def on_train_start(self):
        seen.setdefault("init_hash", weights_hash(self.model))
        start.setdefault("weights", [p.detach().double().clone() for p in self.model.parameters()])

    def observed_step(self, batch, batch_idx):
        if len(seen["losses"]) == 1:  # the first optimizer step has run
            seen["update_l1"] = float(sum((p.detach().double() - w0).abs().sum()
                                          for p, w0 in zip(self.model.parameters(), start["weights"])))
        loss = step(self, batch, batch_idx)
        if len(seen["losses"]) < STEPS:
            seen["batches"].append(batch_fingerprint(*batch))
            seen["losses"].append(float(loss.detach()))
        return loss

    monkeypatch.setattr(SegmentationModule, "training_step", observed_step)
    monkeypatch.setattr(SegmentationModule, "on_train_start", on_train_start, raising=False)
    train(cfg, run_dir)
    return seen
