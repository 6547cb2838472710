"""What the schema cannot type, checked on a composed config before anything is built.

The schema (config/schema.py) rejects wrong types, unknown keys and values outside a closed choice; these
checks hold the rules that span values: epochs are counts >= 1, the seed fits numpy's range, and gradual
grouping comes whole (a gradual encoder and its alpha schedule, both set by `grouping=gradual`); the wandb
logger's open values (log_model, id) are ones wandb takes.
"""
from __future__ import annotations

import os

from omegaconf import DictConfig
from omegaconf.errors import InterpolationValidationError

from ..common.wandb_names import ENV, check_run_id
from ..errors import ConfigError

# trainer.precision values a run accepts (Lightning's names). Mixed precision keeps fp32 master weights,
# so gradual grouping's masks and the exact conversion are unchanged; "-true" half precision would not.
# bf16 on a CPU without bf16 instructions (AVX2) runs non-native kernels: a training step ~3x fp32's (docs/gpu.md).
PRECISIONS = {"32-true": "fp32, the published numbers", "32": "fp32",
              "bf16-mixed": "bf16 autocast: Ampere+ GPUs, CPUs with AVX-512 BF16 or AMX (elsewhere slower than fp32)",
              "16-mixed": "fp16 autocast with a grad scaler: GPUs"}


def check_run_settings(cfg: DictConfig) -> None:
    """Epochs are counts >= 1 (the poly lr schedule and the alpha schedule need an end, so Lightning's
    -1 = "forever" is refused); trainer.precision is one of PRECISIONS; the seed fits numpy's seeding range."""
    epochs = {"trainer.max_epochs": cfg.trainer.get("max_epochs")}
    for key in ("phase1_epochs", "phase2_epochs"):
        if key in cfg.procedure:
            epochs[f"procedure.{key}"] = cfg.procedure[key]
    for key, value in epochs.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key}={value!r} is invalid; expected a whole number of epochs >= 1 (training "
                              "schedules need an end, so -1 for 'no limit' is not supported)")
    precision = str(cfg.trainer.get("precision", "32-true"))
    if precision not in PRECISIONS:
        raise ConfigError(f"trainer.precision={precision!r} is not supported; expected one of: "
                          + "; ".join(f"{k} ({v})" for k, v in PRECISIONS.items() if k != "32"))
    if not 0 <= int(cfg.seed) < 2**32:
        raise ConfigError(f"seed={cfg.seed} is invalid; expected an integer in [0, 2**32)")


def check_gradual_grouping(cfg: DictConfig, has_gradual_convs: bool) -> None:
    """The one check of "a gradual encoder <=> an alpha schedule" (docs/paper.md section 4).

    `has_gradual_convs`: whether the model recipe builds gradual 1x1 convs (`ModelSpec.has_gradual`).
    `grouping=gradual` (and `abrupt`, `cosine`, `fixed_anneal`, built on it) sets both the schedule
    (`grouping.callback`) and the gradual encoder; `none` and `direct_matched` set neither."""
    has_schedule = cfg.grouping.callback is not None
    if has_schedule and not has_gradual_convs:
        raise ConfigError(f"grouping={cfg.get('arm') or 'gradual'}: {cfg.name} has no grouped 1x1 convs to anneal (model.encoder.block="
                          f"{cfg.model.encoder.block}, no dgc/dgcs entry in model.encoder.stages); use an experiment "
                          "with a dgc or dgcs encoder, or grouping=none.")
    if has_gradual_convs and not has_schedule:
        raise ConfigError(f"{cfg.name} builds gradual 1x1 convs (model.encoder.gradual=true) but has no alpha "
                          "schedule (grouping.callback is null): choose grouping=gradual, which sets both, or "
                          "grouping=none to train the grouped convs grouped from the start; "
                          "model.encoder.gradual follows the grouping= choice and is not set by hand.")


def check_wandb_settings(cfg: DictConfig) -> None:
    """`logger.wandb.mode` (WANDB_MODE by default) is a mode; `logger.wandb.log_model` one of Lightning's three;
    an explicit `logger.wandb.id` one wandb takes."""
    wb = cfg.logger.wandb
    try:
        wb.mode
    except InterpolationValidationError:
        raise ConfigError(f"WANDB_MODE={os.environ.get(ENV['mode'])!r} is invalid; expected offline, online or "
                          "disabled (or set logger.wandb.mode, which wins)") from None
    if not (isinstance(wb.log_model, bool) or wb.log_model == "all"):
        raise ConfigError(f"logger.wandb.log_model={wb.log_model!r} is invalid; expected false, true (checkpoints "
                          "uploaded when training ends) or all (every checkpoint as it is saved)")
    if wb.id is not None and not check_run_id(str(wb.id)):
        raise ConfigError(f"logger.wandb.id={wb.id!r} is invalid; expected 1-64 letters, digits, '_', '-' or '.' "
                          "(null derives it from the run dir)")
