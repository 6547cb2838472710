"""Cityscapes label table: labelId -> trainId lookup, the 19 evaluated class names and their colours.

The table is the official one of ``cityscapesscripts.helpers.labels`` (name, labelId, trainId, colour),
written out here so that training on Cityscapes files needs only the core install; the `[cityscapes]`
extra (csDownload, the official evaluation) is optional. tests/test_data.py compares this table with
cityscapesscripts' field by field, so the two cannot drift apart. Label PNGs (``*_gtFine_labelIds.png``)
store *labelIds* 0..33; the networks are trained on *trainIds* 0..18 with 255 = ignore.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..common.scores import IGNORE_INDEX


class Label(NamedTuple):
    name: str
    id: int
    trainId: int
    color: tuple[int, int, int]


_CS_LABELS = tuple(Label(*row) for row in (
    ("unlabeled", 0, 255, (0, 0, 0)), ("ego vehicle", 1, 255, (0, 0, 0)),
    ("rectification border", 2, 255, (0, 0, 0)), ("out of roi", 3, 255, (0, 0, 0)),
    ("static", 4, 255, (0, 0, 0)), ("dynamic", 5, 255, (111, 74, 0)), ("ground", 6, 255, (81, 0, 81)),
    ("road", 7, 0, (128, 64, 128)), ("sidewalk", 8, 1, (244, 35, 232)), ("parking", 9, 255, (250, 170, 160)),
    ("rail track", 10, 255, (230, 150, 140)), ("building", 11, 2, (70, 70, 70)),
    ("wall", 12, 3, (102, 102, 156)), ("fence", 13, 4, (190, 153, 153)),
    ("guard rail", 14, 255, (180, 165, 180)), ("bridge", 15, 255, (150, 100, 100)),
    ("tunnel", 16, 255, (150, 120, 90)), ("pole", 17, 5, (153, 153, 153)),
    ("polegroup", 18, 255, (153, 153, 153)), ("traffic light", 19, 6, (250, 170, 30)),
    ("traffic sign", 20, 7, (220, 220, 0)), ("vegetation", 21, 8, (107, 142, 35)),
    ("terrain", 22, 9, (152, 251, 152)), ("sky", 23, 10, (70, 130, 180)), ("person", 24, 11, (220, 20, 60)),
    ("rider", 25, 12, (255, 0, 0)), ("car", 26, 13, (0, 0, 142)), ("truck", 27, 14, (0, 0, 70)),
    ("bus", 28, 15, (0, 60, 100)), ("caravan", 29, 255, (0, 0, 90)), ("trailer", 30, 255, (0, 0, 110)),
    ("train", 31, 16, (0, 80, 100)), ("motorcycle", 32, 17, (0, 0, 230)), ("bicycle", 33, 18, (119, 11, 32)),
    ("license plate", -1, -1, (0, 0, 142)),
))
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
assert [lab.trainId for lab in _TRAIN_LABELS] == list(range(NUM_CLASSES)), "unexpected Cityscapes table"

CLASS_NAMES: tuple[str, ...] = tuple(lab.name for lab in _TRAIN_LABELS)
PALETTE = np.array([lab.color for lab in _TRAIN_LABELS], dtype=np.uint8)  # (19, 3), indexed by trainId

# Name -> labelId, for code (the synthetic generator) that writes label PNGs by class name.
NAME_TO_LABEL_ID: dict[str, int] = {lab.name: lab.id for lab in _CS_LABELS if lab.id in VALID_LABEL_IDS}
# trainId -> labelId, for writing predictions in the benchmark's labelIds format.
TRAIN_ID_TO_LABEL_ID: dict[int, int] = {lab.trainId: lab.id for lab in _TRAIN_LABELS}


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
