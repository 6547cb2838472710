"""Real Cityscapes, on a tiny fixture in its exact layout (issue 9): labelIds -> trainIds by the official
table, images read as RGB, a root with only train/val works, the label resolution settings; and bad files
are caught before training by the default validation, a file changed mid-run stops the run cleanly."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import labels as CS_LABELS
from PIL import Image

from gradgroup.data import reader
from gradgroup.data.cityscapes import CityscapesDataset
from gradgroup.errors import DataError
from helpers import datamodule

IDS = sorted(lab.id for lab in CS_LABELS if lab.id >= 0)  # every storable labelId, 0..33


def _write_pair(root, split, city, frame, h=32, w=64):
    stem = f"{city}_000000_{frame:06d}"
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 200, 10, 50  # R, G, B: tells RGB from BGR
    lab = np.resize(np.array(IDS, np.uint8), (h, w))     # every labelId of the table
    for sub, name, arr in (("leftImg8bit", f"{stem}_leftImg8bit.png", img), ("gtFine", f"{stem}_gtFine_labelIds.png", lab),
                           ("gtFine", f"{stem}_gtFine_color.png", img)):  # colour files sit beside, as in the zip
        path = root / sub / split / city / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(path)
    return stem


@pytest.fixture
def real_root(tmp_path):
    """leftImg8bit/ and gtFine/ with train and val only (no test split), as gtFine_trainvaltest minus test."""
    root = tmp_path / "cityscapes"
    for split, cities in (("train", ("aachen", "bremen")), ("val", ("frankfurt",))):
        for city in cities:
            for frame in (19, 20):
                _write_pair(root, split, city, frame)
    return root


def _dm(root, tmp_path, **kw):
    args = dict(root=str(root), cache_dir=str(tmp_path / "cache"), train_hw=[32, 64], input_hw=[32, 64],
                label_hw=[16, 32], batch_size=2, eval_batch_size=2, num_workers=0, progress=False)
    return datamodule(**{**args, **kw})


def test_label_ids_map_to_train_ids_by_the_official_table_and_images_are_rgb(real_root):
    image, target = CityscapesDataset(real_root, "val")[0]
    assert image[:, 0, 0].mul(255).round().tolist() == [200, 10, 50]
    lab = np.asarray(Image.open(next((real_root / "gtFine" / "val").rglob("*_labelIds.png"))))
    table = {lab_.id: (lab_.trainId if 0 <= lab_.trainId < 19 else 255) for lab_ in CS_LABELS if lab_.id >= 0}
    assert target.numpy().tolist() == np.vectorize(table.get)(lab).tolist()


def test_a_root_with_only_train_and_val_trains_and_tests(real_root, tmp_path):
    dm = _dm(real_root, tmp_path)
    dm.setup("fit")
    dm.setup("test")  # test_split defaults to val: Cityscapes' test labels are withheld
    assert len(dm.datasets["train"]) == 4 and len(dm.datasets["test"]) == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch[0].shape == (2, 3, 32, 64)
    with pytest.raises(DataError, match="leftImg8bit/test"):
        _dm(real_root, tmp_path, test_split="test").setup("test")


@pytest.mark.parametrize("resolution, hw", [("full", [32, 64]), ("half", [16, 32]), ("label_hw", [16, 32])])
def test_label_resolution_sets_the_scored_ground_truth(real_root, tmp_path, resolution, hw):
    dm = _dm(real_root, tmp_path, label_resolution=resolution, label_hw=[16, 32] if resolution == "label_hw" else [8, 8])
    dm.setup("test")
    assert dm.label_resolution_record("test") == {"label_resolution": resolution, "label_hw": hw}
    assert list(dm.datasets["test"][0][1].shape) == hw


# ----------------------------------------------------------------------------------- bad files
def _first_label(root, split="train"):
    return sorted((root / "gtFine" / split).rglob("*_labelIds.png"))[0]


def test_default_validation_catches_bad_ids_and_truncated_images_before_training(real_root, tmp_path, monkeypatch):
    dm = _dm(real_root, tmp_path)
    assert dm.validate == "quick"
    dm.setup("fit")  # clean: stamped
    calls = []
    monkeypatch.setattr(reader, "_check_quick", lambda pair: calls.append(pair))
    _dm(real_root, tmp_path).setup("fit")
    assert calls == []  # second run: the stamp skips the check
    monkeypatch.undo()
    lab = _first_label(real_root)
    arr = np.asarray(Image.open(lab)).copy()
    arr[0, 0] = 77
    Image.fromarray(arr).save(lab)
    with pytest.raises(DataError, match=str(lab) + r".*\[77\]"):
        _dm(real_root, tmp_path).setup("fit")
    Image.fromarray(np.resize(np.array(IDS, np.uint8), arr.shape)).save(lab)
    img = sorted((real_root / "leftImg8bit" / "train").rglob("*.png"))[1]
    img.write_bytes(img.read_bytes()[:-40])  # pixel data intact up to the cut, IEND gone
    with pytest.raises(DataError, match=f"cannot read image {img}"):
        _dm(real_root, tmp_path).setup("fit")


CORRUPTER = '''
import numpy as np, pytorch_lightning as pl
from pathlib import Path
from PIL import Image

class Corrupter(pl.Callback):
    """Damages one train label on disk after the first epoch, as a file changed mid-run would be."""
    def __init__(self, path):
        self.path = path
    def on_train_epoch_end(self, trainer, module):
        if trainer.current_epoch == 0:
            arr = np.asarray(Image.open(self.path)).copy(); arr[:] = 99
            Image.fromarray(arr).save(self.path)
'''


def test_a_worker_raised_data_error_unwraps_to_its_one_line_message(real_root, tmp_path):
    """What the fitter reports for a file that fails in a DataLoader worker: the message, not the traceback."""
    from gradgroup.data.cityscapes import unwrap_loader_error

    dm = _dm(real_root, tmp_path, validate="none", num_workers=1)
    dm.setup("fit")
    lab = dm.datasets["val"].pairs[0][1]
    lab.write_bytes(b"not a png")
    with pytest.raises(DataError) as info:
        next(iter(dm.val_dataloader()))
    assert "Traceback" in str(info.value)  # torch wraps it...
    assert unwrap_loader_error(info.value).startswith(f"cannot read label {lab}:")  # ...we unwrap it


@pytest.mark.slow  # two smoke trainings (~100 s on 2 cores): make test-slow
def test_a_file_changed_mid_run_stops_cleanly_and_the_run_resumes(data_cache, tmp_path):
    """A copy of the smoke set; its first train label goes bad after epoch 1 of 2: one message naming the
    file, exit 2, status failed, last.ckpt of epoch 1 kept; with the file restored, the run resumes from it."""
    from gradgroup.data.synthetic import ensure_dataset

    root = tmp_path / "cs"
    ensure_dataset(root, progress=False, num_train=8, num_val=4, num_test=2, height=64, width=128)
    lab = _first_label(root)
    good = lab.read_bytes()
    (tmp_path / "corrupter.py").write_text(CORRUPTER)
    run_dir = tmp_path / "run"
    common = [sys.executable, "-m", "gradgroup.cli.train", "preset=smoke", f"data.root={root}",
              f"hydra.run.dir={run_dir}", "trainer.limit_train_batches=null", "trainer.max_epochs=2"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "GRADGROUP_DATA_CACHE": str(data_cache),
           "WANDB_MODE": "disabled"}
    proc = subprocess.run(common + ["+callbacks.corrupt._target_=corrupter.Corrupter", f"+callbacks.corrupt.path={lab}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    err = proc.stderr.strip()
    assert err.startswith("error: label ") and str(lab) in err and "[99]" in err and "Traceback" not in err
    assert f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}" in err
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["status"] == "failed" and str(lab) in m["error"] and "Caught" not in m["error"]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    lab.write_bytes(good)
    resumed = subprocess.run(common + [f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 2
