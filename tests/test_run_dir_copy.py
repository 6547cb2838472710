"""A run dir stands alone (issue 19, item 2): its record keeps paths relative to it, and gradgroup-eval of a
copy whose original is gone scores the copy's own converted.pt with the original's mIoU; a record naming
another dir's files (older absolute records) never pulls them in."""
import json
import shutil

import pytest

from gradgroup.common.run_files import run_weights


@pytest.fixture(scope="module")
def original(gradual_smoke_run, tmp_path_factory):
    """A private copy of the session's gradual smoke run, which the test then deletes."""
    run_dir = tmp_path_factory.mktemp("copy") / "original"
    shutil.copytree(gradual_smoke_run, run_dir)
    return run_dir


def test_a_copied_run_dir_evaluates_its_own_files(original, tmp_path, capsys):
    from gradgroup.cli.eval import main

    record = json.loads((original / "metrics.json").read_text())
    assert record["converted_checkpoint"] == "checkpoints/converted.pt"
    assert record["checkpoint_used"] == "checkpoints/last.ckpt"
    assert record["checkpoints"] == {"best": "checkpoints/best.ckpt", "last": "checkpoints/last.ckpt"}
    copy = tmp_path / "moved" / "run"
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    main([str(copy), "data.label_resolution=label_hw", "--no-progress"])
    ev = json.loads((copy / "eval" / "converted" / "eval.json").read_text())
    assert ev["weights"] == str(copy / "checkpoints" / "converted.pt") and ev["source_kind"] == "converted"
    assert ev["miou"] == pytest.approx(record["miou"], abs=1e-4)


def test_absolute_paths_in_a_record_never_beat_the_dirs_own_files(tmp_path):
    other, run = tmp_path / "other", tmp_path / "run"
    for d in (other, run):
        (d / "checkpoints").mkdir(parents=True)
        (d / "config.yaml").write_text("{}\n")
        (d / "checkpoints" / "best.ckpt").write_bytes(b"x")
        (d / "checkpoints" / "last.ckpt").write_bytes(b"x")
    (other / "checkpoints" / "converted.pt").write_bytes(b"x")
    # an older record, written with absolute paths, copied from `other`
    record = {"checkpoint_used": str(other / "checkpoints" / "best.ckpt"),
              "converted_checkpoint": str(other / "checkpoints" / "converted.pt")}
    (run / "metrics.json").write_text(json.dumps(record))
    assert run_weights(run, record) == run / "checkpoints" / "best.ckpt"  # the copy's best, not other's
    (run / "checkpoints" / "best.ckpt").unlink()
    assert run_weights(run, record) == run / "checkpoints" / "last.ckpt"  # never other's files
    (run / "checkpoints" / "converted.pt").write_bytes(b"x")
    assert run_weights(run, record) == run / "checkpoints" / "converted.pt"  # a gradual run's deployable model
