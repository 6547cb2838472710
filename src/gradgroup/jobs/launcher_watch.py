"""A sweep's jobs die with its launcher: killing a sweep never leaves orphaned jobs training on.

The joblib launcher (every CPU Make target) runs jobs in loky worker processes, children of the
`gradgroup-train -m` process. When that launcher is killed (SIGKILL, or SIGTERM, whose default action ends
it at once) the workers are re-parented to PID 1 and would train on, write `ok` records nobody asked for,
and then block on a pipe to a dead parent. Linux's PR_SET_PDEATHSIG was not used: it is tied to the
*thread* that created the worker, not to the launcher process, so it would also fire if that thread ended
first (and it exists on Linux only); polling the parent holds on any POSIX system, for SIGKILL too.

So each worker watches its launcher: the launcher puts its pid in the environment (cli/sweep_callbacks.py,
inherited by every worker it starts), the job hands it to `stop_with_launcher`, and a daemon thread in each
job's process polls once a second whether its parent is still that pid (or, when the job is not its direct
child, whether that pid still exists). When the launcher is gone it stops the running job with SIGTERM
(jobs/signals.py records it `stopped`, with the reason), waits for the job to write its record, runs the
given cleanups (temp dirs that interpreter exit would remove) and ends the process; an idle worker ends at
once.

Not inside a SLURM job: a job that belongs to a scheduler outlives its launcher. Its launcher runs on a login
node, the job on another host in another pid space (where the launcher's pid means nothing, and sbatch
exports the submitting environment by default), and a login shell that ends must not end the jobs it
submitted; SLURM owns them (scancel stops them), and a dead launcher is handled by resuming the sweep, which
skips finished jobs. So the watch does nothing where SLURM_JOB_ID is set, and cli/sweep_callbacks.py does not
hand out the launcher's pid under the slurm launcher in the first place.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Callable, Iterable

from ..common.processes import pid_alive
from .signals import stop_self
from .slurm import in_job


class _Watch:
    """One per process: a loky worker runs many jobs, the watch outlives them."""

    def __init__(self, launcher: int, poll_s: float, grace_s: float, cleanups: list[Callable[[], None]]):
        self.launcher, self.parent = launcher, os.getppid()
        self.poll_s, self.grace_s, self.cleanups = poll_s, grace_s, cleanups
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self._run, name="gradgroup-launcher-watch", daemon=True).start()

    def launcher_alive(self) -> bool:
        if self.parent == self.launcher:  # re-parenting is final: a changed ppid never comes back
            return os.getppid() == self.launcher
        return pid_alive(self.launcher)

    def _run(self) -> None:
        while self.launcher_alive():
            time.sleep(self.poll_s)
        if not self.idle.is_set():  # a job is running: stop it the way a scheduler would, and let it record
            stop_self(signal.SIGTERM, f"the sweep's launcher (pid {self.launcher}) is gone")
            self.idle.wait(self.grace_s)
        for cleanup in self.cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(128 + signal.SIGTERM)  # the worker's own loop would wait on its dead launcher's pipe


_WATCH: _Watch | None = None


@contextlib.contextmanager
def stop_with_launcher(launcher: int | None, cleanups: Iterable[Callable[[], None]] = (), poll_s: float = 1.0,
                       grace_s: float = 20.0):
    """Run one job (the block) in a process that ends, and stops the job, when the `launcher` pid dies.

    Does nothing without a launcher, in the launcher's own process (the basic launcher, a single run), or in
    a SLURM job (the scheduler owns it: module doc)."""
    global _WATCH
    if not launcher or launcher == os.getpid() or in_job():
        yield
        return
    if _WATCH is None or _WATCH.launcher != launcher:
        _WATCH = _Watch(launcher, poll_s, grace_s, list(cleanups))
    _WATCH.idle.clear()
    try:
        yield
    finally:
        _WATCH.idle.set()
