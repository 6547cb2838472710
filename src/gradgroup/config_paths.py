"""Where the Hydra configs live, and the resolvers they use.

conf/ sits at the repository root (the project's fixed layout); the package is installed editable, so
it is found relative to this file. GRADGROUP_CONF_DIR points elsewhere for other installs.
"""
from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from .run_record import path_safe

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = Path(os.environ.get("GRADGROUP_CONF_DIR", REPO_ROOT / "conf")).resolve()


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("path_safe"):
        OmegaConf.register_new_resolver("path_safe", path_safe)
