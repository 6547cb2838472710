"""The wandb flags of the commands that log a summary run (gradgroup-table, the study's and the search's
report; gradgroup-export's artifact takes the mode only): the same
rule as training's `logger.wandb.*` (docs/wandb.md): a flag wins, else WANDB_MODE / WANDB_PROJECT /
WANDB_ENTITY, else what the sweep's jobs used (their records), else offline / gradgroup / none. The modes
are the schema's (config/schema.py WandbMode), listed once."""
from __future__ import annotations

import argparse

from ..common.wandb_names import ENV, from_env
from ..config.schema import WandbMode
from ..errors import ConfigError

MODES = [m.value for m in WandbMode]


def add_wandb_mode_flag(parser: argparse.ArgumentParser, what: str, out: str) -> None:
    parser.add_argument("--wandb", choices=MODES, default=None,
                        help=f"{what} mode; offline writes under {out}/wandb (default: $WANDB_MODE or offline)")


def add_wandb_flags(parser: argparse.ArgumentParser, out: str) -> None:
    add_wandb_mode_flag(parser, "summary run", out)
    parser.add_argument("--wandb-project", metavar="P", help="the summary run's project (default: the one the "
                        "sweep's runs used, else $WANDB_PROJECT or gradgroup)")
    parser.add_argument("--wandb-entity", metavar="E", help="the summary run's entity (default: the sweep's, "
                        "else $WANDB_ENTITY or your default entity)")


def wandb_mode(args: argparse.Namespace) -> str:
    """--wandb, else WANDB_MODE (checked: a typo must not silently log elsewhere), else offline."""
    mode = args.wandb or from_env("mode")
    if mode not in MODES:
        raise ConfigError(f"{ENV['mode']}={mode!r} is invalid; expected one of {', '.join(MODES)} "
                        "(or pass --wandb, which wins)")
    return mode
