"""Killing a sweep leaves no job behind, and no record claims what did not happen (issue 19, item 1).

A real joblib sweep (4 jobs, 2 at a time, as every CPU Make target runs them) is killed mid-training with
SIGKILL or SIGTERM to the launcher: within 30 s no process it started is alive, every job that was
training says `stopped` (never `ok`), and resuming the sweep finishes every job with one record and one
clean csv history each, the jobs the kill cut off continuing from their last.ckpt (exact resume; its
bit-identity: tests/test_resume.py). A second writer into a run dir in use is refused, naming its pid.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from gradgroup.errors import GradgroupError
from gradgroup.jobs.lifecycle import lock_run_dir, still_running
from gradgroup.jobs.record import write_record

EPOCHS = 5
SWEEP = ["-m", "experiment=table3/dg2,table3/dg4,table3/d,table3/dg8", "preset=smoke", "hydra/launcher=joblib",
         "hydra.launcher.n_jobs=2", "threads=1", "data.num_workers=0", f"trainer.max_epochs={EPOCHS}",
         "hydra/hydra_logging=disabled"]


def _env(data_cache):
    return {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled"}


def _records(sweep):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))}


def _alive(procs):
    return [p.pid for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _epochs(run_dir):
    rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    return [int(r["epoch"]) for r in rows if r.get("train/loss_epoch")]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_sweep_leaves_no_job_and_resumes_clean(data_cache, tmp_path, signum):
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "gradgroup.cli.train", *SWEEP, f"hydra.sweep.dir={sweep}"]
    log = (tmp_path / "launch.log").open("w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(data_cache), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:  # both running jobs have a checkpoint: mid-training
        if len(list(sweep.glob("*/checkpoints/last.ckpt"))) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, (tmp_path / "launch.log").read_text()[-3000:]
    started = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signum)
    proc.wait(timeout=60)
    gone_by = time.time() + 30
    while _alive(started) and time.time() < gone_by:
        time.sleep(0.5)
    assert not _alive(started), f"still alive 30 s after the launcher died: {_alive(started)}"

    records = _records(sweep)
    assert len(records) >= 2
    for name, r in records.items():  # a job that did not finish never says ok
        assert r["status"] != "ok" or _epochs(sweep / name)[-1:] == [EPOCHS - 1], (name, r)
        if r["status"] == "stopped":
            assert "launcher" in r["error"] and "is gone" in r["error"], r["error"]
    assert any(r["status"] == "stopped" for r in records.values()), records
    cut_off = {name for name, r in records.items()
               if r["status"] == "stopped" and (sweep / name / "checkpoints" / "last.ckpt").is_file()}
    assert cut_off, records  # both running jobs had a checkpoint when the launcher died
    if signum == signal.SIGTERM:
        return  # the resume is the same either way; once is enough for the test's time

    done = subprocess.run([*cmd, "hydra.callbacks.sweep.resume=true"], cwd=tmp_path, env=_env(data_cache),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = _records(sweep)
    assert len(records) == 4 and all(r["status"] == "ok" for r in records.values()), records
    for name in cut_off:  # continued from the epoch the kill left, not rerun from the start
        assert records[name]["resumed_from"].endswith("last.ckpt") and records[name]["resumed_at_epoch"] >= 1, name
        assert f"{name}: its earlier attempt was cut off (stopped): continuing from" in done.stdout, done.stdout[-3000:]
    for name in records:
        lines = (sweep / name / "csv" / "metrics.csv").read_text().splitlines()
        assert lines.count(lines[0]) == 1, name  # one header: one history, not two interleaved
        assert _epochs(sweep / name) == list(range(EPOCHS)), name  # every epoch once, in order
        ckpts = sorted(p.name for p in (sweep / name / "checkpoints").iterdir())
        assert "best-v1.ckpt" not in ckpts and not [c for c in ckpts if ".tmp" in c], ckpts


def test_a_second_writer_into_a_run_dir_in_use_is_refused(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from gradgroup.jobs.lifecycle import lock_run_dir; "
                               f"lock = lock_run_dir(Path({str(tmp_path)!r})); print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        write_record(tmp_path, {"status": "running", "pid": holder.pid, "host": "here"})
        with pytest.raises(GradgroupError, match=f"in use by another run: pid {holder.pid}.*kill {holder.pid}"):
            lock_run_dir(tmp_path)
        assert still_running(tmp_path) == (f"still running in another process: pid {holder.pid} on here holds its "
                                           "lock (its metrics.json says running); this launch leaves it to finish")
    finally:
        holder.kill()
        holder.wait()
    assert still_running(tmp_path) is None  # a resumed sweep runs it: the holder is gone
    lock_run_dir(tmp_path).release()  # free once its holder is gone, even killed
