"""Tests for the synthetic data cache as operators meet it: kills, leftovers, permissions, lost files.

The kill tests run generation in a child process (its own session, so signals stay there) and look for
its worker processes in /proc; they are Linux-only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gradgroup.data.synthetic import cache, ensure_dataset

TINY = dict(seed=3, num_train=6, num_val=3, num_test=2, height=64, width=128)
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine") / "cs"
    ensure_dataset(root, progress=False, **TINY)
    return root


@pytest.fixture
def root(pristine, tmp_path):
    dst = tmp_path / "cs"
    shutil.copytree(pristine, dst)
    return dst


def _png_bytes(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def _leftovers(root):
    return sorted(p.name for p in root.parent.iterdir() if p.name.startswith(f".{root.name}."))


def test_cache_is_group_readable(tmp_path):
    old = os.umask(0o077)  # even a private umask must not make a shared cache unreadable
    try:
        root = ensure_dataset(tmp_path / "cs", progress=False, **{**TINY, "num_train": 2})
    finally:
        os.umask(old)
    assert root.stat().st_mode & 0o777 == 0o755
    paths = list(root.rglob("*"))
    assert paths and all(p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644) for p in paths)


def test_manifest_written(pristine):
    assert cache.damage(pristine) is None and cache.damage(pristine, verify=True) is None
    data = json.loads((pristine / cache.MANIFEST).read_text())
    assert data["counts"] == {"train": 6, "val": 3, "test": 2}
    assert len(data["files"]) == 2 * 11 and all(len(digest) == 64 for _, digest in data["files"].values())


def test_deleted_city_is_regenerated_with_one_warning(root, pristine, caplog):
    city = sorted((root / "leftImg8bit" / "train").iterdir())[0].name
    shutil.rmtree(root / "leftImg8bit" / "train" / city)
    shutil.rmtree(root / "gtFine" / "train" / city)
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        ensure_dataset(root, progress=False, **TINY)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert "incomplete" in warnings[0].getMessage() and "train: 4 of 6 images" in warnings[0].getMessage()
    assert _png_bytes(root) == _png_bytes(pristine)
    assert _leftovers(root) == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=cache.__name__):  # complete again: no warning, no work
        ensure_dataset(root, progress=False, **TINY)
    assert not caplog.records


@pytest.mark.parametrize("damage", ["missing_manifest", "extra_file", "truncated_label"])
def test_other_damage_is_regenerated(root, pristine, caplog, damage):
    label = sorted((root / "gtFine" / "val").glob("*/*.png"))[0]
    if damage == "missing_manifest":  # e.g. a cache made before manifests existed
        (root / cache.MANIFEST).unlink()
    elif damage == "extra_file":
        shutil.copy(label, label.with_name("stray_000000_000019_gtFine_labelIds.png"))
    else:
        label.write_bytes(label.read_bytes()[:50])
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        ensure_dataset(root, progress=False, **TINY)
    assert len(caplog.records) == 1
    assert _png_bytes(root) == _png_bytes(pristine)


def test_verify_catches_same_size_change(root, pristine, caplog):
    label = sorted((root / "gtFine" / "train").glob("*/*.png"))[0]
    data = bytearray(label.read_bytes())
    data[-20] ^= 0xFF
    label.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        ensure_dataset(root, progress=False, **TINY)  # quick check: names, sizes, counts only
        assert not caplog.records
        ensure_dataset(root, progress=False, verify=True, **TINY)
    assert len(caplog.records) == 1 and "changed" in caplog.records[0].getMessage()
    assert _png_bytes(root) == _png_bytes(pristine)


def test_datamodule_full_validation_verifies_checksums(tmp_path, caplog):
    from helpers import datamodule

    dm = datamodule(root=None, cache_dir=str(tmp_path), synthetic=TINY, num_workers=0, validate="full")
    dm.prepare_data()
    label = sorted((dm.data_root / "gtFine" / "val").glob("*/*.png"))[0]
    data = bytearray(label.read_bytes())
    data[-20] ^= 0xFF
    label.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        dm.prepare_data()
    assert len(caplog.records) == 1 and cache.damage(dm.data_root, verify=True) is None


def test_stale_leftovers_cleaned_at_next_run(root, tmp_path):
    stale = [tmp_path / ".cs.tmp-abcd_123", tmp_path / ".cs.old-4242"]
    keep = [tmp_path / ".other.tmp-abcd_123", tmp_path / "cs2"]
    for d in stale + keep:
        (d / "leftImg8bit").mkdir(parents=True)
    ensure_dataset(root, progress=False, **TINY)  # complete cache: the fast path cleans too
    assert _leftovers(root) == [] and all(d.exists() for d in keep)
    for d in stale:
        d.mkdir()
    ensure_dataset(tmp_path / "cs", progress=False, **{**TINY, "seed": 4})  # and so does a regeneration
    assert _leftovers(root) == [] and all(d.exists() for d in keep)


# ---------------------------------------------------------------------------------------------- kills
_GENERATE = textwrap.dedent("""
    import sys
    import signal
    # As a foreground process has them, whatever launched the tests (nohup ignores SIGHUP, a background
    # job of a non-interactive shell ignores SIGINT, and ignored dispositions are inherited).
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from gradgroup.data.synthetic import ensure_dataset, generator
    generator.generate_dataset.__kwdefaults__["workers"] = 2  # a pool even on a one-core machine
    ensure_dataset(sys.argv[1], progress=False, seed=0, num_train=20000, num_val=0, num_test=0, height=48,
                   width=96)
""")


def _children(pid):
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pids, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(map(_alive, pids)):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.fixture
def generation(tmp_path):
    """Start a long generation into tmp_path/cs; yields (root, process, worker pids) once workers write.

    Output goes to a file, not a pipe (orphaned workers would hold a pipe open); whatever a failing test
    leaves alive is killed at teardown, by pid.
    """
    root, log = tmp_path / "cs", open(tmp_path / "generate.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", _GENERATE, str(root)], start_new_session=True, stdout=log,
                            stderr=subprocess.STDOUT)
    workers, deadline = [], time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if len(workers) >= 2 and any(tmp_path.glob(".cs.tmp-*/leftImg8bit/train/*/*.png")):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"generation did not start workers: {(tmp_path / 'generate.log').read_text()[-2000:]}")
        yield root, proc, workers
    finally:
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        log.close()


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_caught_kill_leaves_no_workers_and_no_tmp(generation, sig):
    root, proc, workers = generation
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    assert _wait_gone(workers) == []
    assert _leftovers(root) == [] and not root.exists()
    if sig != signal.SIGINT:
        assert proc.returncode == -sig  # still dies of the signal, as callers and shells expect


@linux_only
def test_sigkill_leaves_no_workers_and_next_run_cleans(generation):
    root, proc, workers = generation
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _wait_gone(workers) == []  # the workers die with their parent
    assert [n for n in _leftovers(root) if ".tmp-" in n]  # nothing could remove it...
    ensure_dataset(root, progress=False, **TINY)
    assert _leftovers(root) == []  # ...until the next run
