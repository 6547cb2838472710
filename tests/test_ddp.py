"""DDP on CPU: 2 processes (gloo), one record, and an evaluation that counts every val image exactly once.

The job trains with `trainer=ddp` on 2 CPU processes and scores an odd number of val images (3: a padded
DistributedSampler would score one of them twice). Its recorded mIoU must equal a single-process test of
the checkpoint it used; rank 1 must neither write nor print.
"""
import json

import pytest
import pytorch_lightning as pl
from hydra.utils import instantiate

from gradgroup.common.scores import mean_iou
from gradgroup.models.weights_file import load_weights_file
from helpers import compose_cfg, run_cli

ARGS = ["preset=smoke", "experiment=table3/dg4", "data.limit_val=3", "threads=1"]
DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.enable_progress_bar=false"]


def single_process_miou(ckpt, data_cache, monkeypatch):
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    cfg = compose_cfg(ARGS)
    dm = instantiate(cfg.data)
    dm.setup("fit")
    module = instantiate(cfg.module)(model=instantiate(cfg.model).build(), class_names=dm.class_names)
    module.load_state_dict(load_weights_file(ckpt, "ckpt", "a checkpoint")["state_dict"], strict=False)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.test(module, dataloaders=dm.val_dataloader(), verbose=False)
    assert len(dm.datasets["val"]) == 3
    return mean_iou(module.last_test_class_iou)


def test_ddp_on_two_cpu_processes_scores_each_image_once(data_cache, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    proc = run_cli(["gradgroup.cli.train", *ARGS, *DDP, f"hydra.run.dir={run_dir}"], data_cache, tmp_path)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["status"] == "ok" and m["checkpoint_used"].endswith("last.ckpt")
    assert proc.stdout.count("done DG4*") == 1, proc.stdout[-3000:]  # rank 0 prints, rank 1 does not
    assert m["miou"] == pytest.approx(single_process_miou(run_dir / m["checkpoint_used"], data_cache, monkeypatch), abs=1e-9)


def test_ddp_inside_a_sweep_runs_each_job_once(data_cache, tmp_path):
    """Lightning starts rank 1 by rerunning the command: inside `-m` that must be this job, not the sweep."""
    sweep = tmp_path / "sweep"
    proc = run_cli(["gradgroup.cli.train", "-m", *ARGS, *DDP, "seed=0,1", f"hydra.sweep.dir={sweep}"],
                   data_cache, tmp_path)
    records = sorted(sweep.rglob("metrics.json"))
    assert [json.loads(p.read_text())["seed"] for p in records] == [0, 1], proc.stdout[-3000:]
    assert all(json.loads(p.read_text())["status"] == "ok" for p in records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]  # no stray run dirs from rank 1
