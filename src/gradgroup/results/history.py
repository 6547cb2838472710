"""A run's per-epoch history from its CSV log: validation mIoU and alpha after each epoch.

Every run logs through Lightning's CSV logger into `<run dir>/csv/metrics.csv` (conf/logger/default.yaml;
a resumed run appends, after training/resume.py has cut the file back to the checkpoint's epoch). One
column per metric, one row per logging call, with the epoch in the `epoch` column: `val/miou` at the end of
each validation, `grouping/alpha` at the end of each training epoch (grouping/callback.py: the alpha of
its last batch; absent for models without gradual convs). The run dir is the folder of its metrics.json.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import pandas as pd

from .format import num
from .stats import describe

HISTORY = Path("csv") / "metrics.csv"
VAL_MIOU, ALPHA = "val/miou", "grouping/alpha"


def epoch_history(run: dict) -> pd.DataFrame | None:
    """Per epoch (the index, 1-based: after epoch 1, 2, ...), `val_miou` and `alpha` (NaN where not
    logged) of the run whose record is `run` (from `records.load_runs`, which sets ``_path``); the last
    value logged for an epoch wins. None when the run has no readable history."""
    path = Path(run.get("_path", "")).parent / HISTORY
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    if "epoch" not in df or VAL_MIOU not in df:
        return None
    cols = {VAL_MIOU: "val_miou", ALPHA: "alpha"}
    df = df[["epoch", *[c for c in cols if c in df]]].rename(columns=cols)
    out = df.groupby("epoch").agg(lambda s: s.dropna().iloc[-1] if s.notna().any() else math.nan)
    out.index = out.index.astype(int) + 1
    return out.reindex(columns=["val_miou", "alpha"])


def curves(runs_by_arm: dict) -> dict:
    """{key: DataFrame indexed by epoch with n, mean, ci_low, ci_high of val mIoU over the runs, and the
    mean alpha} for {key: [run records]}; keys without any history are left out."""
    out = {}
    for key, runs in runs_by_arm.items():
        hist = [h for h in map(epoch_history, runs) if h is not None]
        if not hist:
            continue
        per_epoch: dict[int, list] = defaultdict(list)
        alphas: dict[int, list] = defaultdict(list)
        for h in hist:
            for epoch, row in h.iterrows():
                if num(row["val_miou"]) is not None:
                    per_epoch[epoch].append(float(row["val_miou"]))
                if num(row["alpha"]) is not None:
                    alphas[epoch].append(float(row["alpha"]))
        rows = []
        for epoch in sorted(per_epoch):
            a = alphas.get(epoch)
            rows.append({"epoch": epoch, **describe(per_epoch[epoch]), "alpha": sum(a) / len(a) if a else math.nan})
        out[key] = pd.DataFrame(rows).set_index("epoch")
    return out
