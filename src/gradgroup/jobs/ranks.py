"""Which process of a distributed job writes: global rank 0, known from the launcher's environment before
any Trainer exists (Lightning's subprocess launcher, torchrun, srun)."""
from __future__ import annotations

import os


def is_rank_zero() -> bool:
    """Global rank 0 (or not distributed), from the launcher's environment variables."""
    if "RANK" in os.environ:  # torchrun, and Lightning's own children on multi-node runs
        return int(os.environ["RANK"]) == 0
    if int(os.environ.get("SLURM_NTASKS", 1)) > 1:  # srun starts one task per rank
        return int(os.environ.get("SLURM_PROCID", 0)) == 0
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0
