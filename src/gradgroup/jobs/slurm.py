"""A run inside a SLURM job: which job it is, why SLURM stopped it, and requeueing it (docs/cluster.md).

SLURM describes a job to its processes in environment variables: SLURM_JOB_ID, SLURM_ARRAY_JOB_ID and
SLURM_ARRAY_TASK_ID for a task of an array (a sweep under `hydra/launcher=slurm`), SLURM_RESTART_COUNT
once the job was requeued, SLURM_PROCID for each task that `srun` starts. What the environment does not
say (why a job is being stopped) is asked of the controller with its own client, `squeue`.

Preemption and the time limit: the launcher submits every job with `--signal=USR1@<lead>`, so SLURM
sends SIGUSR1 that many seconds before the time limit (and before a preemption, where the site's
preemption is configured to). On SIGUSR1, rank 0 writes the record as `requeued`, runs `scontrol
requeue <job>` and exits without a result (jobs/lifecycle.py); SLURM starts the job again, and the
restarted run resumes in place from `checkpoints/last.ckpt`, written atomically at the end of every epoch
(`requeued_checkpoint`), with the exact-resume machinery of training/resume.py: same numbers as a run that
never stopped, one record, the whole csv history. No mid-epoch state is saved: Lightning cannot resume a
mid-epoch checkpoint exactly (its data loader restarts the epoch), so a requeue costs at most the epoch
in progress. A job requeues itself at most `resources.max_requeues` times; after that it ignores SIGUSR1
and runs on, and if SLURM then stops it at the time limit (SIGTERM) the record is `stopped` with a message
that says so (`explain`, from `squeue`'s reason).

A requeue the job did not ask for (an admin's `scontrol requeue`, the site's `PreemptMode=REQUEUE`, a node
failure) arrives as SIGTERM. SLURM counts the restart when it decides the requeue, before the signal
reaches the job, so a SIGTERM after which the controller counts more restarts than the job started with
(`requeued_from_outside`) is recorded `requeued` too (`RequeuedBySlurm`), and the job ends without a
result: the sweep keeps waiting for the rerun, which resumes from last.ckpt as above.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from ..common.run_files import last_checkpoint
from .signals import Stopped

REQUEUE_SIGNAL = signal.SIGUSR1


class Requeued(Stopped):
    """The run asked SLURM to requeue this job; SLURM starts it again, and it resumes from last.ckpt."""

    def __str__(self) -> str:
        return f"requeued by SLURM after {signal.Signals(self.signum).name}"


class RequeuedBySlurm(Requeued):
    """SLURM requeued this job from outside and stopped it with SIGTERM; it runs again, resuming from last.ckpt."""

    def __str__(self) -> str:
        return (f"requeued by SLURM from outside (scontrol requeue, a preemption or a node failure), stopped by "
                f"{signal.Signals(self.signum).name}")


def in_job() -> bool:
    return "SLURM_JOB_ID" in os.environ


def job_id() -> str | None:
    """`<array job>_<task>` for a task of an array (what squeue, scontrol and scancel take), else the job id."""
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID")


def restarts() -> int:
    return int(os.environ.get("SLURM_RESTART_COUNT") or 0)


def node() -> str | None:
    """The node this job runs on (SLURMD_NODENAME, SLURM's name for it; the host name if SLURM gave none)."""
    return os.environ.get("SLURMD_NODENAME") or (os.uname().nodename if in_job() else None)


def record_fields() -> dict:
    """What the run record says about the SLURM job: which job, on which node, after how many restarts
    (nothing outside SLURM)."""
    return {"slurm_job_id": job_id(), "slurm_node": node(), "slurm_restarts": restarts()} if in_job() else {}


def requeued_checkpoint(run_dir: Path, resumable: bool = True) -> str | None:
    """The checkpoint a requeued job resumes from: its run dir's last.ckpt, if SLURM restarted it and one
    exists (`resumable` is False for procedures that cannot resume mid-run: they restart, same numbers)."""
    last = last_checkpoint(run_dir)
    return str(last) if in_job() and restarts() > 0 and resumable and last.is_file() else None


def _squeue(fmt: str) -> str:
    try:
        out = subprocess.run(["squeue", "-h", "-j", os.environ["SLURM_JOB_ID"], "-o", fmt], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def controller_job() -> dict:
    """The controller's view of this job (`scontrol show job -o`, as key=value pairs; {} when it cannot say)."""
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", str(job_id())], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(kv.split("=", 1) for kv in out.stdout.split() if "=" in kv) if out.returncode == 0 else {}


def requeued_from_outside() -> bool:
    """Whether SLURM is requeueing this job on its own account (module doc): the controller counts more
    restarts than this run started with, or calls the job requeued."""
    if not in_job():
        return False
    job = controller_job()
    count = job.get("Restarts", "")
    return (count.isdigit() and int(count) > restarts()) or job.get("JobState", "").startswith("REQUEUE")


def stop_reason() -> str:
    """Why SLURM is stopping this job, from the controller ("" outside SLURM or when it cannot say)."""
    if not in_job():
        return ""
    state, _, rest = _squeue("%T|%r|%l").partition("|")
    reason, _, limit = rest.partition("|")
    if reason == "TimeLimit":
        return (f"SLURM ended job {job_id()} at its time limit ({limit}): raise resources.time_min in the preset "
                "(or hydra.launcher.timeout_min), then resume the sweep with RESUME=<sweep dir>")
    if reason == "Preempted" or state == "PREEMPTED":
        return f"SLURM preempted job {job_id()}"
    return f"SLURM job {job_id()} is {state.lower() or 'gone'}" + (f" ({reason})" if reason not in ("", "None") else "")


def explain(err: BaseException) -> str:
    """The record's error for a run that ended by `err`, with SLURM's reason when SIGTERM stopped it."""
    text = f"{type(err).__name__}: {err}"
    reason = stop_reason() if isinstance(err, Stopped) and err.signum == signal.SIGTERM else ""
    return f"{text}: {reason}" if reason else text


def may_requeue(max_requeues: int) -> bool:
    """Whether SIGUSR1 should requeue this job: inside SLURM, fewer than `max_requeues` requeues so far.
    Past that the notice is ignored: the job runs on, and SLURM's SIGTERM at the limit ends it as stopped."""
    return in_job() and restarts() < max_requeues


def ignore_notice() -> None:
    """Ignore SLURM's SIGUSR1 notice in this process: a process that does not requeue on it (ranks > 0, a job
    past `max_requeues`) runs on to the time limit, where SIGTERM ends it with a `stopped` record; the
    notice's default action would kill it without one."""
    signal.signal(REQUEUE_SIGNAL, signal.SIG_IGN)


def requeue() -> None:
    """`scontrol requeue` this job: SLURM stops it, puts it back in the queue, and starts it again."""
    jid = job_id()
    try:
        out = subprocess.run(["scontrol", "requeue", str(jid)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        raise RuntimeError(f"scontrol requeue {jid} failed: {err}") from None
    if out.returncode != 0:
        raise RuntimeError(f"scontrol requeue {jid} failed: {out.stderr.strip() or out.stdout.strip()}")
