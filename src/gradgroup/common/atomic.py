"""Files that are either the old version or the new one, never half of either (write, fsync, rename).

A run writes metrics.json, checkpoints and converted.pt while it may be killed or run out of disk, and
eval.json, export.json and latency.json are results a user keeps. Each is written to a temp file next to
the target, flushed and fsync'ed, then renamed over the target (`os.replace` is atomic on POSIX), and the
directory is fsync'ed so the rename survives a crash. If the write fails (ENOSPC, a signal), the temp
file is removed and the previous good file is left in place.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO, Callable


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some filesystems do not open directories; the rename itself is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(file)` on a temp file beside `path`, fsync it, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # frees the space a full disk needs for the failed record
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str) -> Path:
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path, obj, indent: int | None = 2) -> Path:
    """`obj` as JSON (numpy and torch scalars as floats), with a final newline, atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=float) + "\n")
