"""A real cluster without a cluster: what a job inside SLURM records and does, from SLURM's environment
(the tests against a real controller are in test_slurm.py, marked `slurm`)."""
import os

from omegaconf import OmegaConf

from gradgroup.config import runtime
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


def test_the_launcher_pid_goes_to_local_workers_only(monkeypatch):
    """What cli/sweep_callbacks.py hands its jobs before the first starts."""
    joblib = OmegaConf.create({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"})
    slurm_launcher = OmegaConf.create({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"})
    monkeypatch.delenv(runtime.LAUNCHER_ENV, raising=False)
    runtime.publish_launcher(joblib)
    assert runtime.launcher_pid() == os.getpid()  # the joblib orphan guarantee
    runtime.publish_launcher(slurm_launcher)
    assert runtime.LAUNCHER_ENV not in os.environ and runtime.launcher_pid() is None  # sbatch would export it


def _fake_scontrol(tmp_path, monkeypatch, restarts="0", state="RUNNING", status=0):
    """`scontrol` on PATH: `show job` answers as the controller would, `requeue` is logged to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "scontrol"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {tmp_path}/calls.log
if [ "$1" = show ]; then
  echo "JobId=12 ArrayJobId=11 ArrayTaskId=1 JobName=x JobState={state} Reason=None Requeue=1 Restarts={restarts} X"
fi
exit {status}
""")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "calls.log"


def test_a_requeue_from_outside_is_seen_by_the_restart_count(tmp_path, monkeypatch):
    _slurm_env(monkeypatch)
    _fake_scontrol(tmp_path, monkeypatch, restarts="1")
    assert not slurm.requeued_from_outside()  # outside SLURM: never
    _slurm_env(monkeypatch, SLURM_JOB_ID="12", SLURM_RESTART_COUNT="0")
    assert slurm.requeued_from_outside()  # the controller counts one more restart than this run started with
    _slurm_env(monkeypatch, SLURM_JOB_ID="12", SLURM_RESTART_COUNT="1")
    assert not slurm.requeued_from_outside()  # scancel, a time limit: no new restart
    _fake_scontrol(tmp_path, monkeypatch, restarts="1", state="REQUEUE_HOLD")
    assert slurm.requeued_from_outside()
    _fake_scontrol(tmp_path, monkeypatch, restarts="1", status=1)  # the controller cannot say
    assert not slurm.requeued_from_outside()


def _life(tmp_path, resumable=True, **record):
    from gradgroup.jobs.lifecycle import RunLifecycle

    life = RunLifecycle(tmp_path / "run", {"experiment": "x"}, None, max_requeues=3, resumable=resumable)
    life.record.update(record)
    return life


def _end(life, signum):
    import json
    import signal

    sigterm = signal.getsignal(signal.SIGTERM)  # a requeue ignores SIGTERM from then on: not in pytest's process
    try:
        with life.guard():
            os.kill(os.getpid(), signum)
    except BaseException as err:  # noqa: BLE001 - what the run ended with
        return err, json.loads((life.run_dir / "metrics.json").read_text())
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    raise AssertionError("the signal did not end the run")


def test_sigterm_of_an_outside_requeue_is_recorded_requeued_and_leaves_no_result(tmp_path, monkeypatch):
    import signal

    _slurm_env(monkeypatch, SLURM_JOB_ID="12", SLURM_RESTART_COUNT="0")
    _fake_scontrol(tmp_path, monkeypatch, restarts="1")
    err, rec = _end(_life(tmp_path, epochs_done=2), signal.SIGTERM)
    assert isinstance(err, slurm.Requeued) and err.code == 143  # cli/train.py: no result, the sweep waits
    assert rec["status"] == "requeued" and "from outside" in rec["error"] and "last.ckpt" in rec["error"]
    _fake_scontrol(tmp_path, monkeypatch, restarts="0")  # scancel: stopped for good
    err, rec = _end(_life(tmp_path / "b"), signal.SIGTERM)
    assert not isinstance(err, slurm.Requeued) and rec["status"] == "stopped"


def test_a_requeue_that_makes_no_progress_is_refused_never_a_loop(tmp_path, monkeypatch):
    import signal

    from gradgroup.errors import GradgroupError

    _slurm_env(monkeypatch, SLURM_JOB_ID="12", SLURM_RESTART_COUNT="1")
    calls = _fake_scontrol(tmp_path, monkeypatch, restarts="1")
    err, rec = _end(_life(tmp_path / "two_phase", resumable=False, epochs_done=5), signal.SIGUSR1)
    assert isinstance(err, GradgroupError) and rec["status"] == "failed"
    assert "requeue refused" in rec["error"] and "cannot resume mid-run" in rec["error"]
    err, rec = _end(_life(tmp_path / "stuck", resumed_at_epoch=4, epochs_done=4), signal.SIGUSR1)
    assert rec["status"] == "failed" and "no epoch finished since" in rec["error"]
    assert not calls.is_file() or "requeue" not in calls.read_text()  # SLURM was never asked
    err, rec = _end(_life(tmp_path / "moving", resumed_at_epoch=4, epochs_done=5), signal.SIGUSR1)
    assert isinstance(err, slurm.Requeued) and rec["status"] == "requeued"
    assert "requeue 12" in calls.read_text()


def test_past_max_requeues_the_notice_is_ignored_and_the_time_limit_ends_the_run_stopped(tmp_path, monkeypatch):
    """SIGUSR1 with no requeues left (or on a rank > 0) must not take its default action, which killed the
    job without a record on the 2-node cluster (the job's process had never ignored it under `python -m`)."""
    import signal

    _slurm_env(monkeypatch, SLURM_JOB_ID="12", SLURM_RESTART_COUNT="3")  # max_requeues=3: none left
    calls = _fake_scontrol(tmp_path, monkeypatch, restarts="3")
    usr1 = signal.signal(signal.SIGUSR1, signal.SIG_DFL)  # as a job that never ran cli/train.py's first line
    try:
        life = _life(tmp_path, epochs_done=5)
        try:
            with life.guard():
                os.kill(os.getpid(), signal.SIGUSR1)  # would end pytest's process if not ignored
                os.kill(os.getpid(), signal.SIGTERM)  # the time limit
        except BaseException as err:  # noqa: BLE001
            assert not isinstance(err, slurm.Requeued) and err.code == 143
    finally:
        signal.signal(signal.SIGUSR1, usr1)
    import json

    assert json.loads((life.run_dir / "metrics.json").read_text())["status"] == "stopped"
    assert "requeue" not in calls.read_text()


def test_one_spelling_of_the_slurm_launcher_everywhere():
    """`hydra/launcher=slurm` (conf/hydra/launcher/slurm.yaml: the USR1 notice, the preset's resources), never
    `hydra/launcher=submitit_slurm`, which bypasses it: jobs would die at the time limit instead of requeueing."""
    from gradgroup.config.compose import REPO_ROOT

    files = [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").rglob("*.md"), *(REPO_ROOT / "sweeps").glob("*.yaml"),
             *(REPO_ROOT / "conf").rglob("*.yaml"), *(REPO_ROOT / "src").rglob("*.py"), REPO_ROOT / "Makefile"]
    bad = [str(f.relative_to(REPO_ROOT)) for f in files if "launcher=submitit_slurm" in f.read_text(encoding="utf-8")]
    assert not bad, f"say hydra/launcher=slurm in {bad}"
