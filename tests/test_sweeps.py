"""Multiruns at the smoke preset through the CLI: the sweep files, launchers, a failing job, the table."""
import json
import pytest
from omegaconf import OmegaConf

from hydra_plugins.gradgroup_search.config import ConfirmConf

from gradgroup.config.compose import REPO_ROOT
from helpers import compose_cfg, run_cli

# study_base.yaml is what the study's parts share (their defaults), not a sweep of its own
SWEEPS = sorted(p.stem for p in (REPO_ROOT / "sweeps").glob("*.yaml") if p.stem != "study_base")


@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_sweep_file_composes(sweep, data_cache, tmp_path):
    """Hydra composes the sweep file, and every experiment it sweeps over exists and composes."""
    sweep_cfg = OmegaConf.load(REPO_ROOT / "sweeps" / f"{sweep}.yaml")
    sweeper = sweep_cfg.hydra.sweeper  # the placement search sweeps its own space; its paper rows are experiments
    names = str(sweeper.params.experiment).split(",") if "params" in sweeper else list(ConfirmConf().paper_rows)
    for name in names:
        assert compose_cfg([f"experiment={name}"]).name.startswith("table")
    proc = run_cli(["gradgroup.cli.train", "--config-dir", str(REPO_ROOT / "sweeps"), "--config-name", sweep,
                    "--cfg", "hydra"], data_cache, tmp_path)
    assert "mode: MULTIRUN" in proc.stdout and names[0] in proc.stdout


def multirun(sweep_args, data_cache, tmp_path, extra=()):
    sweep_dir = tmp_path / "sweep"
    run_cli(["gradgroup.cli.train", *sweep_args, "preset=smoke", f"hydra.sweep.dir={sweep_dir}", *extra],
            data_cache, tmp_path)
    return sweep_dir, sorted(sweep_dir.rglob("metrics.json"))


def test_two_job_multirun_then_table(data_cache, tmp_path):
    sweep_dir, files = multirun(["-m", "experiment=table3/erfnet,table3/dg4s"], data_cache, tmp_path)
    assert len(files) == 2 and len({f.parent for f in files}) == 2  # output dirs never collide
    assert all(json.loads(f.read_text())["status"] == "ok" for f in files)
    table = run_cli(["gradgroup.cli.table", str(sweep_dir), "--no-latency", "--wandb", "disabled"], data_cache, tmp_path)
    assert "DG4S*" in table.stdout and (sweep_dir / "pareto.png").stat().st_size > 1000


def test_failing_job_does_not_stop_the_sweep(data_cache, tmp_path):
    # allow_failed / --allow-failed: exit 0 despite the failed job (tests/test_statuses.py checks the exit 1)
    sweep_dir, files = multirun(["-m", "experiment=table3/dg4", "model.encoder.groups=3,4"], data_cache, tmp_path,
                                ["hydra.callbacks.sweep.allow_failed=true"])
    status = sorted(json.loads(f.read_text())["status"] for f in files)
    assert status == ["failed", "ok"]
    table = run_cli(["gradgroup.cli.table", str(sweep_dir), "--no-latency", "--wandb", "disabled", "--allow-failed"],
                    data_cache, tmp_path)
    assert "failed" in table.stdout and "does not divide" in table.stdout


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_launchers(data_cache, tmp_path, launcher):
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.timeout_min=10"]
    _, files = multirun(["-m", "experiment=table3/dg2,table3/dg8", f"hydra/launcher={launcher}"], data_cache,
                        tmp_path, extra)
    assert len(files) == 2 and all(json.loads(f.read_text())["status"] == "ok" for f in files)
