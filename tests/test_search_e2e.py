"""`make search PRESET=smoke N_TRIALS=4`, end to end, as its commands (docs/search.md): the search killed
after two trained trials and rerun with the same command and sweep dir ends with exactly 4 distinct trials;
then the confirmation, the results table and the report."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
# The Makefile's smoke settings (SEARCH_SMOKE_ARGS, LAUNCH_ARGS at PRESET=smoke): joblib, 2 jobs at a time.
SMOKE = ["preset=smoke", "hydra.sweeper.n_trials=4", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "threads=1",
         "data.num_workers=0", "hydra/hydra_logging=disabled", "hydra.sweeper.latency.size=256x128",
         "hydra.sweeper.latency.rounds=2", "hydra.sweeper.confirm.k=1", "hydra.sweeper.confirm.seeds=[1,2]",
         "hydra.sweeper.confirm.paper_rows=[table3/erfnet,table4/d_proposed,table4/dg4_proposed]"]


def ok_trial_dirs(sweep: Path) -> set:
    out = set()
    for p in sweep.glob("trial*/metrics.json"):
        try:
            if json.loads(p.read_text()).get("status") == "ok":
                out.add(p.parent.name)
        except ValueError:
            pass
    return out


@pytest.mark.slow
def test_smoke_search_killed_after_two_trials_resumes_to_exactly_four(tmp_path, data_cache):
    sweep = tmp_path / "search"
    cmd = ["gradgroup.cli.train", "--config-dir", str(ROOT / "sweeps"), "--config-name", "search",
           f"hydra.sweep.dir={sweep}", *SMOKE]
    env = {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled"}
    # SIGKILL leaves what the processes had in the temp dir (wandb's module-level temp dirs): nothing can
    # remove those on that exit, so the killed search gets a temp dir of its own, under tmp_path.
    (tmp_path / "killed_tmp").mkdir()
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", *cmd], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                env={**env, "TMPDIR": str(tmp_path / "killed_tmp")}, start_new_session=True)
        deadline = time.time() + 1800
        while len(ok_trial_dirs(sweep)) < 2 and proc.poll() is None and time.time() < deadline:
            time.sleep(1)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole search: sweeper and joblib workers
        proc.wait()
    first = ok_trial_dirs(sweep)
    assert 2 <= len(first) < 4, (tmp_path / "first.log").read_text()[-3000:]

    run_cli(cmd, data_cache, tmp_path, timeout=1800)
    trials = json.loads((sweep / "search" / "trials.json").read_text())["trials"]
    done = [t for t in trials if t.get("trained")]
    assert len(done) == 4 and len({t["number"] for t in done}) == 4 and len({t["arch"] for t in done}) == 4
    assert {t["run_dir"] for t in done} == ok_trial_dirs(sweep)  # one run dir per trial, none trained twice
    assert first <= ok_trial_dirs(sweep)
    assert not any(t["state"] == "RUNNING" for t in trials)

    run_cli([*cmd, "hydra.sweeper.mode=confirm"], data_cache, tmp_path, timeout=1800)
    run_cli(["gradgroup.cli.table", str(sweep)], data_cache, tmp_path, timeout=600)
    out = run_cli(["gradgroup.cli.search", "report", str(sweep)], data_cache, tmp_path, timeout=600).stdout
    assert (sweep / "results.md").is_file() and (sweep / "search_pareto.png").stat().st_size > 10_000
    front = json.loads((sweep / "front.json").read_text())
    labels = [r["label"] for r in front["rows"]]
    assert {"ERFNet", "D*-proposed", "DG4*-proposed"} <= set(labels) and len(labels) == 4
    assert all(r["n"] == 2 and r["latency_ms"] > 0 for r in front["rows"])
    assert any(r["front"] for r in front["rows"]) and "DG4*-proposed" in out
    assert "smoke" in (sweep / "search.md").read_text().splitlines()[0]
