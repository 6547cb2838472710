"""The one place where third-party console noise is silenced, each filter naming its upstream cause.

What the project itself caused is fixed where it is caused (the `weights_only` line: training/fitter.py
passes it; wandb's `anonymous` warning: training/wandb_run.py starts the run itself, without the
argument Lightning would add; the model summary: off in conf/trainer/default.yaml, replaced by one line
with our params and GMACs). What is left
is other packages talking: filtered here by exact message and module, never by whole category, so a new
warning still shows. `install()` runs at every entry point and inside every job (a joblib/submitit
worker is a fresh process). Light: standard library only, so `--help` stays fast.
"""
from __future__ import annotations

import logging
import os
import warnings

# (message regex matched at the start of the text, category, module regex of the warning's origin).
WARNING_FILTERS: list[tuple[str, type[Warning], str]] = [
    # pytorch_lightning 2.6 utilities/_pytree.py builds torch's LeafSpec, which torch 2.13 deprecates
    # (torch.utils._pytree: "use TreeSpec.is_leaf()"); Lightning's own code, once per fit, nothing we call.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, r"pytorch_lightning\.utilities\._pytree"),
    # Lightning warns that a DataLoader has few workers; inside a joblib worker data.num_workers is 0 on
    # purpose (loky workers cannot start DataLoader processes; data/cityscapes.py says so once).
    (r"The '\w+_dataloader' does not have many workers", UserWarning, r"pytorch_lightning\.trainer\.connectors\.data_connector"),
    # Lightning's checkpoint connector calls SLURMEnvironment.detect() at every fit and test (looking for an
    # HPC-resume checkpoint, pytorch_lightning/trainer/connectors/checkpoint_connector.py), which warns "The
    # `srun` command is available on your system but is not used" wherever SLURM's client is installed. It
    # fires only outside a SLURM task (no SLURM_NTASKS), i.e. when nothing runs under SLURM; under
    # srun/sbatch Lightning detects SLURM without a word (SLURM jobs: hydra/launcher=slurm).
    (r"The `srun` command is available on your system but is not used", UserWarning,
     r"lightning_fabric\.plugins\.environments\.slurm"),
    # ModelCheckpoint warns at every fit whose checkpoint dir holds files. Here that is always a resume in
    # place: a run started afresh moves an earlier attempt's checkpoints to checkpoints.previous/
    # (jobs/lifecycle.py), and best.ckpt / last.ckpt are overwritten, never versioned (training/fitter.py).
    (r"Checkpoint directory .* exists and is not empty", UserWarning, r"pytorch_lightning\.callbacks\.model_checkpoint"),
]

# Lightning's INFO chatter ("GPU available: False", "💡 Tip: ... try installing litlogger", "Seed set to 0",
# "`Trainer.fit` stopped", "limit_val_batches=1 was configured"): status our console lines already give
# (training/console.py). Their warnings (level WARNING and up) still show.
CHATTY_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric")


def install() -> None:
    """Install the filters in this process (idempotent)."""
    # wandb prints ~40 lines per run (banner, run history sparklines, a `wandb sync` hint per job);
    # WANDB_SILENT is its documented switch. One sync hint comes at the end of a sweep instead
    # (cli/sweep_progress.py). A user who set WANDB_SILENT keeps their value.
    os.environ.setdefault("WANDB_SILENT", "true")
    for message, category, module in WARNING_FILTERS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
