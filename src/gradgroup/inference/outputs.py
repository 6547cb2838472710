"""Writing predictions as PNGs: Cityscapes labelIds (the benchmark's format), colour masks, overlays.

Naming (one folder per format, so the benchmark's `<city>_<seq>_<frame>*.png` lookup finds exactly one
file per image): `labelIds/<stem>_pred_labelIds.png`, `color/<stem>_pred_color.png`,
`overlay/<stem>_pred_overlay.png`, where <stem> is the input's file name without its extension and
without a trailing `_leftImg8bit` (berlin_000000_000019_leftImg8bit.png -> berlin_000000_000019). The
labelIds folder zipped is a Cityscapes test-server submission (cityscapes-dataset.com, "Pixel-Level
Semantic Labeling Task": one single-channel PNG of labelIds per test image, named with city_seq_frame).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..common.scores import IGNORE_INDEX
from ..data.labels import NUM_CLASSES, TRAIN_ID_TO_LABEL_ID, colorize

FORMATS = ("color", "labelids", "overlay")
_FOLDER = {"color": "color", "labelids": "labelIds", "overlay": "overlay"}
_SUFFIX = {"color": "_pred_color.png", "labelids": "_pred_labelIds.png", "overlay": "_pred_overlay.png"}

# trainId -> labelId from the official table (data/labels.py); ignore (255) -> 0 ("unlabeled", ignored in evaluation).
TRAIN_TO_LABEL = np.zeros(256, dtype=np.uint8)
for _t in range(NUM_CLASSES):
    TRAIN_TO_LABEL[_t] = TRAIN_ID_TO_LABEL_ID[_t]
TRAIN_TO_LABEL[IGNORE_INDEX] = 0


def output_stem(path) -> str:
    stem = Path(path).stem
    return stem[: -len("_leftImg8bit")] if stem.endswith("_leftImg8bit") else stem


def output_path(out_dir, stem: str, fmt: str) -> Path:
    return Path(out_dir) / _FOLDER[fmt] / (stem + _SUFFIX[fmt])


def write_label_ids(train_ids: np.ndarray, path) -> None:
    """trainIds (H, W) -> a single-channel 8-bit PNG of Cityscapes labelIds."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(TRAIN_TO_LABEL[np.asarray(train_ids, dtype=np.uint8)], mode="L").save(path)


def overlay(image: np.ndarray, train_ids: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The colour mask blended over the RGB image (ignore pixels show the image unchanged)."""
    color = colorize(train_ids).astype(np.float32)
    mask = (np.asarray(train_ids) < NUM_CLASSES)[..., None]
    blended = np.where(mask, (1 - alpha) * image.astype(np.float32) + alpha * color, image)
    return blended.round().astype(np.uint8)


def write_outputs(out_dir, stem: str, train_ids: np.ndarray, formats, image: np.ndarray | None = None) -> list[Path]:
    """Write `train_ids` in each of `formats`; overlay needs the original RGB `image` of the same size."""
    written = []
    for fmt in formats:
        path = output_path(out_dir, stem, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "labelids":
            write_label_ids(train_ids, path)
        elif fmt == "color":
            Image.fromarray(colorize(train_ids)).save(path)
        else:
            Image.fromarray(overlay(image, train_ids)).save(path)
        written.append(path)
    return written
