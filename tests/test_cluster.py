"""A real cluster without a cluster: what a job inside SLURM records and does, from SLURM's environment
(the tests against a real controller are in test_slurm.py, marked `slurm`)."""
import os

from omegaconf import OmegaConf

from gradgroup.cli import sweep_callbacks
from gradgroup.jobs import slurm

SLURM_ENV = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT", "SLURMD_NODENAME")


def _slurm_env(monkeypatch, **env):
    for key in SLURM_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_a_record_under_slurm_names_its_node(monkeypatch):
    _slurm_env(monkeypatch)
    assert slurm.record_fields() == {}
    _slurm_env(monkeypatch, SLURM_JOB_ID="12", SLURM_ARRAY_JOB_ID="11", SLURM_ARRAY_TASK_ID="1",
               SLURMD_NODENAME="node2", SLURM_RESTART_COUNT="1")
    assert slurm.record_fields() == {"slurm_job_id": "11_1", "slurm_node": "node2", "slurm_restarts": 1}


def _sweep_config(tmp_path, target):
    return OmegaConf.create({"hydra": {"launcher": {"_target_": target}, "sweeper": {},
                                       "sweep": {"dir": str(tmp_path / "sweep")}}})


def test_the_launcher_pid_goes_to_local_workers_only(tmp_path, monkeypatch):
    guard = sweep_callbacks.SweepGuard()
    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    slurm_launcher = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    monkeypatch.delenv(sweep_callbacks.LAUNCHER_ENV, raising=False)
    guard.on_multirun_start(_sweep_config(tmp_path, joblib))
    assert os.environ[sweep_callbacks.LAUNCHER_ENV] == str(os.getpid())  # the joblib orphan guarantee
    guard.on_multirun_start(_sweep_config(tmp_path, slurm_launcher))
    assert sweep_callbacks.LAUNCHER_ENV not in os.environ  # sbatch would export it to other hosts
    assert sweep_callbacks.launcher_pid() is None
