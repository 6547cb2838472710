"""SIGTERM and SIGINT end a run with a non-zero exit status and a "failed" record.

Lightning turns SIGTERM into `SIGTERMException`, a `SystemExit` with code None, i.e. exit status 0: a
scheduler (SLURM's preemption, `kill`, a CI timeout) would see success. During a run, `Stopped`
handlers raise `Stopped` instead, a SystemExit carrying the shell's convention 128 + signal number (143
for SIGTERM, 130 for SIGINT), which Lightning lets through; `train()` records it as failed and re-raises.
"""
from __future__ import annotations

import contextlib
import signal
import threading

from pytorch_lightning.utilities.exceptions import SIGTERMException


class Stopped(SystemExit):
    """The run was stopped by a signal; `code` is 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}"


def _raise_stopped(signum, frame):
    raise Stopped(signum)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(signums=STOP_SIGNALS):
    """Within the block, the signals raise `Stopped`; handlers are restored after (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in signums}
    for s in signums:
        signal.signal(s, _raise_stopped)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def as_stopped(err: BaseException) -> BaseException:
    """Lightning's own SIGTERM exit (code None = success) becomes a `Stopped` with status 143."""
    if isinstance(err, SIGTERMException):
        return Stopped(signal.SIGTERM)
    return err
