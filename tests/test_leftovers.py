"""Nothing an interrupted run leaves misleads the next one (issue 19, item 3): temp files of interrupted
checkpoint writes are removed when the run dir is next opened, a rerun from scratch keeps the earlier
attempt's checkpoints only under checkpoints.previous/ (no stale best.ckpt beside a new one), and wandb's
temp dirs in the system temp dir do not outlive a job stopped by a signal or by its launcher's death."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gradgroup.training.run import train
from helpers import compose_cfg

ARGS = ["experiment=table3/dg4", "preset=smoke"]


def test_partial_writes_go_and_a_fresh_rerun_keeps_no_stale_checkpoint(data_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    run = tmp_path / "run"
    train(compose_cfg(ARGS), run)
    ckpts = run / "checkpoints"
    first = torch.load(ckpts / "best.ckpt", weights_only=True)["state_dict"]
    for name in (".last.ckpt.tmp4242", ".best.ckpt.tmp17"):  # what a kill mid-save leaves
        (ckpts / name).write_bytes(b"PK\x03\x04 half a checkpoint")
    (run / ".metrics.json.tmp99").write_text("{")
    train(compose_cfg([*ARGS, "trainer.max_epochs=2", f"ckpt_path={ckpts / 'last.ckpt'}"]), run)
    assert sorted(p.name for p in ckpts.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert not list(run.glob(".*.tmp*")) and json.loads((run / "metrics.json").read_text())["status"] == "ok"

    train(compose_cfg([*ARGS, "seed=1"]), run)  # from scratch in the same dir
    assert sorted(p.name for p in ckpts.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert sorted(p.name for p in (run / "checkpoints.previous").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert json.loads((run / "metrics.json").read_text())["previous_checkpoints"] == "checkpoints.previous"
    now = torch.load(ckpts / "best.ckpt", weights_only=True)["state_dict"]
    assert not all(torch.equal(now[k], first[k]) for k in first)  # the new run's, not the stale one


JOB = """
import os, signal, sys, time
import wandb  # noqa: F401  what a WandbLogger loads: it makes tmp*wandb-media and tmp*wandb-artifacts
from gradgroup.jobs.launcher_watch import stop_with_launcher
from gradgroup.jobs.signals import stop_on_signals
from gradgroup.training.wandb_media import remove_wandb_temp_dirs
with stop_with_launcher(int(sys.argv[1]), [remove_wandb_temp_dirs], poll_s=0.1), stop_on_signals():
    print("training", flush=True)
    time.sleep(120)
"""


def _job(tmp, launcher_pid, **extra_env):
    env = {**os.environ, "TMPDIR": str(tmp), **extra_env}
    proc = subprocess.Popen([sys.executable, "-c", JOB, str(launcher_pid)], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "training"
    assert len(list(tmp.glob("tmp*wandb*"))) == 2
    return proc


def test_no_wandb_temp_dir_outlives_a_stopped_or_orphaned_job(tmp_path):
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    proc = _job(stopped, os.getpid())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143 and not list(stopped.glob("tmp*wandb*"))

    orphaned = tmp_path / "orphaned"
    orphaned.mkdir()
    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    proc = _job(orphaned, launcher.pid)
    launcher.kill()
    launcher.wait()
    start = time.time()
    assert proc.wait(timeout=30) == 143 and time.time() - start < 30
    assert not list(orphaned.glob("tmp*wandb*"))


def test_a_slurm_job_outlives_its_launcher(tmp_path):
    """Under SLURM the scheduler owns the job: the login shell that launched the sweep may end, the job trains
    on (on another host the launcher's pid would not even exist: every job stopped itself a second in)."""
    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    proc = _job(tmp_path, launcher.pid, SLURM_JOB_ID="4242")
    launcher.kill()
    launcher.wait()
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=3)  # the watch polls every 0.1 s: it would have stopped the job by now
    proc.send_signal(signal.SIGTERM)  # what scancel sends
    assert proc.wait(timeout=60) == 143
