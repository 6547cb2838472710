"""Tests for gradgroup.data: label table, transforms, dataset, datamodule, bad input.

The generator and its cache are tested in test_data_synthetic.py and test_data_cache.py.
"""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from gradgroup.data import reader
from gradgroup.data.cityscapes import CityscapesDataModule, CityscapesDataset
from gradgroup.data.class_weights import ERFNET_CLASS_WEIGHTS, histogram_weights, loss_class_weights
from gradgroup.data.labels import (
    CLASS_NAMES,
    LABEL_TO_TRAIN,
    PALETTE,
    VALID_LABEL_IDS,
    colorize,
    invalid_label_ids,
    label_ids_to_train_ids,
)
from gradgroup.data.synthetic import cache, ensure_dataset
from gradgroup.data.transforms import build_eval_transform, build_train_transform
from gradgroup.errors import ConfigError, DataError
from helpers import datamodule

TINY = dict(seed=3, num_train=6, num_val=3, num_test=2, height=64, width=128)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "cs"
    ensure_dataset(root, progress=False, **TINY)
    return root


@pytest.fixture
def root_copy(tiny_root, tmp_path):
    """A private copy for tests that damage the dataset."""
    dst = tmp_path / "cs"
    shutil.copytree(tiny_root, dst)
    return dst


def _dm(root, tmp_path, **kw):
    args = dict(root=str(root), cache_dir=str(tmp_path / "cache"), train_hw=[32, 64], input_hw=[64, 128],
                label_hw=[32, 64], batch_size=2, eval_batch_size=2, num_workers=0, validate="full", progress=False)
    args.update(kw)
    return datamodule(**args)


def _first(root, kind):
    sub, suffix = ("leftImg8bit", "_leftImg8bit.png") if kind == "image" else ("gtFine", "_gtFine_labelIds.png")
    return sorted((root / sub / "train").glob(f"*/*{suffix}"))[0]


# ------------------------------------------------------------------------------------------- label table
def test_lut_matches_cityscapesscripts():
    assert LABEL_TO_TRAIN[7] == 0 and LABEL_TO_TRAIN[26] == 13 and LABEL_TO_TRAIN[33] == 18
    assert LABEL_TO_TRAIN[0] == 255 and LABEL_TO_TRAIN[1] == 255 and LABEL_TO_TRAIN[9] == 255
    for lid, lab in id2label.items():
        if lid >= 0:
            assert LABEL_TO_TRAIN[lid] == (lab.trainId if 0 <= lab.trainId < 19 else 255), lab.name
    assert VALID_LABEL_IDS == set(range(34))
    assert invalid_label_ids(np.array([[0, 7, 34], [200, 33, 7]], np.uint8)) == [34, 200]
    assert (LABEL_TO_TRAIN[34:] == 255).all()


def test_written_out_table_is_the_official_one():
    """data/labels.py writes the table out (training needs no [cityscapes] extra): every field of every row
    equals cityscapesscripts' own, in its order."""
    from cityscapesscripts.helpers.labels import labels as official

    from gradgroup.data import labels

    assert [(lab.name, lab.id, lab.trainId, tuple(lab.color)) for lab in official] == \
        [(lab.name, lab.id, lab.trainId, lab.color) for lab in labels._CS_LABELS]


def test_class_names_palette_colorize():
    assert len(CLASS_NAMES) == 19
    assert (CLASS_NAMES[0], CLASS_NAMES[13], CLASS_NAMES[18]) == ("road", "car", "bicycle")
    assert PALETTE.shape == (19, 3) and PALETTE.dtype == np.uint8 and tuple(PALETTE[0]) == (128, 64, 128)
    out = colorize(np.array([[0, 255]]))
    assert tuple(out[0, 0]) == (128, 64, 128) and tuple(out[0, 1]) == (0, 0, 0)
    assert label_ids_to_train_ids(np.array([7, 26, 0], np.int64)).tolist() == [0, 13, 255]


# ---------------------------------------------------------------------------------- dataset / datamodule
def test_dataset_shapes(tiny_root):
    ds = CityscapesDataset(tiny_root, "val")
    img, tgt = ds[0]
    assert img.shape == (3, 64, 128) and img.dtype == torch.float32 and 0 <= img.min() and img.max() <= 1
    assert tgt.shape == (64, 128) and tgt.dtype == torch.int64
    assert set(tgt.unique().tolist()) <= set(range(19)) | {255}


