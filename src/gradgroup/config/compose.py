"""Where the Hydra configs live, the resolvers they use, and composing them outside a Hydra app.

The configs are edited in the repository's top-level conf/ and sweeps/. A checkout (an editable install,
or PYTHONPATH=src) reads them there; a wheel carries the same files as package data, `gradgroup.conf` and
`gradgroup.sweeps` (pyproject.toml, setup.py), and Hydra reads them from its `pkg://` search path.
GRADGROUP_CONF_DIR points at another conf/ for any install. sweeps/ is on every app's search path
(hydra_plugins/gradgroup_configs), so `gradgroup-train --config-name table3` finds a sweep file by its
name; `--config-dir sweeps` still puts a checkout's (or any) sweeps/ first. `compose_config` composes
exactly as the `@hydra.main` apps do (the structured schema included, `${hydra:...}` resolvable), for the
light CLIs and the tests.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from hydra import compose, initialize_config_dir, initialize_config_module
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from .schema import register

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parents[1]  # the checkout, when the package runs from its src/ folder
IN_CHECKOUT = PACKAGE_DIR.parent.name == "src" and (REPO_ROOT / "conf" / "train.yaml").is_file()
CONF_MODULE, SWEEPS_MODULE = "gradgroup.conf", "gradgroup.sweeps"  # a wheel's copies (package data)
_ENV_CONF = os.environ.get("GRADGROUP_CONF_DIR")
if _ENV_CONF:
    CONF_DIR, CONF_ORIGIN = Path(_ENV_CONF).resolve(), "GRADGROUP_CONF_DIR"
elif IN_CHECKOUT:
    CONF_DIR, CONF_ORIGIN = REPO_ROOT / "conf", "checkout"
else:
    CONF_DIR, CONF_ORIGIN = PACKAGE_DIR / "conf", "package"
SWEEPS_DIR = REPO_ROOT / "sweeps" if IN_CHECKOUT else PACKAGE_DIR / "sweeps"
# What Hydra is given: a folder of a checkout, or the package's module (its files live in site-packages).
CONF_SOURCE = f"pkg://{CONF_MODULE}" if CONF_ORIGIN == "package" else str(CONF_DIR)
SWEEPS_SOURCE = f"pkg://{SWEEPS_MODULE}" if not IN_CHECKOUT else f"file://{SWEEPS_DIR}"


def config_source() -> str:
    """One line for `gradgroup-doctor`: where the configs come from."""
    where = {"checkout": "the checkout's conf/", "package": "packaged with gradgroup (pkg://gradgroup.conf)",
             "GRADGROUP_CONF_DIR": "GRADGROUP_CONF_DIR"}[CONF_ORIGIN]
    return f"{where}: {CONF_DIR}; sweeps: {SWEEPS_DIR}"

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
    init = (initialize_config_module(config_module=CONF_MODULE, version_base="1.3") if CONF_ORIGIN == "package"
            else initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"))
    with init:
        cfg = compose(config_name=config_name, overrides=overrides or [], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg
