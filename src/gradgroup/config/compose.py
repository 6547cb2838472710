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


def compose_config(overrides: list[str] | None = None, config_name: str = "train"):
    """Compose the project's config outside a Hydra app, as the CLIs would (bench, counts, tests)."""
    from hydra import compose, initialize_config_dir

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides or [])