def test_transforms_shapes_and_ignore_fill():
    img = np.full((64, 128, 3), 100, np.uint8)
    lab = np.zeros((64, 128), np.uint8)
    aug = {"scale": [0.3, 0.4], "translate_px": 0, "jitter": {"enabled": True}}
    t = build_train_transform([32, 48], [64, 128], aug)
    t.reseed(0)
    x, y = t(img, lab)
    assert x.shape == (3, 32, 48) and y.shape == (32, 48) and y.dtype == torch.int64
    assert (y == 255).any() and (y == 0).any()  # downscaled below crop size: padding must be 'ignore', not class 0
    t = build_train_transform([64, 128], [64, 128], {"translate_px": 2, "hflip": False})
    t.reseed(0)
    shifted = [t(img, lab)[1] for _ in range(8)]
    assert all(s.shape == (64, 128) for s in shifted)
    assert any((s == 255).any() for s in shifted)  # +-2 px shift uncovers a border, labelled ignore
    assert all((s[2:-2, 2:-2] == 0).all() for s in shifted)  # ignore only in the uncovered 2 px border
    x, y = build_eval_transform([32, 64], [16, 32])(img, lab)
    assert x.shape == (3, 32, 64) and y.shape == (16, 32)
    with pytest.raises(ConfigError, match="data.augment.flip"):
        build_train_transform([32, 64], [32, 64], {"flip": True})


def test_datamodule_batches(tiny_root, tmp_path):
    dm = _dm(tiny_root, tmp_path, limit_train=4)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (2, 3, 32, 64) and y.shape == (2, 32, 64) and y.dtype == torch.int64
    assert len(dm.datasets["train"]) == 4
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (2, 3, 64, 128) and y.shape == (2, 32, 64)
    dm.setup("test")
    assert len(dm.datasets["test"]) == 3  # test_split defaults to val
    assert dm.class_names == CLASS_NAMES and dm.num_classes == 19


def _two_epochs(root, tmp_path, workers):
    torch.manual_seed(5)
    dm = _dm(root, tmp_path, num_workers=workers, augment={"scale": [0.8, 1.25], "jitter": {"enabled": True}})
    dm.setup("fit")
    loader = dm.train_dataloader()
    batches = []
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)  # as Lightning's fit loop does at every epoch start
        batches += list(loader)
    return batches, torch.rand(3)


def test_worker_count_does_not_change_batches(tiny_root, tmp_path):
    """Order and augmentation come from (seed, epoch, draw), not from a worker's stream; no loader touches
    torch's global generator (dropout draws from it), so 0 and 2 workers train the same model."""
    (a, after_a), (b, after_b) = (_two_epochs(tiny_root, tmp_path, w) for w in (0, 2))
    assert len(a) == len(b) == 2 * 3
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert torch.equal(after_a, after_b)
    assert not torch.equal(a[0][0], a[3][0])  # the next epoch is shuffled and augmented anew


def test_datamodule_synthetic_default(tmp_path):
    dm = datamodule(root=None, cache_dir=str(tmp_path / "c"), synthetic=dict(TINY, num_train=4),
                    train_hw=[32, 64], input_hw=[32, 64], label_hw=[32, 64], batch_size=2, num_workers=1)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.data_root.parent == tmp_path / "c" and cache.read_marker(dm.data_root)["num_train"] == 4
    x, y = next(iter(dm.train_dataloader()))  # through a worker process: the transform pickles
    assert x.shape == (2, 3, 32, 64) and y.shape == (2, 32, 64)


def test_class_weights(tiny_root, tmp_path):
    w = histogram_weights([3, 1, 0])
    assert torch.allclose(w, torch.tensor([1 / np.log(1.77), 1 / np.log(1.27), 1 / np.log(1.02)], dtype=torch.float32))
    assert len(ERFNET_CLASS_WEIGHTS) == 19 and ERFNET_CLASS_WEIGHTS[0] == pytest.approx(2.8149201869965)
    dm = _dm(tiny_root, tmp_path)
    we = loss_class_weights("histogram", dm)
    assert we.shape == (19,) and torch.isfinite(we).all()
    road, rare = CLASS_NAMES.index("road"), CLASS_NAMES.index("rider")
    assert we[road] < we[rare]
    assert torch.equal(loss_class_weights("erfnet", dm), torch.tensor(ERFNET_CLASS_WEIGHTS, dtype=torch.float32))
    assert loss_class_weights("none", dm) is None
    assert list((tmp_path / "cache" / "validation").glob("histogram-*.json"))


# ------------------------------------------------------------------------------------------- bad input
def test_missing_root(tmp_path):
    with pytest.raises(DataError, match=r"data.root=.*nope does not exist.*leave data.root unset"):
        _dm(tmp_path / "nope", tmp_path).setup("fit")


@pytest.mark.parametrize("remove", ["gtFine/train", "leftImg8bit/val"])
def test_wrong_layout(root_copy, tmp_path, remove):
    shutil.rmtree(root_copy / remove)
    with pytest.raises(DataError, match=re.escape(remove)):
        _dm(root_copy, tmp_path).setup("fit")


def test_image_without_label(root_copy, tmp_path):
    lab = _first(root_copy, "label")
    lab.unlink()
    with pytest.raises(DataError, match=re.escape(lab.name.replace("_gtFine_labelIds", "_leftImg8bit"))):
        _dm(root_copy, tmp_path, validate="none").setup("fit")


