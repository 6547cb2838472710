"""`gradgroup-train`: train, test and measure one experiment (or a `-m` sweep of them); write run dirs.

A thin Hydra app around `gradgroup.training.run.train`, which the tests call directly. In a multirun a
failed job records its error in metrics.json and lets the sweep go on; a single run exits non-zero
(status 2 for a user error, with the message naming the key or file).
"""
from __future__ import annotations

import logging
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import to_absolute_path
from omegaconf import DictConfig

from ..config.compose import CONF_DIR, register_resolvers
from ..errors import GradgroupError
from . import quiet
from .report import fail

log = logging.getLogger("gradgroup.train")
register_resolvers()


def _is_multirun() -> bool:
    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False


def _absolute_data_paths(cfg: DictConfig) -> None:
    """Relative data paths mean the directory the run was launched from, even with hydra.job.chdir=true."""
    for key in ("root", "cache_dir"):
        if cfg.data.get(key):
            cfg.data[key] = to_absolute_path(str(cfg.data[key]))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    # Lazy: torch and Lightning load only once a run really starts (`--help` and config errors stay fast).
    from ..training.run import train

    quiet.install()  # here, in the job's own process (joblib/submitit workers too), after Lightning's import
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    _absolute_data_paths(cfg)
    try:
        record = train(cfg, run_dir)
    except GradgroupError as err:
        if _is_multirun():  # one failing job never stops the sweep; metrics.json says "failed"
            log.error("job failed, sweep continues: %s (run dir: %s)", err, run_dir)
            return None
        fail(f"{err}\n(run dir: {run_dir})")
    except Exception:
        if _is_multirun():
            log.error("job failed, sweep continues:\n%s", traceback.format_exc())
            return None
        raise
    return record["miou"]  # train() printed the result line


def main() -> None:
    quiet.install()
    _hydra_main()


if __name__ == "__main__":
    main()
