"""Shared test helpers: compose the project's Hydra configs the way the CLIs do."""
from __future__ import annotations

from omegaconf import OmegaConf

from gradgroup.config.build import build
from gradgroup.config.compose import CONF_DIR, compose_config
from gradgroup.config.schema import DataConfig, GradualGroupingConfig

compose_cfg = compose_config  # the tests compose exactly as the CLIs do


def datamodule(progress: bool = False, **settings):
    """A CityscapesDataModule built as the `data` node builds it: the schema's defaults (config/schema.py
    DataConfig), `settings` changed (checked by the schema like command-line overrides)."""
    return build(OmegaConf.merge(OmegaConf.structured(DataConfig), settings), progress=progress)


def gradual_callback(**settings):
    """A GradualGrouping built as `grouping=gradual` builds it: the schema's defaults (GradualGroupingConfig),
    `settings` changed. `decay_epochs` replaces the default decay_fraction (as grouping.callback.decay_epochs=N
    grouping.callback.decay_fraction=null does); outside a run no GMACs are logged unless `input_hw` is given."""
    if "decay_epochs" in settings:
        settings.setdefault("decay_fraction", None)
    settings = {"input_hw": None, "convention": "exact", **settings}
    return build(OmegaConf.merge(OmegaConf.structured(GradualGroupingConfig), settings))


def experiment_names(table: str | None = None) -> list[str]:
    names = sorted(str(p.relative_to(CONF_DIR / "experiment").with_suffix(""))
                   for p in (CONF_DIR / "experiment").rglob("*.yaml"))
    return [n for n in names if table is None or n.startswith(table + "/")]


def run_cli(args: list[str], data_cache, cwd, check: bool = True, timeout: int = 600):
    """Run `python -m <module> args...` as a user would, with the session's generated data cache."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc
