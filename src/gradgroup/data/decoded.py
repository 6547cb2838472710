"""Decoded (image, trainId target) pairs, kept in memory when a split is small enough.

Decoding a PNG costs more than augmenting it at the quick preset's 64x128 (about a fifth of a job's
time went to reading the 256x512 generated scenes, profiled with cProfile). A split whose decoded pairs
fit in ``KEEP_BYTES`` (the generated city: ~125 MB for 240 training pairs) is decoded once per process
and reused every epoch; a larger one (real Cityscapes: ~25 GB) is read from disk each time. The stored
arrays are read-only, so a transform that tried to change its input in place would raise instead of
altering later epochs: what a sample looks like never depends on whether it was kept.
"""
from __future__ import annotations

import numpy as np

from . import reader
from .labels import LABEL_TO_TRAIN

KEEP_BYTES = 1 << 30  # per split and process


class DecodedPairs:
    """``pairs[i]`` -> (RGB uint8 HxWx3, trainId uint8 HxW), validated as ``reader`` does."""

    def __init__(self, pairs, keep_bytes: int = KEEP_BYTES):
        self.pairs, self.keep_bytes = list(pairs), keep_bytes
        self._kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._keep: bool | None = None  # decided from the first pair's size

    def __len__(self) -> int:
        return len(self.pairs)

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index in self._kept:
            return self._kept[index]
        img_path, lab_path = self.pairs[index]
        image, label = reader.read_image(img_path), reader.read_label(lab_path)
        reader.check_sizes(img_path, lab_path, image.shape, label.shape)
        target = LABEL_TO_TRAIN[label]
        if self._keep is None:
            self._keep = (image.nbytes + target.nbytes) * len(self.pairs) <= self.keep_bytes
        if self._keep:
            image, target = np.array(image), target
            image.setflags(write=False)
            target.setflags(write=False)
            self._kept[index] = image, target
        return image, target
