"""The generate-once cache of the synthetic Cityscapes stand-in, made safe for operators.

A cache dir is either complete or regenerated, never half: generation goes to a ``.<name>.tmp-*`` sibling
renamed into place after the manifest and marker are written. The manifest (image count per split, and
size and SHA-256 of every file) catches a complete cache that later lost files (a city folder deleted),
which would otherwise train silently on less data than Cityscapes' layout promises. A kill leaves no
orphan workers (``generator._worker_init``) and, when it can be caught (Ctrl-C, SIGTERM, SIGHUP), no
``.tmp-`` dir; a SIGKILL's leftovers are removed by the next run. Finished caches are group-readable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from filelock import FileLock, Timeout
from platformdirs import user_cache_dir

from ...errors import DataError
from .generator import DEFAULTS, GENERATOR_VERSION, SPLITS, generate_dataset

log = logging.getLogger(__name__)

CACHE_ENV = "GRADGROUP_DATA_CACHE"
MARKER = "gradgroup_synthetic.json"  # written last: its presence means generation finished
MANIFEST = "gradgroup_manifest.json"
DATA_DIRS = ("leftImg8bit", "gtFine")
DIR_MODE, FILE_MODE = 0o755, 0o644


def default_cache_dir() -> Path:
    """Where generated datasets live unless `data.cache_dir` says otherwise: $GRADGROUP_DATA_CACHE, else
    the platform's per-user cache dir (platformdirs: ~/.cache/gradgroup/synthetic_cityscapes on Linux,
    honouring $XDG_CACHE_HOME), so runs from any working dir share one generated dataset."""
    path = os.environ.get(CACHE_ENV) or Path(user_cache_dir("gradgroup")) / "synthetic_cityscapes"
    return Path(path).expanduser().absolute()


def _params(**params) -> dict:
    """What the marker records: the generator version and every param, defaults filled in."""
    merged = {**DEFAULTS, **params}
    return {"generator_version": GENERATOR_VERSION, **{key: int(merged[key]) for key in DEFAULTS}}


def read_marker(root):
    """The parameters a generated root was made with, or None if it is not a finished generated dataset."""
    try:
        return json.loads(Path(root, MARKER).read_text())["params"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -------------------------------------------------------------------------------------------- manifest
def _data_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for d in DATA_DIRS for p in sorted((root / d).rglob("*"))
            if p.is_file()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hashes(paths) -> list[str]:
    with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:  # hashlib releases the GIL
        return list(pool.map(_sha256, paths))


def _images_per_split(names) -> dict[str, int]:
    return {s: sum(n.startswith(f"{DATA_DIRS[0]}/{s}/") for n in names) for s in SPLITS}


def write_manifest(root: Path) -> dict:
    files = _data_files(root)
    digests = _hashes(files.values())
    manifest = {"counts": _images_per_split(files),
                "files": {name: [path.stat().st_size, digest] for (name, path), digest in zip(files.items(), digests)}}
    Path(root, MANIFEST).write_text(json.dumps(manifest, indent=0))
    return manifest


def damage(root: Path, verify: bool = False) -> str | None:
    """None if ``root`` still holds exactly what its manifest lists, else a one-line reason.

    Checks names, sizes and per-split counts (stat only, milliseconds); ``verify`` also compares SHA-256.
    """
    try:
        manifest = json.loads(Path(root, MANIFEST).read_text())
        expected, counts = manifest["files"], manifest["counts"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no readable {MANIFEST}: made before manifests existed, or it was deleted"
    found = _data_files(Path(root))
    have = _images_per_split(found)
    problems = [f"{s}: {have.get(s, 0)} of {n} images" for s, n in counts.items() if have.get(s, 0) != n]
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = [n for n, (size, _) in expected.items() if n in found and found[n].stat().st_size != size]
    if verify and not (missing or extra or changed):
        names = sorted(expected)
        changed = [n for n, digest in zip(names, _hashes(found[n] for n in names)) if digest != expected[n][1]]
    for names, what in ((missing, "missing"), (extra, "not in the manifest"), (changed, "changed")):
        if names:
            problems.append(f"{len(names)} files {what} (e.g. {names[0]})")
    return "; ".join(problems) or None


# ------------------------------------------------------------------------------------ leftovers, modes
def _leftovers(root: Path) -> list[Path]:
    """Siblings a killed generation leaves: ``.<name>.tmp-<mkdtemp suffix>`` and ``.<name>.old-<pid>``."""
    pattern = re.compile(rf"\.{re.escape(root.name)}\.(tmp-[a-z0-9_]{{8}}|old-\d+)")
    try:
        return [p for p in root.parent.iterdir() if pattern.fullmatch(p.name) and p.is_dir()]
    except OSError:
        return []


def _remove_leftovers(root: Path) -> None:
    """Call only while holding the root's lock: every generation runs under it, so nothing found is live."""
    for path in _leftovers(root):
        log.info("removing %s left by an interrupted generation", path)
        shutil.rmtree(path, ignore_errors=True)


