import os
import shutil
import sys
import tempfile
from pathlib import Path

# wandb never needs an account or network in tests
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

# The session's own system temp dir (inherited by every subprocess), so the check at its end sees only what
# these tests left, not other programs' files in /tmp.
SESSION_TMP = Path(tempfile.mkdtemp(prefix="gradgroup-tests-"))
os.environ["TMPDIR"] = str(SESSION_TMP)
tempfile.tempdir = None  # recomputed from TMPDIR

import pytest


def pytest_sessionfinish(session, exitstatus):
    """No tmp*wandb* dir may outlive a test: wandb's temp dirs must go on every exit path (issue 19)."""
    if "wandb" in sys.modules:  # this process's own are removed at interpreter exit; do that now
        from gradgroup.training.wandb_media import remove_wandb_temp_dirs

        remove_wandb_temp_dirs()
    left = sorted(p.name for p in SESSION_TMP.glob("tmp*wandb*"))
    if left:
        print(f"\nerror: the tests left {len(left)} wandb temp dirs in the system temp dir: {left}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(SESSION_TMP, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_inherited_wandb_service():
    """A test that starts a wandb run in this process leaves WANDB_SERVICE (the address of this process's
    wandb service) in os.environ; a job a later test starts would inherit it and share that service, where a
    SIGKILLed job's stream stays open: its resume then fails with "run ID ... is in use", which a job started
    from a shell never sees. Each test starts from the environment a user's shell has."""
    os.environ.pop("WANDB_SERVICE", None)
    yield


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory):
    """One generated dataset cache for the whole session (the datamodule caches by generator params)."""
    return tmp_path_factory.mktemp("data_cache")


@pytest.fixture(scope="session")
def gradual_smoke_run(data_cache, tmp_path_factory):
    """One gradual DG4* smoke run for the session: its test used converted.pt. Tests that change a run dir
    work on a copy of it."""
    from helpers import run_cli

    run_dir = tmp_path_factory.mktemp("gradual_smoke") / "run"
    run_cli(["gradgroup.cli.train", "preset=smoke", "experiment=table3/dg4", "grouping=gradual",
             f"hydra.run.dir={run_dir}"], data_cache, run_dir.parent)
    return run_dir
