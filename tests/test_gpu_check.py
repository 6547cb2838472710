"""`make gpu-check` (scripts/gpu_check.py) has not run on a GPU yet; its plumbing runs on the CPU here."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from gradgroup.cli import loader_bench

REPO = Path(__file__).resolve().parents[1]


def test_the_loader_bench_times_a_presets_train_samples_from_the_stored_size(tmp_path, data_cache, monkeypatch):
    """What gpu_check's `feeding` divides by: one worker's images/s, decoding every time vs decoded once."""
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    out = tmp_path / "loader.json"
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    try:
        loader_bench.main(["--images", "2", "--rounds", "2", "--preset", "smoke", "--size", "256x128",
                           "--json-out", str(out)])
    finally:  # main sets one thread, as in a loader worker
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)
    result = json.loads(out.read_text())
    assert result["preset"] == "smoke" and result["stored_hw"] == [128, 256] and result["train_hw"] == [64, 128]
    assert result["samples"] == 4 and set(result["rows"]) == {"decode + augment", "augment only"}
    for row in result["rows"].values():
        assert row["cpu_ms"] > 0 and row["images_per_s_per_worker"] == pytest.approx(1e3 / row["cpu_ms"])


@pytest.mark.slow
def test_the_gpu_check_runs_its_steps_and_writes_a_passing_report_on_the_cpu(tmp_path, data_cache):
    out = tmp_path / "report.json"
    env = {**__import__("os").environ, "GRADGROUP_DATA_CACHE": str(data_cache)}
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_check.py"), "--cpu-dry-run", "--out", str(out)],
                          capture_output=True, text=True, timeout=3000, env=env)
    report = json.loads(out.read_text())
    names = [s["name"] for s in report["steps"]]
    assert names[0] == "doctor" and "job dg4_gradual" in names and "ddp 1 device" in names and "bench" in names
    gradual = next(s for s in report["steps"] if s["name"] == "job dg4_gradual")
    assert gradual["checks"]["conversion_max_abs_diff"] <= 1e-5
    assert "loader" in names and report["feeding"]["loader_images_per_s_per_worker"] > 0
    assert {r["setting"] for r in report["feeding"]["rows"]} >= {"32-true", "bf16-mixed"}
    assert all(r["num_workers_needed"] >= 1 for r in report["feeding"]["rows"])
    assert proc.returncode == 0 and report["verdict"] == "PASS", json.dumps(report, indent=1)[-4000:]