def _make_group_readable(root: Path) -> None:
    """mkdtemp makes the dir 0700; a shared cache must be readable by the group (dirs 0755, files 0644)."""
    os.chmod(root, DIR_MODE)
    for parent, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(parent, name), DIR_MODE)
        for name in files:
            os.chmod(os.path.join(parent, name), FILE_MODE)


class _Terminated(BaseException):
    """Raised by the SIGTERM/SIGHUP handler so ``finally`` blocks run (their default kills without them)."""


@contextlib.contextmanager
def _unwind_on_termination():
    """Turn SIGTERM and SIGHUP into an exception while the block runs, then die of that signal as usual.

    Only where the handler is the default (an application's own handler is left alone) and only in the
    main thread (the only one that may set handlers). The handler is one-shot: a second signal kills.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum, frame):
        for sig, old in previous.items():
            signal.signal(sig, old)
        raise _Terminated(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            previous[sig] = signal.signal(sig, handler)
    received = None
    try:
        yield
    except _Terminated as exc:
        received = exc.args[0]
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if received is not None:
        os.kill(os.getpid(), received)
        raise SystemExit(128 + received)  # not reached: the default action ends the process


# ----------------------------------------------------------------------------------------------- entry
def _generate(root: Path, wanted: dict, progress: bool) -> None:
    with _unwind_on_termination():
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
        try:
            t0 = time.perf_counter()
            generate_dataset(tmp, progress=progress, **{k: v for k, v in wanted.items() if k != "generator_version"})
            write_manifest(tmp)
            marker = {"params": wanted, "seconds": round(time.perf_counter() - t0, 2)}
            Path(tmp, MARKER).write_text(json.dumps(marker, indent=1))
            _make_group_readable(tmp)
            if root.exists():
                old = root.with_name(f".{root.name}.old-{os.getpid()}")
                root.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            tmp.rename(root)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def ensure_dataset(root, *, progress=True, verify=False, **params):
    """Generate into ``root`` unless it already holds the complete dataset made with the same params.

    ``params`` are ``DEFAULTS``' keys. A finished dataset is checked against its manifest (file names,
    sizes and counts; with ``verify`` also checksums) and regenerated, with a warning, if it lost or
    changed files. A file lock keeps concurrent jobs (DDP ranks, parallel sweep runs sharing a cache)
    from generating twice. Returns the absolute root.
    """
    root = Path(root).absolute()
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise DataError(f"data.synthetic has unknown keys {sorted(unknown)}; expected a subset of {sorted(DEFAULTS)}")
    wanted = _params(**params)
    lock = str(root) + ".lock"
    if read_marker(root) == wanted and damage(root, verify) is None:
        if _leftovers(root):
            with contextlib.suppress(Timeout, OSError), FileLock(lock, timeout=0):  # busy: its holder cleans
                _remove_leftovers(root)
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock):
        _remove_leftovers(root)
        marker = read_marker(root)
        if marker == wanted:  # complete once; finished by another process while we waited, or damaged since
            reason = damage(root, verify)
            if reason is None:
                return root
            log.warning("synthetic dataset %s is incomplete (%s); regenerating it", root, reason)
        elif marker is None and root.exists() and any(root.iterdir()):
            raise DataError(f"{root} exists and is not a generated dataset (no {MARKER}); refusing to overwrite it. "
                            "Point data.cache_dir at an empty or generated directory, or delete it.")
        _generate(root, wanted, progress)
    return root
