"""Whether a process id names a live process on this host: the one check the run records, the launcher
watch and the search's trial owners share."""
from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if `pid` exists on this host (signal 0: an existence check, nothing is sent); a process owned
    by another user exists too."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
