"""The ground floor: small helpers every layer may import, so none is written twice.

- `atomic`: files that are the old version or the new one, never half (write, fsync, rename);
- `scores`: the ignore label (255) and per-class IoU, mIoU and pixel accuracy from a confusion matrix,
  the one formula training, evaluation and export share;
- `records`: the name of a run's record (metrics.json) and the one reader of it;
- `duration`: `42s`, `3m05s`, `1h02m` for elapsed times and ETAs;
- `wandb_names`: a wandb run's group, id and name, and the environment defaults (docs/wandb.md).

Imports only the standard library and numpy (tests/test_layering.py holds it to that), and nothing of
the project: every other package may import it. Import the submodule you need; this file imports none.
"""
