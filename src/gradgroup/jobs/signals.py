"""SIGTERM and SIGINT end a run with a non-zero exit status and a "stopped" record.

Lightning turns SIGTERM into `SIGTERMException`, a `SystemExit` with code None, i.e. exit status 0: a
scheduler (SLURM's preemption, `kill`, a CI timeout) would see success. During a run, `Stopped`
handlers raise `Stopped` instead, a SystemExit carrying the shell's convention 128 + signal number (143
for SIGTERM, 130 for SIGINT), which Lightning lets through; `train()` records it as stopped and re-raises.
A process that stops itself (jobs/launcher_watch.py: its sweep's launcher is gone) says why with
`stop_self`, and the `Stopped` it raises carries that reason.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading

from pytorch_lightning.utilities.exceptions import SIGTERMException


class Stopped(SystemExit):
    """The run was stopped by a signal; `code` is 128 + the signal number."""

    def __init__(self, signum: int, reason: str = ""):
        super().__init__(128 + signum)
        self.signum, self.reason = signum, reason

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}" + (f": {self.reason}" if self.reason else "")


_REASONS: dict[int, str] = {}  # signal number -> why this process sent it to itself (stop_self)


def stop_self(signum: int, reason: str) -> None:
    """Send `signum` to this process; the `Stopped` it raises says `reason`."""
    _REASONS[signum] = reason
    os.kill(os.getpid(), signum)


_RECEIVED: list[Stopped] = []  # the stops raised in this block: code in between may turn them into other errors


def _raise_stopped(signum, frame):
    _RECEIVED.append(Stopped(signum, _REASONS.pop(signum, "")))
    raise _RECEIVED[-1]


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(signums=STOP_SIGNALS):
    """Within the block, the signals raise `Stopped`; handlers are restored after (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in signums}
    _RECEIVED.clear()
    for s in signums:
        signal.signal(s, _raise_stopped)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def as_stopped(err: BaseException) -> BaseException:
    """What ended a run that a signal interrupted: the `Stopped`, also when code it passed through turned
    it into another error (a C extension's callback, or Lightning, whose SIGTERM handler runs beside ours
    and whose loop then raises `SIGTERMException`); Lightning's own SIGTERM exit (code None = success)
    without one becomes a `Stopped` with status 143. A reason given by `stop_self` stays with the stop,
    whichever handler and exception got there first."""
    if isinstance(err, Stopped):
        stopped = err
    elif _RECEIVED:
        stopped = _RECEIVED[-1]
    elif isinstance(err, SIGTERMException):
        stopped = Stopped(signal.SIGTERM)
    else:
        return err
    if not stopped.reason and stopped.signum in _REASONS:
        stopped.reason = _REASONS.pop(stopped.signum)
    return stopped
