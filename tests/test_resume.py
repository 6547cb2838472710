"""Exact resume: a run killed with SIGKILL and resumed from its last.ckpt gives the uninterrupted run's numbers.

Through the CLI, as a user would: one uninterrupted run; the same run killed (SIGKILL, no chance to clean
up) once its first epoch's checkpoint exists, read back as `killed` (not `running` forever), then resumed
in place with `ckpt_path=<run>/checkpoints/last.ckpt`. Every logged number (losses per step, val mIoU,
alpha) and the final test must be bit-identical; the csv keeps the whole history; the record says where
it resumed from and sums the wall time of both parts. DG4* with gradual grouping, so the alpha schedule,
dropout, the sampler and the augmentation all come into play. The uninterrupted run loads in-process and
the killed/resumed one with 2 DataLoader workers: the worker count must not change a number either.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import torch

from gradgroup.results.records import load_runs
from helpers import run_cli

ARGS = ["preset=smoke", "experiment=table3/dg4", "grouping=gradual", "trainer.max_epochs=4",
        "trainer.limit_val_batches=2"]
WORKERS = ["data.num_workers=2"]  # the killed and resumed run only; the whole run uses the preset's 0


def _rows(run_dir):
    keys = ("epoch", "step", "train/loss_step", "val/miou", "grouping/alpha", "test/miou")
    return [tuple(r.get(k) for k in keys) for r in csv.DictReader((run_dir / "csv" / "metrics.csv").open())]


def _kill_after_first_checkpoint(run_dir, data_cache, cwd):
    env = {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled"}
    proc = subprocess.Popen([sys.executable, "-m", "gradgroup.cli.train", *ARGS, *WORKERS, f"hydra.run.dir={run_dir}"],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if last.is_file():  # written atomically: a file that exists is a whole checkpoint
            epoch = torch.load(last, weights_only=True, map_location="cpu")["epoch"]
            if 0 <= epoch < 3:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return epoch
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the run finished (or hung) before it could be killed mid-run")


def test_sigkill_then_resume_is_bit_identical(data_cache, tmp_path):
    whole = tmp_path / "whole"
    run_cli(["gradgroup.cli.train", *ARGS, f"hydra.run.dir={whole}"], data_cache, tmp_path)

    run = tmp_path / "killed"
    killed_at = _kill_after_first_checkpoint(run, data_cache, tmp_path)
    (stale,) = load_runs([run])
    assert stale["status"] == "killed" and "resume it with ckpt_path" in stale["error"]

    proc = run_cli(["gradgroup.cli.train", *ARGS, *WORKERS, f"hydra.run.dir={run}",
                    f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"], data_cache, tmp_path)
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, run))
    assert b["status"] == "ok" and b["resumed_from"].endswith("last.ckpt") and b["resumed_at_epoch"] == killed_at + 1
    assert b["miou"] == a["miou"] and b["test_loss"] == a["test_loss"] and b["class_iou"] == a["class_iou"]
    assert _rows(run) == _rows(whole)  # the whole history, every number bit-identical
    assert b["wall_s"] > b["wall_s_before_resume"] > 0, proc.stdout[-1000:]


def test_a_resumed_sweep_continues_only_a_cut_off_attempt_of_the_same_job(tmp_path):
    """`unfinished_checkpoint` (a resumed sweep's choice for a job without an ok record): a killed, stopped
    or requeued attempt continues from its last.ckpt; a failed one, one without a checkpoint and one whose
    overrides differ (another job at this number) start afresh, each saying why."""
    from gradgroup.jobs.lifecycle import unfinished_checkpoint
    from gradgroup.jobs.record import write_record

    overrides = ["experiment=table3/dg4", "seed=3"]
    last = tmp_path / "checkpoints" / "last.ckpt"
    write_record(tmp_path, {"status": "running", "pid": 1, "host": "gone", "overrides": overrides})
    assert unfinished_checkpoint(tmp_path, overrides) == (None, "no checkpoint from an earlier attempt")
    last.parent.mkdir()
    last.write_bytes(b"")
    for status in ("running", "stopped", "requeued", "killed"):
        write_record(tmp_path, {"status": status, "overrides": overrides})
        path, why = unfinished_checkpoint(tmp_path, overrides)
        assert path == str(last) and f"cut off ({status})" in why, (status, why)
    assert unfinished_checkpoint(tmp_path, ["experiment=table3/dg4", "seed=4"])[0] is None
    write_record(tmp_path, {"status": "failed", "error": "NaN", "overrides": overrides})
    assert unfinished_checkpoint(tmp_path, overrides) == (None, "its earlier attempt ended failed, so it starts afresh")


def test_the_checkpoint_handed_to_ddp_ranks_reads_back_as_the_same_path():
    """DDP ranks > 0 of a continued sweep job get `ckpt_path=...` on their command line (cli/train.py): any
    path (spaces, `=`, `,`, a quote) must parse back to itself, or those ranks would resume from elsewhere."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from gradgroup.config.runtime import quoted_override

    path = "/tmp/a b/it's/x=y,z/last.ckpt"
    (override,) = OverridesParser.create().parse_overrides([quoted_override("ckpt_path", path)])
    assert override.key_or_group == "ckpt_path" and override.value() == path
