"""Which file of a run dir stands for its weights, read from the dir itself (issue 19: a run dir stands
alone, so a moved or copied one never reaches back to where it was trained)."""
from __future__ import annotations

from pathlib import Path

CHECKPOINTS = "checkpoints"  # a run dir's weights: best.ckpt, last.ckpt, converted.pt (a gradual run's)
LAST = "last"                # ModelCheckpoint's filename for the state after every epoch (training/fitter.py)


def checkpoints_dir(run_dir) -> Path:
    return Path(run_dir) / CHECKPOINTS


def last_checkpoint(run_dir) -> Path:
    """The Lightning checkpoint of the last finished epoch: what a stopped or cut-off run resumes from."""
    return checkpoints_dir(run_dir) / f"{LAST}.ckpt"


def converted_checkpoint(run_dir) -> Path:
    """A finished gradual run's model converted to real grouped convs (training/procedures.py)."""
    return checkpoints_dir(run_dir) / "converted.pt"


def find_run_dir(path: Path) -> Path | None:
    """The nearest folder at or up to three levels above `path` that holds a run's config.yaml."""
    for d in [path, *list(path.parents)[:3]]:
        if d.is_dir() and (d / "config.yaml").is_file():
            return d
    return None


def own_file(run_dir: Path, recorded) -> Path | None:
    """A path a record names, as a file of `run_dir`: relative paths (records since issue 19) are the
    dir's; an absolute one (older records) is matched by its last parts, never trusted as it is."""
    if not recorded:
        return None
    path = Path(recorded)
    if not path.is_absolute():
        return run_dir / path
    tails = [Path(*path.parts[-k:]) for k in (2, 1) if len(path.parts) > k]  # checkpoints/best.ckpt, best.ckpt
    return next((run_dir / t for t in tails if (run_dir / t).is_file()), None)


def run_weights(run_dir: Path, record: dict) -> Path | None:
    """The weights a run dir's test used, from the dir itself: checkpoints/converted.pt (a gradual run's
    deployable model), else the checkpoint its record says it tested, else checkpoints/last.ckpt."""
    candidates = [converted_checkpoint(run_dir), own_file(run_dir, record.get("checkpoint_used")),
                  last_checkpoint(run_dir)]
    return next((c for c in candidates if c is not None and c.is_file()), None)
