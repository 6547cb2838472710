"""Cityscapes label table: labelId -> trainId lookup, the 19 evaluated class names and their colours.

Everything is derived from ``cityscapesscripts.helpers.labels`` (the official table) rather than typed in,
so the mapping cannot drift from what the official evaluation uses. Label PNGs (``*_gtFine_labelIds.png``)
store *labelIds* 0..33; the networks are trained on *trainIds* 0..18 with 255 = ignore.
"""

from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import labels as _CS_LABELS

from ..common.scores import IGNORE_INDEX

NUM_CLASSES = 19

# License plate has id -1 in the table; a uint8 PNG cannot hold it, so it is not a storable id.
VALID_LABEL_IDS: frozenset[int] = frozenset(lab.id for lab in _CS_LABELS if 0 <= lab.id <= 255)

# Boolean LUT so validity of a whole label image is one fancy-index, no Python loop over pixels.
LABEL_ID_VALID = np.zeros(256, dtype=bool)
LABEL_ID_VALID[sorted(VALID_LABEL_IDS)] = True

# Ids outside the table also map to 255 here: training must never see them as a class. Callers that must
# *report* them (dataset validation) use ``invalid_label_ids`` / ``LABEL_ID_VALID``.
LABEL_TO_TRAIN = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _lab in _CS_LABELS:
    if _lab.id in VALID_LABEL_IDS and 0 <= _lab.trainId < NUM_CLASSES:
        LABEL_TO_TRAIN[_lab.id] = _lab.trainId

_TRAIN_LABELS = sorted((lab for lab in _CS_LABELS if 0 <= lab.trainId < NUM_CLASSES), key=lambda lab: lab.trainId)
assert [lab.trainId for lab in _TRAIN_LABELS] == list(range(NUM_CLASSES)), "unexpected cityscapesscripts table"

CLASS_NAMES: tuple[str, ...] = tuple(lab.name for lab in _TRAIN_LABELS)
PALETTE = np.array([lab.color for lab in _TRAIN_LABELS], dtype=np.uint8)  # (19, 3), indexed by trainId

# Name -> labelId, for code (the synthetic generator) that writes label PNGs by class name.
NAME_TO_LABEL_ID: dict[str, int] = {lab.name: lab.id for lab in _CS_LABELS if lab.id in VALID_LABEL_IDS}


def label_ids_to_train_ids(arr: np.ndarray) -> np.ndarray:
    """Map a labelId array (any integer dtype, values 0..255) to uint8 trainIds (0..18, 255 = ignore)."""
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError(f"labelIds must be in 0..255, got range {arr.min()}..{arr.max()}")
        arr = arr.astype(np.uint8)
    return LABEL_TO_TRAIN[arr]


def invalid_label_ids(arr: np.ndarray) -> list[int]:
    """Sorted ids in a uint8 labelId array that are not in the Cityscapes table (empty list if all valid)."""
    present = np.bincount(np.asarray(arr, dtype=np.uint8).ravel(), minlength=256) > 0
    return np.flatnonzero(present & ~LABEL_ID_VALID).tolist()


def colorize(train_ids: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) visualisation of a trainId map; 255 and any out-of-range id render black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:NUM_CLASSES] = PALETTE
    return lut[np.asarray(train_ids, dtype=np.uint8)]
