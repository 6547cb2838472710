"""Masks for any images: files, folders or globs, any size, batched, with a progress bar.

Each image is read as RGB, resized (cv2 INTER_AREA, as the eval transform does) to the network's input
size and normalized with the training mean/std; the logits are resized back (bilinear) to the image's
own size before the argmax, so every mask has its input's size. Outputs are written by `outputs.py`.
"""
from __future__ import annotations

import glob
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..data.reader import read_image
from ..errors import ConfigError
from .evaluate import predict_batch
from .outputs import FORMATS, output_stem, write_outputs

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def expand_inputs(inputs) -> list[Path]:
    """Image files from files, folders (searched recursively) and glob patterns, sorted, without duplicates."""
    found: dict[Path, None] = {}
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            matches = [path]
        else:
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True)
                             if Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file())
        if not matches:
            raise ConfigError(f"INPUTS: {item} is not an image file, a folder with images ({', '.join(IMAGE_SUFFIXES)}) "
                              "or a glob matching some; give image files, folders or quoted globs.")
        found.update(dict.fromkeys(p.absolute() for p in matches))
    files = list(found)
    stems: dict[str, Path] = {}
    for f in files:
        other = stems.setdefault(output_stem(f), f)
        if other != f:
            raise ConfigError(f"INPUTS: {other} and {f} would write the same output name {output_stem(f)!r}; "
                              "predict them into separate --out folders.")
    return files


def check_formats(formats) -> list[str]:
    fmts = [f.strip().lower() for f in formats if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ConfigError(f"--format {','.join(formats)}: expected a comma-separated subset of {','.join(FORMATS)}")
    return fmts


def preprocess(image: np.ndarray, input_hw, mean, std) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> normalized float tensor [3, h, w] at the network's input size."""
    h, w = input_hw
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    x = (image.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class ImageFiles(Dataset):
    def __init__(self, files, input_hw, mean, std, keep_image: bool):
        self.files, self.input_hw, self.mean, self.std, self.keep = list(files), tuple(input_hw), mean, std, keep_image

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        image = read_image(self.files[i])
        return preprocess(image, self.input_hw, self.mean, self.std), image.shape[:2], \
            (image if self.keep else None), str(self.files[i])


def _collate(items):
    return torch.stack([it[0] for it in items]), [it[1] for it in items], [it[2] for it in items], \
        [it[3] for it in items]


def predict_files(predictor, files, out_dir, formats, input_hw, mean, std, batch_size: int = 4,
                  workers: int = 0, progress: bool = True) -> list[Path]:
    """Write `formats` for every file into `out_dir`; returns the written paths."""
    data = ImageFiles(files, input_hw, mean, std, keep_image="overlay" in formats)
    loader = DataLoader(data, batch_size=max(1, int(batch_size)), num_workers=int(workers), collate_fn=_collate)
    written = []
    with tqdm(total=len(data), desc="predict", unit="img", disable=not progress) as bar:
        for images, sizes, originals, paths in loader:
            logits = predictor(images)
            for j, (size, original, path) in enumerate(zip(sizes, originals, paths)):
                # One image at a time back to its own size: sizes may differ within a batch.
                pred = predict_batch(lambda _: logits[j: j + 1], None, size)[0].numpy().astype(np.uint8)
                written += write_outputs(out_dir, output_stem(path), pred, formats, original)
            bar.update(len(paths))
    return written
