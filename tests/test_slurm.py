"""Against a real SLURM controller: a cluster on this host (scripts/slurm_local.sh), marked `slurm`.

`make test-slurm` runs them on two nodes, each a slurmd in its own namespaces with 1 CPU (SLURM_NODES=2;
root; elsewhere one line says why not). The session fixture brings the cluster up (with the node count
SLURM_NODES names) and, if it did, down again. Checks that need two nodes (jobs landing on both, DDP across
nodes) adapt to the cluster's node count; run on one node they check the one-node layout. Every job goes through `hydra/launcher=slurm` as a user's sweep
would: sbatch, an array, srun, SIGUSR1, `scontrol requeue`, SLURM's environment. Checked: the records
(one per job, `ok`, naming their SLURM job and array task), SLURM's own job-completion log
(jobcomp/filetxt) agreeing with them, a resumed sweep skipping what SLURM finished, a requeue on SIGUSR1
mid-training resuming bit-exactly (same csv history and test numbers as a run never stopped), a job
stopped at its time limit recorded as failed for that reason, an external `scontrol requeue` of a running
job ending in one ok record that resumed bit-exactly, a DDP job whose ranks come from srun (one rank per
node on two nodes) writing one record with the mIoU of a single-process evaluation, a job that outlives
its killed launcher, a resumed sweep leaving a job SLURM still runs to it, and a job killed without a result
ending the sweep's wait, naming the job and state.
"""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import run_cli
from test_ddp import single_process_miou  # the same job (dg4, 3 val images) evaluated in one process

pytestmark = [pytest.mark.slurm, pytest.mark.filterwarnings("ignore:The `srun` command is available")]
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "slurm_local.sh"
SLURM = ["hydra/launcher=slurm", "preset=smoke", "threads=1"]


@pytest.fixture(scope="session")
def jobcomp():
    """The cluster (up for the session) and its job-completion log, as slurm.conf names it."""
    why = subprocess.run([str(SCRIPT), "check"], capture_output=True, text=True)
    if why.returncode != 0:
        pytest.skip(f"no local SLURM cluster: {why.stdout.strip() or why.stderr.strip()}")
    was_up = subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0 if _has("sinfo") else False
    subprocess.run([str(SCRIPT), "up"], check=True)
    conf = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    yield Path(re.search(r"^JobCompLoc\s*=\s*(\S+)", conf, re.M).group(1))
    for job in subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split():
        subprocess.run(["scancel", job])  # nothing a test left running outlives the session
    if not was_up:
        subprocess.run([str(SCRIPT), "down"], check=True)


@pytest.fixture(scope="session")
def nodes(jobcomp) -> int:
    """How many compute nodes the cluster has."""
    return len(subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True).stdout.split())


def _has(cmd):
    return any((Path(d) / cmd).is_file() for d in os.environ.get("PATH", "").split(os.pathsep))


def completed(log: Path, slurm_job_id: str, last: str | None = None) -> list[dict]:
    """Every completion SLURM logged for a job ("<array>_<task>" or "<job>"), in order, as its key=value
    fields (JobState, NodeList, ...); with `last`, waits up to 60 s for an entry in that state (SLURM logs
    a job once its processes are gone, just after the sweep read the job's result)."""
    array, _, task = slurm_job_id.partition("_")
    deadline = time.time() + 60
    while True:
        found = []
        for line in log.read_text().splitlines() if log.is_file() else []:
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if (f.get("ArrayJobId"), f.get("ArrayTaskId")) == (array, task) or (not task and f.get("JobId") == array):
                found.append(f)
        if last is None or last in [f["JobState"] for f in found] or time.time() > deadline:
            return found
        time.sleep(1)


def completions(log: Path, slurm_job_id: str, last: str | None = None) -> list[str]:
    """The JobState of every completion SLURM logged for a job, in order (`completed`)."""
    return [f["JobState"] for f in completed(log, slurm_job_id, last)]


def records(sweep: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))]


