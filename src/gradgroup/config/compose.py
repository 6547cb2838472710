"""Where the Hydra configs live, the resolvers they use, and composing them outside a Hydra app.

conf/ sits at the repository root (the package is installed editable, so it is found relative to this
file); GRADGROUP_CONF_DIR points elsewhere for other installs. `compose_config` composes exactly as the
`@hydra.main` apps do (the structured schema included, `${hydra:...}` resolvable), for the light CLIs
and the tests.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from .schema import register

REPO_ROOT = Path(__file__).resolve().parents[3]
CONF_DIR = Path(os.environ.get("GRADGROUP_CONF_DIR", REPO_ROOT / "conf")).resolve()


def path_safe(text: str) -> str:
    """A name usable in a directory name: 'table3/dg4' -> 'table3-dg4'."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "-", str(text)).strip("-") or "run"


def choice_or(choice, default: str) -> str:
    """A config group's choice (e.g. the experiment), or `default` when none was chosen."""
    return default if choice in (None, "", "null", "None") else str(choice)


def register_resolvers() -> None:
    """Resolvers and the structured schema; called by every entry point before Hydra composes."""
    register()
    for name, fn in (("path_safe", path_safe), ("choice_or", choice_or)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def experiment_names(groups) -> list[str]:
    """The experiments of each group (its conf/experiment/<group>/*.yaml files, e.g. "table3"), in order."""
    return [f"{g}/{p.stem}" for g in groups for p in sorted((CONF_DIR / "experiment" / g).glob("*.yaml"))]


def compose_config(overrides: list[str] | None = None, config_name: str = "train"):
    """Compose the project's config as the CLIs would; `${hydra:...}` interpolations resolve."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides or [], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg
