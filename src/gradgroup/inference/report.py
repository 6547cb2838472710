"""The confusion-matrix image of one evaluation, and the label-resolution text printed with its mIoU.

The confusion matrix is row-normalized (each ground-truth class sums to 1), the usual reading of where a
class's pixels go (as cityscapesscripts prints it with `normalized`); counts are in eval.json, which
gradgroup-eval writes with common/atomic.py.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def resolution_text(record: dict) -> str:
    """"full, 2048x1024" style: the setting and the W x H it scored at (printed with every mIoU)."""
    hw = record.get("label_hw") or []
    return f"{record.get('label_resolution')}, {hw[1]}x{hw[0]}" if len(hw) == 2 else str(record.get("label_resolution"))


def plot_confusion(confmat: np.ndarray, class_names, path, title: str) -> Path:
    cm = np.asarray(confmat, dtype=np.float64)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(0.45 * n + 3, 0.45 * n + 2.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=90)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("prediction")
    ax.set_ylabel("ground truth")
    ax.set_title(title, fontsize=9)
    for i in range(n):
        if rows[i, 0] > 0:
            ax.text(i, i, f"{norm[i, i]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if norm[i, i] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the class's GT pixels")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
