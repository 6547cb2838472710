"""Reading a weights file a user names or a run recorded: tensors and plain containers, never code.

Every `.ckpt` / `.pt` is read with `torch.load(weights_only=True)`, so a crafted pickle cannot run code.
A file that is missing, truncated or not a weights file becomes one `ConfigError` naming the file, the
config key or argument it came from, and what it should be. Training (resume, phase-1 encoders, the best
checkpoint) and inference (eval, predict, export) both load through this one function, and take the
network's own weights out of a Lightning checkpoint with `network_state`.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from ..errors import ConfigError

LIGHTNING_PREFIX = "model."  # SegmentationModule keeps the network as `self.model`


def load_weights_file(path, key: str, expected: str) -> dict:
    """The dict stored in `path` (weights only); `key` and `expected` go into the error message."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{key}: {file} does not exist; give {expected}.")
    try:
        blob = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError,
            ImportError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{key}: {file} cannot be read as a weights file ({first}); give {expected}. "
                          f"Only tensors and plain containers are loaded, never code.") from None
    if not isinstance(blob, dict):
        raise ConfigError(f"{key}: {file} holds a {type(blob).__name__}, not a checkpoint dict; give {expected}.")
    return blob


def network_state(state_dict: dict, prefix: str = LIGHTNING_PREFIX) -> dict:
    """The network's weights in a Lightning checkpoint's `state_dict`: its `model.*` keys, prefix removed
    (metric states and anything else the module holds are left out)."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
