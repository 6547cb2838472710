"""One console line for every way a run ends, agreeing with metrics.json (issue 19, item 4): a full disk
names the file and the free space (also when the record itself can no longer be written the usual way),
a non-finite loss names epoch and step, tracebacks go to the run's log file, not the console, and
`resumed_at_epoch` counts finished epochs."""
import errno
import json

import pytest

from gradgroup.training import checkpoints as ckpt_mod
from gradgroup.common import records as record_mod
from gradgroup.common.atomic import DiskFull, atomic_write
from gradgroup.training.module import SegmentationModule
from gradgroup.training.run import train
from helpers import compose_cfg

ARGS = ["experiment=table3/dg4", "preset=smoke"]


def _enospc(f):
    f.write(b"PK\x03\x04 half a file")
    raise OSError(errno.ENOSPC, "No space left on device")


def _disk_full_after(epochs, monkeypatch, record_too):
    """Checkpoints (and, with record_too, new files of any kind) fail with ENOSPC after `epochs` epochs."""
    real_save, real_text, saves = ckpt_mod.atomic_torch_save, record_mod.atomic_write_text, []

    def save(obj, path):
        saves.append(path)
        return real_save(obj, path) if len(saves) <= 2 * epochs else atomic_write(path, _enospc)

    def text(path, content):
        full = record_too and len(saves) > 2 * epochs
        return atomic_write(path, _enospc) if full else real_text(path, content)
    monkeypatch.setattr(ckpt_mod, "atomic_torch_save", save)
    monkeypatch.setattr(record_mod, "atomic_write_text", text)


def _line(capsys):
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize("in_place", [True, False], ids=["record-in-place", "record-unwritable"])
def test_disk_full_after_two_epochs_says_so_and_agrees_with_the_record(data_cache, tmp_path, monkeypatch, capsys,
                                                                       in_place):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    _disk_full_after(2, monkeypatch, record_too=True)
    if not in_place:
        monkeypatch.setattr(record_mod, "_overwrite_in_place", lambda path, text: False)
    run = tmp_path / "run"
    with pytest.raises(DiskFull):
        train(compose_cfg([*ARGS, "trainer.max_epochs=4"]), run)
    line, m = _line(capsys), json.loads((run / "metrics.json").read_text())
    assert line.startswith(f"failed: out of disk space writing {run}/") and " MiB free on its filesystem" in line
    assert f"traceback in {run / 'train.log'}" in line
    if in_place:  # the final record went into the old record's own blocks: both say failed
        assert m["status"] == "failed" and m["error"].startswith("DiskFull: out of disk space writing ")
        assert "could not be updated" not in line
    else:  # nothing could be written: the console says what metrics.json still says
        assert m["status"] == "running" and line.endswith("its metrics.json could not be updated and still says running")
    assert "DiskFull" in (run / "train.log").read_text()


def test_non_finite_loss_names_epoch_and_step_and_the_traceback_goes_to_the_log(data_cache, tmp_path, monkeypatch,
                                                                                  capsys):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    real = SegmentationModule._loss
    monkeypatch.setattr(SegmentationModule, "_loss", lambda self, logits, target: real(self, logits, target) *
                        (float("nan") if self.training and self.global_step >= 3 else 1.0))
    run = tmp_path / "run"
    with pytest.raises(FloatingPointError):
        train(compose_cfg([*ARGS, "trainer.max_epochs=3"]), run)
    line = _line(capsys)
    assert line.startswith("failed: non-finite loss: training loss is nan at epoch 2, step 3 (batch 1 of the epoch)")
    assert json.loads((run / "metrics.json").read_text())["status"] == "failed"
    assert "Traceback (most recent call last)" in (run / "train.log").read_text()


def test_resumed_at_epoch_counts_finished_epochs(data_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    run = tmp_path / "run"
    train(compose_cfg([*ARGS, "trainer.max_epochs=2"]), run)
    m = train(compose_cfg([*ARGS, "trainer.max_epochs=3", f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"]), run)
    assert m["resumed_at_epoch"] == 2 and m["epochs_done"] == 3
