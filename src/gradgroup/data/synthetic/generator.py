"""Deterministic synthetic street scenes written in the real Cityscapes file layout.

The project must train and be tested without downloading Cityscapes (Cordts et al., CVPR 2016, the data
of the paper, docs/paper.md section 5), so this module writes a stand-in dataset that the very same
reader (``data/reader.py``, ``data/cityscapes.py``) consumes:

    <root>/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png     RGB, 8 bit
    <root>/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png      uint8 Cityscapes labelIds

Labels are *labelIds* (void ids 0..6 included), not trainIds, so the labelId -> trainId mapping and the
ignore handling are exercised exactly as with real data. Scene layout lives in ``scene.py``, objects in
``objects.py`` and the camera in ``canvas.py``; this module adds appearance (textures, lighting, sensor
noise, blur), the void borders of real annotations, and file writing in worker processes.

Every image is drawn from its own RNG seeded by (seed, split, index), so output is bit-identical for a
seed regardless of worker count or order.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm
from PIL import Image, ImageFilter

from ...errors import DataError
from . import canvas as C
from .scene import compose

# Bump whenever the output for a given seed changes, so cached datasets are regenerated.
GENERATOR_VERSION = 3
SPLITS = ("train", "val", "test")
CITIES = {"train": ("arnhold", "brevik", "corlund", "dalsberg"), "val": ("elmshaven", "fernwald"),
          "test": ("grisholm", "hallbrook")}
DEFAULTS = dict(seed=0, num_train=300, num_val=60, num_test=40, height=256, width=512)

# Per-labelId texture amplitudes (fine grain, coarse blotches); everything else gets a mild default.
_FINE = np.full(256, 4.0, np.float32)
_COARSE = np.full(256, 4.0, np.float32)
for _lid, _f, _c in ((C.ROAD, 5, 6), (C.SIDEWALK, 6, 5), (C.BUILDING, 5, 6), (C.VEG, 20, 12), (C.TERRAIN, 8, 6),
                     (C.SKY, 2, 4), (C.WALL, 6, 5), (C.GROUND, 14, 10)):
    _FINE[_lid], _COARSE[_lid] = _f, _c


def _noise(rng, h, w, cell):
    """Smooth noise: a low-res Gaussian field upsampled bilinearly (no per-pixel Python)."""
    small = rng.standard_normal((max(2, h // cell), max(2, w // cell)), dtype=np.float32)
    return np.asarray(Image.fromarray(small, mode="F").resize((w, h), Image.BILINEAR))


def render(rng, h, w):
    """One scene as (RGB uint8 HxWx3, labelId uint8 HxW)."""
    img, lab, shadow = compose(rng, h, w)
    lab = np.array(lab)
    rgb = np.asarray(img, dtype=np.float32)
    fine = rng.standard_normal((h, w), dtype=np.float32)
    coarse = _noise(rng, h, w, 24) + 0.5 * _noise(rng, h, w, 6)
    rgb += (_FINE[lab] * fine + _COARSE[lab] * coarse)[..., None]
    veg = (lab == C.VEG)[..., None]  # foliage varies in hue as well as brightness
    rgb += veg * (_noise(rng, h, w, 3)[..., None] * np.array([-6, 14, -4], np.float32))
    rgb *= (1 - np.asarray(shadow, np.float32) / 255.0)[..., None]
    # Global lighting: exposure, contrast, a left-right / top-bottom illumination gradient, colour cast.
    yy, xx = np.linspace(-.5, .5, h, dtype=np.float32)[:, None], np.linspace(-.5, .5, w, dtype=np.float32)[None, :]
    gain = rng.uniform(.85, 1.2) * (1 + rng.uniform(-.35, .35) * xx + rng.uniform(-.25, .25) * yy)
    mean = rgb.mean()
    rgb = (rgb - mean) * rng.uniform(.85, 1.15) + mean
    rgb = rgb * gain[..., None] * rng.uniform(.95, 1.05, 3).astype(np.float32)
    rgb += rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(rng.uniform(1, 3))  # sensor noise
    out = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    if rng.random() < .1:  # motion / focus blur on some frames
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(.5, 1.3) * w / 512))
    # Void annotations of real Cityscapes frames: out-of-ROI border, rectification wedge, unlabeled blobs.
    if rng.random() < .6:
        b = max(1, round(rng.uniform(.003, .012) * w))
        lab[:, :b] = lab[:, -b:] = lab[-b:, :] = C.OUT_OF_ROI
    if rng.random() < .1:
        k = min(h, int(rng.uniform(.05, .15) * w))
        top = rng.random() < .5  # wedge in the top-left or bottom-left corner
        tri = np.tri(k, k, dtype=bool)[::-1] if top else np.tri(k, k, dtype=bool)
        rows = slice(0, k) if top else slice(h - k, h)
        arr = np.array(out)
        arr[rows, :k][tri] = 0
        lab[rows, :k][tri] = C.RECT_BORDER
        out = Image.fromarray(arr)
    for _ in range(rng.poisson(1.0)):
        y0, x0 = rng.integers(0, h - 4), rng.integers(0, w - 4)
        lab[y0:y0 + rng.integers(2, max(3, h // 20)), x0:x0 + rng.integers(2, max(3, w // 30))] = C.UNLABELED
    return np.asarray(out), lab


def _stem(split, index):
    """Cityscapes-style name: cities take turns, sequence numbers count per city, frame 19 like gtFine."""
    cities = CITIES[split]
    return cities[index % len(cities)], f"{cities[index % len(cities)]}_{index // len(cities):06d}_000019"


def _write_one(job):
    root, seed, split, index, h, w = job
    split_id = SPLITS.index(split)
    rng = np.random.default_rng([seed, split_id, index])
    rgb, lab = render(rng, h, w)
    city, stem = _stem(split, index)
    img_dir, lab_dir = Path(root, "leftImg8bit", split, city), Path(root, "gtFine", split, city)
    img_dir.mkdir(parents=True, exist_ok=True)
    lab_dir.mkdir(parents=True, exist_ok=True)
    # Low compression: noisy images barely compress anyway, and writing is the bottleneck.
    Image.fromarray(rgb).save(img_dir / f"{stem}_leftImg8bit.png", compress_level=1)
    Image.fromarray(lab, mode="L").save(lab_dir / f"{stem}_gtFine_labelIds.png", compress_level=6)
    return split


def _worker_init(parent_pid):
    """Pool initializer: a worker dies with the process generating the dataset, however that one ends.

    A worker blocks on its job queue forever once its parent is gone (even SIGKILLed), so without this a
    killed run leaves orphans rendering or idling. Ctrl-C reaches the whole process group: workers ignore
    it and the parent, which gets it too, tears them down after cleaning up.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # not the parent's raise-and-clean-up handlers (cache.py)
        signal.signal(sig, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:  # prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills us when the parent exits
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch():  # covers a parent that died before prctl, and platforms without it
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _kill_workers(pool):
    kill = getattr(pool, "kill_workers", None)  # public from Python 3.14
    if kill is not None:
        kill()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.kill()


def generate_dataset(root, *, seed=0, num_train=300, num_val=60, num_test=40, height=256, width=512,
                     progress=True, workers=None):
    """Write a synthetic Cityscapes-layout dataset under ``root`` (created; existing files overwritten)."""
    if height < 32 or width < 32:
        raise DataError(f"data.synthetic.height/width = {height}x{width} is too small; expected at least 32x32")
    counts = {"train": int(num_train), "val": int(num_val), "test": int(num_test)}
    jobs = [(str(root), int(seed), s, i, int(height), int(width)) for s, n in counts.items() for i in range(n)]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    bar = None
    if progress:
        bar = tqdm(total=len(jobs), desc=f"synthetic cityscapes {width}x{height}", unit="img")
    try:
        if workers > 1 and len(jobs) >= 16:
            pool = ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(os.getpid(),))
            try:
                for _ in pool.map(_write_one, jobs, chunksize=8):
                    bar and bar.update()
            except BaseException:  # error, Ctrl-C or SIGTERM: stop rendering into a directory about to go
                _kill_workers(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        else:
            for job in jobs:
                _write_one(job)
                bar and bar.update()
    finally:
        bar and bar.close()
