"""Files that are either the old version or the new one, never half of either (write, fsync, rename).

A run writes metrics.json, checkpoints and converted.pt while it may be killed or run out of disk, and
eval.json, export.json and latency.json are results a user keeps. Each is written to a temp file next to
the target, flushed and fsync'ed, then renamed over the target (`os.replace` is atomic on POSIX), and the
directory is fsync'ed so the rename survives a crash. If the write fails (ENOSPC, a signal), the temp
file is removed and the previous good file is left in place.

What stopped a write is raised as itself: `torch.save` turns an exception raised by the file's `write`
(a signal handler's `Stopped`, the disk's ENOSPC) into `RuntimeError: [enforce fail at
inline_container.cc] unexpected pos`, so the file is wrapped and the original error re-raised; a full
disk becomes `DiskFull`, which names the file and the free space.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO, Callable


class DiskFull(OSError):
    """ENOSPC while writing `filename`, with the free space left where it was written."""

    def __init__(self, path: Path):
        try:
            free = f"{shutil.disk_usage(path.parent).free / 2**20:.1f} MiB free"
        except OSError:
            free = "free space unknown"
        super().__init__(errno.ENOSPC, f"out of disk space writing {path} ({free} on its filesystem)", str(path))

    def __str__(self) -> str:
        return self.strerror


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


_TEMP = re.compile(r"\..+\.tmp\d+")  # what _temp_name makes


def remove_partial_writes(folder: Path) -> list[Path]:
    """Delete the temp files of writes a kill interrupted in `folder`; only for the folder's one writer."""
    gone = [p for p in Path(folder).glob(".*.tmp*") if _TEMP.fullmatch(p.name) and p.is_file()]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


class _Watched:
    """The temp file as the writer sees it, remembering the exception its `write` raised."""

    def __init__(self, f: BinaryIO):
        self._f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self._f.write(data)
        except BaseException as err:
            self.error = err
            raise

    def __getattr__(self, name):
        return getattr(self._f, name)


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
    tmp = _temp_name(path)
    watched = None
    try:
        with open(tmp, "wb") as f:
            watched = _Watched(f)
            write(watched)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)  # frees the space a full disk needs for the failed record
        cause = watched.error if watched is not None and watched.error is not None else err
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC and not isinstance(cause, DiskFull):
            raise DiskFull(path) from cause
        if cause is not err:
            raise cause from None
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str) -> Path:
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path, obj, indent: int | None = 2) -> Path:
    """`obj` as JSON (numpy and torch scalars as floats), with a final newline, atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=float) + "\n")


def publish_page(text: str, page, pictures: dict) -> Path:
    """A Markdown page and its pictures, for docs/: each {source path: file name} is copied beside `page`
    (atomically, like the page), so the page's relative image links work wherever the repo is cloned."""
    page = Path(page)
    page.parent.mkdir(parents=True, exist_ok=True)
    for src, name in pictures.items():
        data = Path(src).read_bytes()
        atomic_write(page.parent / name, lambda f, data=data: f.write(data))
    return atomic_write_text(page, text)
