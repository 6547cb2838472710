"""The sweep's wait for SLURM jobs where `sacct` fails (jobs/slurm_watch.py), against stand-in `sacct` and
`squeue` commands on PATH that answer as SLURM 22.05's do (the real ones: tests/test_slurm.py)."""
import os
import stat

import pytest

pytest.importorskip("submitit")
from gradgroup.jobs import slurm_watch  # noqa: E402  (needs the [cluster] extra)


def _command(bin_dir, name, stdout="", stderr="", rc=0):
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\nprintf '%s' '{stdout}'\nprintf '%s' '{stderr}' >&2\nexit {rc}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def slurm_bin(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    _command(tmp_path, "sacct", stderr="Slurm accounting storage is disabled\n", rc=1)
    return tmp_path


def test_controller_states_name_every_id_and_gone_for_the_unknown(slurm_bin):
    _command(slurm_bin, "squeue", stdout="18_0|RUNNING\n18_2|FAILED\n")
    assert slurm_watch.controller_states({"18_0", "18_1", "18_2"}) == {
        "18_0": "RUNNING", "18_1": slurm_watch.GONE, "18_2": "FAILED"}
    _command(slurm_bin, "squeue", stderr="slurm_load_jobs error: Invalid job id specified\n", rc=1)
    assert slurm_watch.controller_states({"7"}) == {"7": slurm_watch.GONE}
    _command(slurm_bin, "squeue", stderr="slurm_load_jobs error: Unable to contact slurm controller\n", rc=1)
    assert slurm_watch.controller_states({"7"}) is None  # no answer: nothing concluded


@pytest.mark.parametrize("state, done", [("RUNNING", False), ("PENDING", False), ("REQUEUE_HOLD", False),
                                         ("REQUEUE_FED", False), ("FAILED", True), ("TIMEOUT", True),
                                         ("CANCELLED", True), ("OUT_OF_MEMORY", True)])
def test_the_wait_ends_only_in_a_final_state(slurm_bin, state, done):
    _command(slurm_bin, "squeue", stdout=f"5_0|{state}\n")
    watcher = slurm_watch.ControllerWatcher(delay_s=1)
    watcher.register_job("5_0")
    watcher.update()
    assert not watcher.sacct_works  # sacct failed once: the controller is asked from then on
    assert watcher.get_state("5_0", mode="cache") == state and watcher.is_done("5_0", mode="cache") is done


def test_a_job_the_controller_forgot_ends_the_wait(slurm_bin):
    _command(slurm_bin, "squeue", stderr="slurm_load_jobs error: Invalid job id specified\n", rc=1)
    watcher = slurm_watch.ControllerWatcher(delay_s=1)
    watcher.register_job("9")
    watcher.update()
    assert watcher.is_done("9", mode="cache") and watcher.get_state("9", mode="cache") == slurm_watch.GONE
