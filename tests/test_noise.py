"""Noise and surprises (issue 19, item 6): no `srun` hint on a host with SLURM's client outside SLURM, no
"Checkpoint directory ... exists and is not empty" on a resume, no sync_dist warnings under DDP, one data
cache per user whatever the working dir, and DDP validating the same images as one process under
limit_val_batches."""
import json
import os
import shutil

import pytest
from torch.utils.data import DataLoader

from gradgroup.data.synthetic import default_cache_dir
from gradgroup.training import distributed
from gradgroup.training.distributed import eval_once, single_process_images
from helpers import compose_cfg, run_cli

ARGS = ["preset=smoke", "experiment=table3/dg4"]


@pytest.mark.skipif(shutil.which("srun") is None, reason="the hint needs SLURM's client (srun) installed")
def test_a_run_and_its_resume_print_no_srun_hint_nor_checkpoint_dir_warning(data_cache, tmp_path):
    run = tmp_path / "run"
    first = run_cli(["gradgroup.cli.train", *ARGS, f"hydra.run.dir={run}"], data_cache, tmp_path)
    again = run_cli(["gradgroup.cli.train", *ARGS, "trainer.max_epochs=2", f"hydra.run.dir={run}",
                     f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"], data_cache, tmp_path)
    for proc in (first, again):
        out = proc.stdout + proc.stderr
        assert "srun" not in out and "exists and is not empty" not in out, out[-3000:]
    assert json.loads((run / "metrics.json").read_text())["resumed_at_epoch"] == 1


def test_ddp_prints_no_sync_dist_warning(data_cache, tmp_path):
    run = tmp_path / "run"
    proc = run_cli(["gradgroup.cli.train", *ARGS, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                    "threads=1", "data.limit_val=3", f"hydra.run.dir={run}"], data_cache, tmp_path)
    assert "sync_dist=True" not in proc.stdout + proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize("limit, expected", [(None, 7), (1.0, 7), (2, 4), (1, 2), (0.5, 4), (0.25, 2), (10, 7)])
def test_ddp_ranks_share_the_images_one_process_validates(monkeypatch, limit, expected):
    loader = DataLoader(list(range(7)), batch_size=2)
    assert single_process_images(loader, limit) == expected
    one = [i for b in loader for i in b.tolist()][:expected]  # what one process sees under the limit
    for world in (2, 3):
        seen = []
        for rank in range(world):
            monkeypatch.setattr(distributed, "_world", lambda r=rank: (world, r))
            seen += [i for b in eval_once(loader, expected) for i in b.tolist()]
        assert sorted(seen) == one, (world, seen)


def test_the_data_cache_is_one_place_per_user_whatever_the_working_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADGROUP_DATA_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    roots = []
    for cwd in ("a", "b"):
        (tmp_path / cwd).mkdir()
        monkeypatch.chdir(tmp_path / cwd)
        from hydra.utils import instantiate

        roots.append(instantiate(compose_cfg(ARGS).data).data_root)
    assert roots[0] == roots[1] and roots[0].parent == tmp_path / "xdg" / "gradgroup" / "synthetic_cityscapes"
    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
