"""A sweep's wait for its SLURM jobs where SLURM keeps no accounting (docs/cluster.md).

hydra-submitit-launcher waits for each job's result file; a job that ends without one (SIGKILL, the OOM
killer, a node that died) is seen only through submitit's watcher, which asks `sacct`. Where `sacct` fails
(no slurmdbd: the local cluster, some sites) submitit warns and keeps the state UNKNOWN, so the sweep
would wait without end. `ControllerWatcher` asks `sacct` while it answers and the controller otherwise:
`squeue --states=all` lists every job it still holds, finished ones included (for `MinJobAge`); a job it no
longer knows at all, with no result file, is done in state GONE. Either way the wait ends within one poll
(`POLL_S`) of the controller's answer, and submitit's error names the job and that state. A job requeued
(REQUEUE_HOLD, REQUEUE_FED, PENDING again) is still waited for.

`collect` is the rest of the wait once one job ended that way (hydra_plugins/gradgroup_slurm): every other
job of the launch is waited for as before, and a job without a result is written down, not raised: its
record, left `running` by a process that could not write its end, becomes `killed` with SLURM's state and
the path of its log (the record names its node already), and the sweep's summary lists it.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from submitit.core.utils import UncompletedJobError
from submitit.slurm.slurm import SlurmInfoWatcher, SlurmJob  # the [cluster] extra; imported only under it

from ..common.records import RECORD, Status, read_record_file, write_record

POLL_S = 30  # at most this long between two questions to SLURM while jobs run
GONE = "GONE"  # the controller no longer knows the job (purged after MinJobAge) and it left no result
# States in which the job may still produce its result: submitit's list, plus SLURM's own in-between states.
NOT_DONE = {"READY", "PENDING", "RUNNING", "UNKNOWN", "REQUEUED", "COMPLETING", "PREEMPTED", "REQUEUE_HOLD",
            "REQUEUE_FED", "CONFIGURING", "RESIZING", "SIGNALING", "STAGE_OUT", "SUSPENDED", "STOPPED",
            "RESV_DEL_HOLD"}


def controller_states(job_ids: set[str]) -> dict[str, str] | None:
    """`{"<job>" or "<array>_<task>": STATE}` from `squeue` for these ids (their arrays expanded); an id the
    controller does not know is GONE. None when squeue itself cannot answer (then nothing is concluded)."""
    mains = sorted({j.split("_")[0] for j in job_ids})
    try:
        out = subprocess.run(["squeue", "-h", "-r", "--states=all", "-o", "%i|%T", "-j", ",".join(mains)],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 and "Invalid job id" not in out.stderr:
        return None
    listed = dict(line.split("|", 1) for line in out.stdout.split() if "|" in line)
    return {j: listed.get(j, GONE) for j in job_ids}


class ControllerWatcher(SlurmInfoWatcher):
    """submitit's watcher (module doc), asking the controller once `sacct` has failed."""

    sacct_works = True

    def update(self) -> None:
        command = self._make_command()
        if command is None:
            return
        self._num_calls += 1
        if self.sacct_works:
            try:
                self._info_dict.update(self.read_info(subprocess.check_output(command, stderr=subprocess.DEVNULL,
                                                                              timeout=60)))
            except (OSError, subprocess.SubprocessError):
                self.sacct_works = False  # no accounting here: ask the controller from now on
        if not self.sacct_works:
            states = controller_states(self._registered - self._finished) or {}
            self._info_dict.update({j: {"JobID": j, "State": s} for j, s in states.items()})
        self._last_status_check = time.time()
        for job_id in self._registered - self._finished:
            if self.is_done(job_id, mode="cache"):
                self._finished.add(job_id)

    def is_done(self, job_id: str, mode: str = "standard") -> bool:
        state = self.get_state(job_id, mode=mode).upper().split()
        return bool(state) and state[0] not in NOT_DONE


def install() -> None:
    """Make every submitit SLURM job of this process wait through `ControllerWatcher` (the launcher's
    process, before it submits: cli/sweep_callbacks.py under `hydra/launcher=slurm`)."""
    if not isinstance(SlurmJob.watcher, ControllerWatcher):
        SlurmJob.watcher = ControllerWatcher(delay_s=POLL_S)


def collect(job_ids: list[str], folder: str, sweep_dir: Path) -> list:
    """The JobReturn of each job (submitit's job ids, in launch order; `folder`: the launcher's
    submitit_folder), waiting for all of them; one that ended without a result is written down (`written_down`)."""
    returns = []
    for job_id in job_ids:
        job = SlurmJob(folder=folder, job_id=job_id)
        try:
            returns.append(job.results()[0])
        except UncompletedJobError:
            returns.append(written_down(job, sweep_dir))
    return returns


def written_down(job, sweep_dir: Path):
    """A job SLURM ended without a result: its `running` record (found by its slurm_job_id) becomes
    `killed`, saying SLURM's state and what to do; a line names it. The JobReturn is a finished job's
    with no value, as for a job that failed in its own code (cli/train.py)."""
    state = job.state
    why = (f"SLURM ended job {job.job_id} in state {state} before it wrote its end (SIGKILL after KillWait, "
           "the OOM killer, a node failure; its log: " + str(job.paths.stderr) + "); resume the sweep with "
           "RESUME=<sweep dir> (hydra.callbacks.sweep.resume=true) to run it again (from its last.ckpt, where "
           "it wrote one)")
    for path in sorted(sweep_dir.glob(f"*/{RECORD}")):
        try:
            record = read_record_file(path)
        except (OSError, ValueError):
            continue
        if record.get("slurm_job_id") == job.job_id and record.status == Status.RUNNING:
            write_record(path.parent, {**record.to_dict(), "status": Status.KILLED, "error": why})
            why = f"{path.parent.name}: {why}"
            break
    print(f"killed: {why}", flush=True)
    overrides = list(job.submission().args[0]) if job.paths.submitted_pickle.exists() else []
    return JobReturn(overrides=overrides, status=JobStatus.COMPLETED, _return_value=None)