def rows(run_dir: Path):
    keys = ("epoch", "step", "train/loss_step", "val/miou", "grouping/alpha", "test/miou")
    return [tuple(r.get(k) for k in keys) for r in csv.DictReader((run_dir / "csv" / "metrics.csv").open())]


def test_sweep_is_a_job_array_on_every_node_and_resumes_without_rerunning(jobcomp, nodes, data_cache, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["gradgroup.cli.train", "-m", *SLURM, "experiment=table3/erfnet,table3/dg4", f"hydra.sweep.dir={sweep}"]
    run_cli(args, data_cache, tmp_path, timeout=1500)  # a busy host (CI, or beside a study) is slow
    recs = records(sweep)
    assert [r["status"] for r in recs] == ["ok", "ok"]
    array = recs[0]["slurm_job_id"].split("_")[0]  # one array, tasks 0 and 1
    assert sorted(r["slurm_job_id"] for r in recs) == [f"{array}_0", f"{array}_1"]
    # 1 CPU per node, a job asks for 1: on two nodes the two jobs run side by side, one on each
    assert len({r["slurm_node"] for r in recs}) == min(nodes, 2), [r["slurm_node"] for r in recs]
    for r in recs:
        assert completions(jobcomp, r["slurm_job_id"], "COMPLETED") == ["COMPLETED"], r["slurm_job_id"]
    table = run_cli(["gradgroup.cli.table", str(sweep), "--no-latency"], data_cache, tmp_path)
    assert (sweep / "results.md").is_file(), table.stdout

    again = run_cli([*args, "hydra.callbacks.sweep.resume=true"], data_cache, tmp_path, timeout=1500)
    assert "2 of 2 recorded jobs are ok and will be skipped" in again.stdout, again.stdout[-2000:]
    logs = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*_log.out"))
    assert logs.count("already ok") == 2, logs[-2000:]  # each job of the second array skipped itself
    assert records(sweep) == recs  # nothing ran again


REQUEUE = ["experiment=table3/dg4", "grouping=gradual", "trainer.max_epochs=8", "trainer.limit_val_batches=2"]


@pytest.fixture(scope="module")
def whole(data_cache, tmp_path_factory) -> Path:
    """The requeued job's run, never stopped, here without SLURM: what a resumed run must equal."""
    run_dir = tmp_path_factory.mktemp("whole") / "run"
    run_cli(["gradgroup.cli.train", "preset=smoke", "threads=1", *REQUEUE, f"hydra.run.dir={run_dir}"], data_cache,
            run_dir.parent)
    return run_dir


@pytest.mark.parametrize("how", ["sigusr1", "external"])
def test_requeue_resumes_exactly(how, jobcomp, whole, data_cache, tmp_path):
    """sigusr1: the notice before the limit (`scancel --signal=USR1`, what --signal=USR1@N sends), on which the
    job requeues itself. external: `scontrol requeue` from outside (an admin, PreemptMode=REQUEUE), which
    SLURM delivers as SIGTERM. Either way: one ok record, resumed from last.ckpt, every number as `whole`."""
    sweep = tmp_path / "sweep"
    sweep_proc = _sweep(data_cache, tmp_path, sweep, REQUEUE)
    signalled_at = _signal_mid_training(sweep, sweep_proc, how)
    out, _ = sweep_proc.communicate(timeout=1200)
    assert sweep_proc.returncode == 0, out[-3000:]  # the sweep waited for the rerun: it did not count it failed
    (rec,) = records(sweep)
    run = next(sweep.glob("0_*"))
    assert rec["status"] == "ok" and rec["slurm_restarts"] == 1, rec
    # in-place paths are relative to the run dir; resumed_at_epoch counts finished epochs (the index + 1)
    assert rec["resumed_from"] == "checkpoints/last.ckpt" and rec["resumed_at_epoch"] >= signalled_at + 1
    ref = json.loads((whole / "metrics.json").read_text())
    assert (rec["miou"], rec["test_loss"], rec["class_iou"]) == (ref["miou"], ref["test_loss"], ref["class_iou"])
    assert rows(run) == rows(whole)  # the whole history, every number bit-identical
    states = completions(jobcomp, rec["slurm_job_id"], "COMPLETED")
    assert len(states) == 2 and states[-1] == "COMPLETED", states  # the requeued run's end, then the job's


def _sweep(data_cache, tmp_path: Path, sweep: Path, args: list[str]) -> subprocess.Popen:
    """A SLURM sweep started in the background, as a user's shell would."""
    env = {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled"}
    return subprocess.Popen([sys.executable, "-m", "gradgroup.cli.train", "-m", *SLURM, *args, f"hydra.sweep.dir={sweep}"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _signal_mid_training(sweep: Path, proc, how: str) -> int:
    """Once an epoch's last.ckpt exists (and training has epochs to go), requeue the job `how` the test says."""
    deadline = time.time() + 900  # a busy host (CI, or beside a study) starts a job slowly
    while time.time() < deadline and proc.poll() is None:
        found = list(sweep.glob("0_*/checkpoints/last.ckpt"))
        if found:
            epoch = torch.load(found[0], weights_only=True, map_location="cpu")["epoch"]
            job = json.loads(next(sweep.glob("0_*/metrics.json")).read_text())["slurm_job_id"]
            if epoch < 6:
                cmd = ["scancel", "--signal=USR1", job] if how == "sigusr1" else ["scontrol", "requeue", job]
                subprocess.run(cmd, check=True)
                return epoch
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the job finished (or hung) before it could be requeued mid-training")


def test_time_limit_stops_the_job_and_says_so(jobcomp, data_cache, tmp_path):
    """Once training runs, the job's limit is cut to 1 minute (`scontrol update`): SLURM's SIGUSR1 is ignored
    (no requeues allowed), its SIGTERM at the limit ends the job, recorded as stopped for that reason."""
    sweep = tmp_path / "sweep"
    proc = _sweep(data_cache, tmp_path, sweep, [*ENDLESS, "resources.max_requeues=0"])
    job = _training(sweep, proc)
    subprocess.run(["scontrol", "update", f"JobId={job}", "TimeLimit=1"], check=True)
    out, _ = proc.communicate(timeout=1200)
    assert proc.returncode == 1, out[-3000:]  # a failed job: the sweep's exit status
    (rec,) = records(sweep)
    assert rec["status"] == "stopped" and f"SLURM ended job {job} at its time limit" in rec["error"], rec["error"]
    assert completions(jobcomp, job, "TIMEOUT") == ["TIMEOUT"]


ENDLESS = ["experiment=table3/d", "trainer.max_epochs=100000"]  # trains until something stops it


def _training(sweep: Path, proc) -> str:
    """The sweep's one job id, once the job has finished an epoch."""
    deadline = time.time() + 900  # a busy host (CI, or beside a study) starts a job slowly
    while time.time() < deadline and proc.poll() is None and not list(sweep.glob("0_*/checkpoints/last.ckpt")):
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0][-3000:]
    return json.loads(next(sweep.glob("0_*/metrics.json")).read_text())["slurm_job_id"]


def _kill_job_process(sweep: Path, job: str) -> None:
    """SIGKILL to the job's Python process (submitit's `_submit` under srun), nothing else: what the OOM
    killer does. Found through /proc (the node's pid namespace is a child of this one) by its sweep and
    SLURM's job id in its environment."""
    array, _, task = job.partition("_")
    wanted = {f"SLURM_ARRAY_JOB_ID={array}".encode(), f"SLURM_ARRAY_TASK_ID={task}".encode()} if task else \
        {f"SLURM_JOB_ID={job}".encode()}
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            env = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if Path(argv[0].decode()).name.startswith("python") and str(sweep).encode() in b" ".join(argv) \
                and wanted <= env:
            os.kill(int(entry.name), signal.SIGKILL)
            return
    raise AssertionError(f"no Python process of job {job} found")


def _ddp(nodes: int) -> list[str]:
    """DDP over srun's tasks: one rank on each of two nodes (a node has 1 CPU), else two ranks on one node."""
    common = ["experiment=table3/dg4", "data.limit_val=3", "trainer=ddp", "trainer.accelerator=cpu"]
    if nodes >= 2:
        return [*common, "trainer.devices=1", "trainer.num_nodes=2", "hydra.launcher.nodes=2",
                "hydra.launcher.tasks_per_node=1"]
    return [*common, "trainer.devices=2", "hydra.launcher.tasks_per_node=2"]


def test_ddp_ranks_come_from_srun(jobcomp, nodes, data_cache, tmp_path, monkeypatch):
    sweep = tmp_path / "sweep"
    run_cli(["gradgroup.cli.train", "-m", *SLURM, *_ddp(nodes), f"hydra.sweep.dir={sweep}"], data_cache, tmp_path,
            timeout=1500)
    (rec,) = records(sweep)
    assert rec["status"] == "ok" and completions(jobcomp, rec["slurm_job_id"], "COMPLETED") == ["COMPLETED"]
    logs = sorted((sweep / ".submitit").rglob("*_log.out"))
    assert len(logs) == 2  # srun's two tasks, each one rank
    text = "".join(p.read_text() for p in logs)
    assert "global_rank=0(2)" in text and "global_rank=1(2)" in text  # SLURM's ranks, as submitit reads them
    assert text.count("done DG4*") == 1, text[-3000:]  # rank 0 prints and writes, rank 1 does neither
    ckpt = next(sweep.glob("0_*")) / rec["checkpoint_used"]  # relative to its run dir
    assert rec["miou"] == pytest.approx(single_process_miou(ckpt, data_cache, monkeypatch), abs=1e-9)


def test_job_outlives_its_killed_launcher(jobcomp, data_cache, tmp_path):
    """The sweep's launcher (a login shell's process) is killed while its job trains: the job belongs to
    SLURM and runs to its end, `ok` (no launcher watch inside a SLURM job)."""
    sweep = tmp_path / "sweep"
    proc = _sweep(data_cache, tmp_path, sweep, ["experiment=table3/d", "trainer.max_epochs=4"])
    job = _training(sweep, proc)
    proc.kill()
    proc.communicate()
    assert completions(jobcomp, job, "COMPLETED") == ["COMPLETED"]
    (rec,) = records(sweep)
    assert rec["status"] == "ok" and rec["slurm_job_id"] == job, rec


def test_a_resumed_sweep_leaves_a_job_slurm_still_runs_to_it(jobcomp, nodes, data_cache, tmp_path):
    """The launcher is killed while its job trains and the sweep is resumed at once (`RESUME=`): SLURM
    starts the resumed sweep's job too (on the other node where there are two: 1 CPU each, one busy),
    which finds the first job holding the run dir's lock and skips itself naming its pid and node (in its
    SLURM log); the resumed sweep ends `1 still running`, exit 1, and the first job trains on untouched."""
    sweep = tmp_path / "sweep"
    args = ["experiment=table3/d", "trainer.max_epochs=100000"]
    proc = _sweep(data_cache, tmp_path, sweep, args)
    job = _training(sweep, proc)
    proc.kill()
    proc.communicate()
    try:
        again = _sweep(data_cache, tmp_path, sweep, [*args, "hydra.callbacks.sweep.resume=true"])
        out, _ = again.communicate(timeout=900)
        (rec,) = records(sweep)
        assert again.returncode == 1 and "Traceback" not in out, out[-3000:]
        assert "0 ok, 0 failed, 1 still running" in out, out[-3000:]
        (log,) = [p for p in (sweep / ".submitit").rglob("*_log.out") if p.parent.name != job]  # the resumed job's
        text = log.read_text() + log.with_name(log.name.replace("_log.out", "_log.err")).read_text()
        assert re.search(rf"skip 0_\S+: still running in another process: pid {rec['pid']} on {rec['host']}", text), \
            text[-3000:]
        assert "in use by another run" not in text, text[-3000:]
        if nodes >= 2:  # the lock held on one node was seen from the other
            assert completed(jobcomp, log.parent.name, "COMPLETED")[-1]["NodeList"] != rec["host"]
        assert rec["status"] == "running" and rec["slurm_job_id"] == job, rec
        assert subprocess.run(["squeue", "-h", "-j", job.partition("_")[0], "-o", "%T"], capture_output=True,
                              text=True).stdout.split() == ["RUNNING"]
    finally:
        subprocess.run(["scancel", job.partition("_")[0]])


def test_job_killed_without_a_result_is_recorded_and_the_sweep_waits_for_the_rest(jobcomp, data_cache, tmp_path):
    """The job's process is SIGKILLed as the OOM killer would (no result file, no record written) and this
    cluster has no `sacct`: the controller's answer ends the wait for that job (jobs/slurm_watch.py), the
    sweep's launcher turns its `running` record into `killed` naming the job and SLURM's state, waits for
    the other job and ends with its summary and exit 1 (hydra_plugins/gradgroup_slurm), no traceback."""
    sweep = tmp_path / "sweep"
    proc = _sweep(data_cache, tmp_path, sweep, ["experiment=table3/d", "trainer.max_epochs=100000,4"])
    job = _training(sweep, proc)
    _kill_job_process(sweep, job)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 1 and "Traceback" not in out, out[-3000:]
    state = completions(jobcomp, job, "FAILED")[-1]
    killed, finished = records(sweep)  # 0_* (the endless one), 1_*
    assert finished["status"] == "ok", finished
    assert killed["status"] == "killed", killed
    assert re.search(rf"SLURM ended job {job} in state ({state}|GONE)", killed["error"]), killed["error"]
    assert "killed: 0_" in out, out[-3000:]
    assert "1 of 2 jobs did not finish ok" in out, out[-3000:]


def test_a_search_on_slurm_times_on_a_compute_node_and_breeds_generations(jobcomp, nodes, data_cache, tmp_path):
    """The placement search under hydra/launcher=slurm: its latency is timed by a SLURM job on a compute
    node (jobs/slurm_call.py), ERFNet in the same rounds, with the host and warnings kept; its trials train as
    arrays of at most one population, so the journal shows two NSGA-II generations."""
    from gradgroup.search.study import make_sampler, open_study

    sweep = tmp_path / "search"
    run_cli(["gradgroup.cli.train", "--config-dir", str(SCRIPT.parents[1] / "sweeps"), "--config-name", "search",
             *SLURM, "hydra.sweeper.n_trials=4", "hydra.sweeper.population=2", "hydra.sweeper.latency.backend=eager",
             "hydra.sweeper.latency.size=64x32", "hydra.sweeper.latency.rounds=1", "hydra.sweeper.latency.warmup=0",
             "hydra.sweeper.latency.threads=1", f"hydra.sweep.dir={sweep}"], data_cache, tmp_path, timeout=1500)
    cache = json.loads((sweep / "search" / "latency_cache.json").read_text())
    entries = [v for k, v in cache.items() if not k.startswith("_")]
    compute = set(subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True).stdout.split())
    assert entries and all(e["timed_on"] in compute for e in entries), ([e["timed_on"] for e in entries], compute)
    assert all(isinstance(e["warnings"], list) and e["erfnet_ms"] > 0 for e in entries)
    assert list((sweep / ".submitit-latency").glob("*/*_log.out"))  # the timing ran as SLURM jobs
    study = open_study(str(sweep), "search", make_sampler("nsgaii", 0, 2))
    trained = [t for t in study.get_trials() if t.user_attrs.get("trained")]
    assert len(trained) == 4
    assert {0, 1} <= {t.system_attrs.get("NSGAIISampler:generation") for t in trained}
