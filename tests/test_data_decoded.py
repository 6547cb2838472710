"""Decoded pairs kept in memory (data/decoded.py) change speed, never a sample."""
from __future__ import annotations

import pytest
import torch

from gradgroup.data import decoded
from gradgroup.data.decoded import DecodedPairs
from gradgroup.data.synthetic import ensure_dataset

from test_data import TINY, _dm


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "cs"
    ensure_dataset(root, progress=False, **TINY)
    return root


def _epochs(root, tmp_path, keep_bytes, monkeypatch):
    monkeypatch.setattr(DecodedPairs.__init__, "__defaults__", (keep_bytes,))
    dm = _dm(root, tmp_path, augment={"scale": [0.8, 1.25], "jitter": {"enabled": True}})
    dm.setup("fit")
    loader = dm.train_dataloader()
    batches = []
    for epoch in range(3):
        loader.sampler.set_epoch(epoch)
        batches += list(loader)
    return batches, dm.datasets["train"].decoded


def test_kept_pairs_give_the_same_batches_as_reading_from_disk(tiny_root, tmp_path, monkeypatch):
    kept, kept_store = _epochs(tiny_root, tmp_path / "a", decoded.KEEP_BYTES, monkeypatch)
    read, read_store = _epochs(tiny_root, tmp_path / "b", 0, monkeypatch)
    assert len(kept_store._kept) == TINY["num_train"] and not read_store._kept
    for (xa, ya), (xb, yb) in zip(kept, read, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_kept_arrays_are_read_only_and_reused(tiny_root):
    pairs = sorted(zip(sorted((tiny_root / "leftImg8bit" / "train").rglob("*.png")),
                       sorted((tiny_root / "gtFine" / "train").rglob("*_labelIds.png"))))
    store = DecodedPairs(pairs)
    image, target = store.read(0)
    assert store.read(0)[0] is image
    with pytest.raises(ValueError, match="read-only"):
        image[0, 0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        target[0, 0] = 1


def test_a_split_over_the_budget_is_read_from_disk_each_time(tiny_root):
    pairs = sorted(zip(sorted((tiny_root / "leftImg8bit" / "train").rglob("*.png")),
                       sorted((tiny_root / "gtFine" / "train").rglob("*_labelIds.png"))))
    one_pair = 64 * 128 * 4
    store = DecodedPairs(pairs, keep_bytes=one_pair * len(pairs) - 1)
    assert store.read(0)[0] is not store.read(0)[0] and not store._kept