def test_zero_images(root_copy, tmp_path):
    for p in (root_copy / "leftImg8bit" / "train").glob("*/*.png"):
        p.unlink()
    with pytest.raises(DataError, match="contains no"):
        _dm(root_copy, tmp_path).setup("fit")


@pytest.mark.parametrize("kind", ["image", "label"])
@pytest.mark.parametrize("validate", ["quick", "full"])
def test_corrupt_png(root_copy, tmp_path, kind, validate):
    path = _first(root_copy, kind)
    path.write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=re.escape(str(path))):
        _dm(root_copy, tmp_path, validate=validate).setup("fit")


def test_truncated_png_caught_by_quick_full_and_getitem(root_copy, tmp_path):
    path = _first(root_copy, "image")
    path.write_bytes(path.read_bytes()[:200])  # header intact, pixel data cut
    for validate in ("quick", "full"):  # quick checks the PNG chunk CRCs through IEND
        with pytest.raises(DataError, match=re.escape(str(path))):
            _dm(root_copy, tmp_path, validate=validate).setup("fit")
    dm = _dm(root_copy, tmp_path, validate="none")
    dm.setup("fit")
    with pytest.raises(DataError, match=re.escape(str(path))):
        dm.datasets["train"][0]


def test_invalid_label_ids(root_copy, tmp_path):
    path = _first(root_copy, "label")
    arr = np.array(Image.open(path))
    arr[0, :3] = (40, 255, 40)
    Image.fromarray(arr).save(path)
    with pytest.raises(DataError, match=re.escape(str(path)) + r".*\[40, 255\]"):
        _dm(root_copy, tmp_path).setup("fit")
    with pytest.raises(DataError, match=re.escape(str(path)) + r".*\[40, 255\]"):
        _dm(root_copy, tmp_path, validate="quick").setup("fit")  # the default decodes every label
    dm = _dm(root_copy, tmp_path, validate="none")
    dm.setup("fit")
    with pytest.raises(DataError, match=r"\[40, 255\]"):
        dm.datasets["train"][0]


def test_rgb_label(root_copy, tmp_path):
    path = _first(root_copy, "label")
    Image.open(path).convert("RGB").save(path)
    with pytest.raises(DataError, match="mode RGB"):
        _dm(root_copy, tmp_path, validate="quick").setup("fit")


def test_size_mismatch(root_copy, tmp_path):
    path = _first(root_copy, "label")
    Image.open(path).resize((64, 32), Image.NEAREST).save(path)
    img = _first(root_copy, "image")
    with pytest.raises(DataError, match=re.escape(str(img)) + ".*128x64.*" + re.escape(str(path)) + ".*64x32"):
        _dm(root_copy, tmp_path, validate="quick").setup("fit")


def test_full_validation_stamp(root_copy, tmp_path, monkeypatch):
    _dm(root_copy, tmp_path).setup("fit")
    assert list((tmp_path / "cache" / "validation").glob("validated-train-*.json"))
    calls = []
    monkeypatch.setattr(reader, "_check_full", lambda pair: calls.append(pair))
    _dm(root_copy, tmp_path).setup("fit")
    assert calls == []  # unchanged files: stamp hit, nothing decoded
    path = _first(root_copy, "label")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    _dm(root_copy, tmp_path).setup("fit")
    assert len(calls) == 6  # a changed mtime invalidates the train stamp


def test_the_schema_holds_every_setting_of_the_datamodule(tmp_path):
    """Every constructor setting is a key of the schema's data node, and none has a default of its own."""
    import inspect

    from gradgroup.config.schema import DataConfig

    params = inspect.signature(CityscapesDataModule.__init__).parameters
    from_config = {n for n, p in params.items() if n != "self" and n not in ("progress", "pin_memory")}
    assert from_config == set(DataConfig.__dataclass_fields__) - {"_target_"}
    assert all(params[n].default is inspect.Parameter.empty for n in from_config)
    dm = datamodule(cache_dir=str(tmp_path), synthetic=TINY)
    assert isinstance(dm, CityscapesDataModule) and dm.train_hw == (128, 256) and dm.data_root.parent == tmp_path


def test_config_errors(tmp_path):
    from omegaconf.errors import ConfigKeyError, ValidationError

    with pytest.raises(ValidationError, match="validate"):  # closed choices and keys: the schema's
        datamodule(validate="sometimes")
    with pytest.raises(ConfigKeyError, match="num_trian"):
        datamodule(synthetic={"num_trian": 3})
    with pytest.raises(ConfigKeyError, match="brightnes"):
        datamodule(augment={"jitter": {"brightnes": 0.1}})
    with pytest.raises(ConfigError, match="data.train_hw"):  # what the schema cannot type: the module's
        datamodule(train_hw=[128])
    with pytest.raises(ConfigError, match="data.limit_train"):
        datamodule(limit_train=0)
