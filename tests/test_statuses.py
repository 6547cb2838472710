"""Statuses that never lie: non-finite results fail, signals exit non-zero, writes are atomic, sweeps and
the table exit 1 on failed jobs, rows differ by every override but the seed, and sweeps resume."""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from hydra import compose, initialize_config_dir

from gradgroup.config.compose import CONF_DIR, register_resolvers
from gradgroup.results.table import make_table
from gradgroup.training import checkpoints as ckpt_mod
from gradgroup.common.atomic import atomic_write
from gradgroup.training.module import SegmentationModule
from gradgroup.jobs.record import write_record
from gradgroup.training.run import train
from helpers import compose_cfg, run_cli


def record(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_nan_weights_at_the_end_fail_the_run(data_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    monkeypatch.setattr(SegmentationModule, "on_train_end",
                        lambda self: next(self.model.parameters()).data.fill_(float("nan")), raising=False)
    with pytest.raises(FloatingPointError, match="not finite"):
        train(compose_cfg(["experiment=table3/dg4", "preset=smoke"]), tmp_path / "run")
    m = record(tmp_path / "run")
    assert m["status"] == "failed" and "not finite" in m["error"]


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signals_exit_non_zero_and_record_stopped(data_cache, tmp_path, signum, code):
    run_dir = tmp_path / "run"
    env = {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled"}
    proc = subprocess.Popen([sys.executable, "-m", "gradgroup.cli.train", "preset=smoke", "experiment=table3/dg4",
                             "trainer.max_epochs=50", f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run_dir / "csv").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)  # the csv dir appears once training has started
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-2000:]
    m = record(run_dir)
    assert m["status"] == "stopped" and signal.Signals(signum).name in m["error"]
    assert f"stopped by {signal.Signals(signum).name} after " in out.strip().splitlines()[-1]  # the one end line
    assert "Traceback" not in out + err


def test_a_failed_write_leaves_the_previous_record(tmp_path, monkeypatch):
    write_record(tmp_path, {"status": "running", "n": 1})
    monkeypatch.setattr("gradgroup.common.atomic.os.fsync",
                        lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(OSError):
        write_record(tmp_path, {"status": "running", "n": 2})
    assert record(tmp_path) == {"status": "running", "schema": 2, "error": None, "n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left behind


def test_disk_full_mid_run_keeps_the_last_good_checkpoint_and_records_failed(data_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    real, calls = ckpt_mod.atomic_torch_save, []

    def full_after_first_epoch(obj, path):
        calls.append(path)
        if len(calls) <= 2:  # epoch 0: best.ckpt and last.ckpt
            return real(obj, path)

        def half_then_enospc(f):
            f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        return atomic_write(path, half_then_enospc)

    monkeypatch.setattr(ckpt_mod, "atomic_torch_save", full_after_first_epoch)
    run_dir = tmp_path / "run"
    with pytest.raises(OSError):
        train(compose_cfg(["experiment=table3/dg4", "preset=smoke", "trainer.max_epochs=3"]), run_dir)
    m = record(run_dir)
    assert m["status"] == "failed" and "out of disk space writing" in m["error"]
    ckpts = run_dir / "checkpoints"
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["epoch"] == 0  # the previous good one, loadable
    assert not [p for p in ckpts.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("override, key", [("trainer.max_epochs=-1", "trainer.max_epochs=-1"),
                                           ("trainer.max_epochs=0", "trainer.max_epochs=0"),
                                           ("seed=-3", "seed=-3")])
def test_bad_epochs_and_seeds_stop_before_training(data_cache, tmp_path, override, key):
    run_dir = tmp_path / "run"
    proc = run_cli(["gradgroup.cli.train", "preset=smoke", override, f"hydra.run.dir={run_dir}"], data_cache,
                   tmp_path, check=False)
    assert proc.returncode == 2 and key in proc.stderr, proc.stderr[-2000:]
    assert not (run_dir / "checkpoints").exists()


def _run(exp, seed, miou, overrides=()):
    return {"status": "ok", "experiment": exp, "label": exp, "seed": seed, "miou": miou, "params": 1, "gmacs": 1.0,
            "overrides": [f"experiment={exp}", f"seed={seed}", *overrides]}


def test_table_rows_differ_by_every_override_but_the_seed():
    runs = [_run("table3/dg4", 0, 40.0, ["optim.lr=5e-4"]), _run("table3/dg4", 1, 42.0, ["optim.lr=5e-4"]),
            _run("table3/dg4", 0, 10.0, ["optim.lr=1e-2"]), _run("table3/dg4", 0, 30.0, ["optim.lr=1e-2", "threads=1"])]
    rows, md, _ = make_table(runs)
    by_label = {r["label"]: r for r in rows}
    assert by_label["table3/dg4 [optim.lr=5e-4]"]["n"] == 2 and by_label["table3/dg4 [optim.lr=5e-4]"]["miou"] == 41.0
    assert by_label["table3/dg4 [optim.lr=1e-2]"]["n"] == 1
    assert by_label["table3/dg4 [optim.lr=1e-2 threads=1]"]["miou"] == 30.0
    assert "[optim.lr=1e-2]" in md


def test_table_exits_1_on_failed_jobs_unless_allowed(tmp_path):
    for i, status in enumerate(["ok", "failed"]):
        write_record(tmp_path / str(i), {**_run("table3/dg4", i, 40.0), "status": status, "error": "boom"})
    from gradgroup.cli.table import main

    assert main([str(tmp_path), "--no-latency", "--wandb", "disabled"]) == 1
    assert main([str(tmp_path), "--no-latency", "--wandb", "disabled", "--allow-failed"]) == 0


def test_sweep_dirs_are_named_after_the_sweep_and_unique():
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        dirs = [compose("train", return_hydra_config=True).hydra.sweep.dir for _ in range(2)]
    assert all(d.startswith("multirun/train/") for d in dirs) and dirs[0] != dirs[1]


def _sweep(sweep_dir, data_cache, cwd, *extra):
    return run_cli(["gradgroup.cli.train", "-m", "preset=smoke", "experiment=table3/dg4", "model.encoder.groups=3,4",
                    f"hydra.sweep.dir={sweep_dir}", *extra], data_cache, cwd, check=False)


def test_sweep_exit_status_resume_and_fail_fast(data_cache, tmp_path):
    sweep = tmp_path / "sweep"
    first = _sweep(sweep, data_cache, tmp_path)  # job 0: groups=3 fails; job 1: groups=4 trains
    assert first.returncode == 1 and "1 of 2 jobs did not finish ok" in first.stdout, (first.stdout[-2000:],
                                                                                      first.stderr[-2000:])
    ok_dir = next(p.parent for p in sweep.rglob("metrics.json") if record(p.parent)["status"] == "ok")
    stamp = (ok_dir / "metrics.json").stat().st_mtime_ns

    again = _sweep(sweep, data_cache, tmp_path)  # same dir, no resume: refused, nothing overwritten
    assert again.returncode != 0 and "resume=true" in again.stdout + again.stderr, again.stdout[-2000:]
    resumed = _sweep(sweep, data_cache, tmp_path, "hydra.callbacks.sweep.resume=true",
                     "hydra.callbacks.sweep.allow_failed=true")
    assert resumed.returncode == 0 and f"skip {ok_dir.name}: already ok" in resumed.stdout, (resumed.stdout[-2000:],
                                                                                               resumed.stderr[-2000:])
    assert (ok_dir / "metrics.json").stat().st_mtime_ns == stamp, resumed.stdout[-2000:]  # the ok job did not rerun

    fast = _sweep(tmp_path / "fast", data_cache, tmp_path, "hydra.callbacks.sweep.fail_fast=true")
    assert fast.returncode != 0, fast.stdout[-2000:]
    statuses = [record(p.parent)["status"] for p in (tmp_path / "fast").rglob("metrics.json")]
    assert statuses == ["failed"], (statuses, fast.stdout[-2000:], fast.stderr[-2000:])


def test_a_resumed_sweep_skips_a_job_an_earlier_launch_still_runs(data_cache, tmp_path):
    """`make table3 RESUME=<dir>` while SLURM still runs a job of the first launch: that job is left to
    finish (skip, naming who holds its lock), its record untouched, not failed on the lock; the sweep
    exits 1 because the job has not finished ok yet."""
    from gradgroup.jobs.lifecycle import lock_run_dir

    sweep = tmp_path / "sweep"
    args = ["gradgroup.cli.train", "-m", "preset=smoke", "experiment=table3/dg4", "model.encoder.groups=3",
            f"hydra.sweep.dir={sweep}"]
    first = run_cli(args, data_cache, tmp_path, check=False)  # groups=3 fails at once, leaving a record
    (run_dir,) = [p.parent for p in sweep.rglob("metrics.json")]
    assert first.returncode == 1 and record(run_dir)["status"] == "failed", first.stdout[-2000:]
    write_record(run_dir, {**record(run_dir), "status": "running", "pid": os.getpid(), "host": "node7"})
    lock = lock_run_dir(run_dir)  # as the earlier launch's job, still training, holds it
    try:
        resumed = run_cli([*args, "hydra.callbacks.sweep.resume=true"], data_cache, tmp_path, check=False)
    finally:
        lock.release()
    out = resumed.stdout
    assert f"skip {run_dir.name}: still running in another process: pid {os.getpid()} on node7" in out, \
        (out[-2000:], resumed.stderr[-2000:])
    assert resumed.returncode == 1 and "in use by another run" not in out + resumed.stderr, out[-2000:]
    assert record(run_dir)["status"] == "running" and record(run_dir)["pid"] == os.getpid()


def test_a_stop_keeps_its_reason_whichever_exception_ends_the_run():
    """The launcher watch stops a job with a reason (training/signals.stop_self); Lightning's SIGTERM
    handler runs beside ours and its loop may raise SIGTERMException instead of our Stopped. Under load
    (two tests at a time) that lost the reason: the record said "stopped by SIGTERM", not why."""
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    from gradgroup.jobs import signals

    reason = "the sweep's launcher (pid 1) is gone"
    with pytest.raises(signals.Stopped) as raised:
        with signals.stop_on_signals():
            signals.stop_self(signal.SIGTERM, reason)
            time.sleep(5)
    got = signals.as_stopped(SIGTERMException())  # our Stopped was raised, Lightning's exception came out
    assert got is raised.value and str(got) == f"stopped by SIGTERM: {reason}"
    with signals.stop_on_signals():                  # a fresh block: nothing received yet
        signals._REASONS[signal.SIGTERM] = reason    # as stop_self leaves it before the handler runs
        got = signals.as_stopped(SIGTERMException())  # Lightning's exception first, ours never raised
    assert got.signum == signal.SIGTERM and got.reason == reason and not signals._REASONS
