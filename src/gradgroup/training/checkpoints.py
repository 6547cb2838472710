"""Loading weight files a user names or a run recorded, safely; writing them atomically.

Every `.ckpt` / `.pt` is read with `torch.load(weights_only=True)`: tensors and plain containers only, so
a crafted pickle cannot run code. A file that is missing, truncated or not a weights file becomes one
`ConfigError` that names the file, the config key it came from and what it should be. Lightning's own
loading (`trainer.fit(ckpt_path=...)`) goes through `AtomicCheckpointIO.load_checkpoint`, i.e. through
the same function, and its saving through `atomic_write` (common/atomic.py): a full disk or a kill
mid-save leaves the previous checkpoint loadable instead of a truncated one.
"""
from __future__ import annotations

from pathlib import Path

import torch
from lightning_fabric.plugins import TorchCheckpointIO

from ..errors import ConfigError
from ..models.weights_file import load_weights_file
from ..common.atomic import atomic_write

RESUME_EXPECTED = "a Lightning checkpoint this project wrote, e.g. <run_dir>/checkpoints/last.ckpt"


def check_resume_checkpoint(path) -> dict:
    """A `ckpt_path` to resume from, loaded safely before anything is built; it must be a training state."""
    blob = load_weights_file(path, "ckpt_path", RESUME_EXPECTED)
    missing = [k for k in ("state_dict", "loops", "epoch", "global_step") if k not in blob]
    if missing:
        raise ConfigError(f"ckpt_path: {path} is not a training checkpoint (no {', '.join(missing)}); give "
                          f"{RESUME_EXPECTED}. To start from weights only, use procedure.encoder_checkpoint.")
    return blob


def atomic_torch_save(obj, path) -> Path:
    """torch.save through a temp file, fsync and rename (converted.pt, encoder.pt, checkpoints)."""
    return atomic_write(path, lambda f: torch.save(obj, f))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O, saving atomically and loading with weights_only=True, always."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        return load_weights_file(path, "ckpt_path", RESUME_EXPECTED)
