"""Long end-to-end checks (`make test-slow`): the quick preset as the README promises it."""
import json

import pytest

from helpers import run_cli


@pytest.mark.slow
def test_quick_preset_erfnet_lands_in_the_target_band(tmp_path):
    """The embedded default is neither trivial nor saturated: ERFNet at the quick preset scores 30-90 mIoU."""
    run_dir = tmp_path / "run"
    run_cli(["gradgroup.cli.train", "experiment=table3/erfnet", f"hydra.run.dir={run_dir}",
             "trainer.enable_progress_bar=false"], tmp_path / "cache", tmp_path, timeout=1200)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["status"] == "ok"
    assert 30 <= m["miou"] <= 90, m["class_iou"]
