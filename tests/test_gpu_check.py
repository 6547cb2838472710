"""`make gpu-check` (scripts/gpu_check.py) has not run on a GPU yet; its plumbing runs on the CPU here."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
    assert proc.returncode == 0 and report["verdict"] == "PASS", json.dumps(report, indent=1)[-4000:]
