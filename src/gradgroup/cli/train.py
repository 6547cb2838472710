"""`gradgroup-train`: train, test and measure one experiment; write its run dir.

The flow (shared/design.md): compose config -> build model and data (bad input stops here) -> count
params/MACs of the deployable model -> Trainer.fit -> test the best checkpoint on the val split ->
metrics.json. `train(cfg, run_dir)` is a plain function the tests call; `main` is the thin Hydra app.
In a multirun a failed job records its error and lets the sweep go on; a single run exits non-zero.
"""
from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from .config_paths import CONF_DIR, register_resolvers
from .errors import GradgroupError
from .run_record import base_record, write_record

log = logging.getLogger("gradgroup.train")
register_resolvers()


def train(cfg: DictConfig, run_dir: str | Path) -> dict:
    """Run one experiment end to end and return its metrics record (also written to metrics.json)."""
    from . import experiment  # heavy imports (torch, lightning) only when a run really starts

    run_dir = Path(run_dir)
    record = base_record(cfg)
    write_record(run_dir, record)
    OmegaConf.save(cfg, run_dir / "config.yaml")
    start = time.time()
    try:
        record.update(experiment.run(cfg, run_dir), status="ok")
    except BaseException as err:  # KeyboardInterrupt too: the record must say the job did not finish
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
        raise
    finally:
        record["wall_s"] = round(time.time() - start, 2)
        write_record(run_dir, record)
        experiment.finish_wandb(record)
    return record


def _is_multirun() -> bool:
    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        record = train(cfg, run_dir)
    except GradgroupError as err:
        print(f"\nerror: {err}\n(run dir: {run_dir})", file=sys.stderr)
        if _is_multirun():
            return None
        sys.exit(2)
    except Exception:
        if _is_multirun():  # one failing job never stops the sweep; metrics.json says "failed"
            log.error("job failed, sweep continues:\n%s", traceback.format_exc())
            return None
        raise
    print(f"\n{record['label']}: mIoU {record['miou']:.2f}  params {record['params']:,}  "
          f"GMACs {record['gmacs']:.3f} ({record['gmacs_convention']})  -> {run_dir}/metrics.json")
    return record["miou"]


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
