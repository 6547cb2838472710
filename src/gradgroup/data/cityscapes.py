"""Cityscapes dataset and Lightning datamodule; the same code reads real Cityscapes or the synthetic stand-in.

``CityscapesDataset`` pairs ``leftImg8bit`` images with ``gtFine *_gtFine_labelIds.png`` labels and maps
labelIds to trainIds (0..18, 255 = ignore), as the paper's Cityscapes setup (docs/paper.md section 5).
``CityscapesDataModule`` takes flat, Hydra-friendly kwargs: with ``root=None`` it generates the synthetic
dataset (``synthetic/``) into ``cache_dir`` (by default one place per user) once, so every run, test and CI job works offline; with
``root=/path/to/cityscapes`` it reads the real data. Bad data is caught in ``setup()`` (see ``reader.py``)
so a run fails before training, not hours in.
"""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..common.scores import IGNORE_INDEX
from ..errors import ConfigError, DataError
from . import reader
from .choices import LABEL_RESOLUTIONS
from .decoded import DecodedPairs
from .labels import CLASS_NAMES, LABEL_TO_TRAIN, NUM_CLASSES
from .sampling import SeededShuffleSampler, loader_generator
from .synthetic import default_cache_dir, ensure_dataset
from .transforms import (
    build_eval_transform,
    build_train_transform,
    merge_augment,
    parse_hw,
    scaled_hw,
)

log = logging.getLogger(__name__)



def resolve_path(path) -> Path:
    """Absolute path; a relative one is taken from the current directory (the entry point has already
    made config paths absolute against the directory the run was launched from)."""
    return Path(path).expanduser().absolute()


class CityscapesDataset(Dataset):
    """(image float tensor [3,H,W], target long tensor [H,W] with trainIds 0..18 and 255) per pair.

    ``transform(image_uint8_hwc, train_id_uint8_hw) -> (tensor, tensor)``; without one the image is only
    scaled to [0, 1]. ``pairs`` lets the datamodule pass an already found and validated (subset) list.
    """

    def __init__(self, root, split: str, transform=None, pairs=None):
        self.root, self.split, self.transform = Path(root), split, transform
        self.pairs = list(pairs) if pairs is not None else reader.find_pairs(self.root, split)
        self.decoded = DecodedPairs(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index):
        if isinstance(index, (tuple, list)):  # (index, augmentation seed) from SeededShuffleSampler
            index, seed = index
            self.transform.reseed(seed)
        image, target = self.decoded.read(index)
        if self.transform is not None:
            return self.transform(image, target)
        return (torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0),
                torch.tensor(target, dtype=torch.long))


def _limit(pairs, n):
    """Evenly spaced subset (not the first n) so a limited run still spans every city."""
    if n is None or int(n) >= len(pairs):
        return pairs
    idx = np.unique(np.linspace(0, len(pairs) - 1, int(n)).round().astype(int))
    return [pairs[i] for i in idx]


def unwrap_loader_error(err: DataError) -> str:
    """The DataError's own message, without the "Caught DataError in DataLoader worker" traceback that
    torch's worker re-raise puts around it (our messages are one line: the last line of that text)."""
    text = str(err).strip()
    if not text.startswith("Caught DataError"):
        return text
    last = text.splitlines()[-1]
    return last.split("DataError: ", 1)[1] if "DataError: " in last else last


def _in_launcher_worker() -> bool:
    return multiprocessing.current_process().name.startswith("LokyProcess")


class CityscapesDataModule(pl.LightningDataModule):
    """Train/val/test loaders for Cityscapes (``root``) or the generated stand-in (``root=None``).

    Every setting is the `data` node's (config/schema.py `DataConfig` holds the defaults and the closed
    choices, and has checked types, keys and choices before this is built): none has a default here.
    What the schema cannot type is checked here (sizes, counts >= 1); `progress` and `pin_memory` are
    the caller's, not the config's."""

    num_classes = NUM_CLASSES
    ignore_index = IGNORE_INDEX

    def __init__(self, *, root, cache_dir, synthetic, train_hw, input_hw, label_hw, augment, normalize, batch_size,
                 eval_batch_size, num_workers, limit_train, limit_val, validate, test_split, label_resolution,
                 pin_memory=None, progress=True):
        super().__init__()
        self.root = None if root in (None, "") else root
        self.cache_dir = cache_dir
        self.synthetic = dict(synthetic)  # unknown keys: the schema, or ensure_dataset for direct callers
        self.train_hw, self.input_hw = parse_hw(train_hw, "train_hw"), parse_hw(input_hw, "input_hw")
        self.label_hw = parse_hw(label_hw, "label_hw")
        self.augment = merge_augment(augment)  # fail on config typos at construction, not in a worker
        for key, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if int(value) < 1:
                raise ConfigError(f"data.{key}={value} is invalid; expected a positive integer")
        self.batch_size, self.eval_batch_size = int(batch_size), int(eval_batch_size)
        if int(num_workers) < 0:
            raise ConfigError(f"data.num_workers={num_workers} is invalid; expected 0 or more")
        self.num_workers = int(num_workers)
        if self.num_workers and _in_launcher_worker():
            # joblib's loky workers cannot start DataLoader worker processes (their arguments fail to
            # pickle under loky's start method, and Lightning then fails with an unrelated error); the
            # launcher already runs jobs in parallel, so load in-process.
            log.warning("data.num_workers=%d -> 0: this job runs inside a joblib (loky) launcher worker",
                        self.num_workers)
            self.num_workers = 0
        for key, value in (("limit_train", limit_train), ("limit_val", limit_val)):
            if value is not None and int(value) < 1:
                raise ConfigError(f"data.{key}={value} is invalid; expected a positive number of images "
                                  "or null for all")
        self.limit_train, self.limit_val = limit_train, limit_val
        self.validate, self.test_split, self.progress = str(validate), test_split, progress
        self.label_resolution = str(label_resolution)  # a choice of data/choices.py, checked by the schema
        self.mean, self.std = tuple(normalize["mean"]), tuple(normalize["std"])
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.datasets: dict[str, CityscapesDataset] = {}

    # ------------------------------------------------------------------------------------------ paths
    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES

    @property
    def cache_path(self) -> Path:
        """`cache_dir`, or one place per user that every working dir shares (synthetic/cache.py)."""
        return resolve_path(self.cache_dir) if self.cache_dir else default_cache_dir()

    @property
    def data_root(self) -> Path:
        """The Cityscapes root read: the configured one, or the synthetic set's folder keyed by its params."""
        if self.root is not None:
            return resolve_path(self.root)
        s = self.synthetic
        name = f"{s['width']}x{s['height']}_n{s['num_train']}-{s['num_val']}-{s['num_test']}_seed{s['seed']}"
        return self.cache_path / name

    def prepare_data(self) -> None:
        if self.root is None:
            # validate="full" also checks the cache's file checksums against its manifest
            ensure_dataset(self.data_root, progress=self.progress, verify=self.validate == "full", **self.synthetic)

    # ------------------------------------------------------------------------------------------ setup
    def _pairs(self, split, limit):
        root = self.data_root
        if self.root is not None and not root.is_dir():
            raise DataError(f"data.root={self.root} does not exist; expected a Cityscapes root with leftImg8bit/ and "
                            "gtFine/, or leave data.root unset to use the generated default")
        pairs = _limit(reader.find_pairs(root, split), limit)
        reader.validate_pairs(pairs, self.validate, self.cache_path / "validation", name=split)
        return pairs

    def setup(self, stage=None) -> None:
        # Idempotent and lock-protected, so it is safe on every rank even if prepare_data never ran.
        self.prepare_data()
        scale = LABEL_RESOLUTIONS[self.label_resolution]
        mk_eval = lambda: build_eval_transform(self.input_hw, self.label_hw, self.mean, self.std, scale)  # noqa: E731
        if stage in (None, "fit"):
            train = build_train_transform(self.train_hw, self.input_hw, self.augment, self.mean, self.std)
            train.reseed(torch.initial_seed())  # for plain ds[i]; the train loader reseeds per sample
            self.datasets["train"] = CityscapesDataset(self.data_root, "train", train,
                                                       self._pairs("train", self.limit_train))
        if stage in (None, "fit", "validate"):
            self.datasets["val"] = CityscapesDataset(self.data_root, "val", mk_eval(),
                                                     self._pairs("val", self.limit_val))
        if stage in (None, "test", "predict"):
            self.datasets["test"] = CityscapesDataset(self.data_root, self.test_split, mk_eval(),
                                                      self._pairs(self.test_split, self.limit_val))

    def scored_label_hw(self, key: str = "val") -> list[int]:
        """[h, w] of the ground truth that `key`'s split is scored at (from its first label's header)."""
        scale = LABEL_RESOLUTIONS[self.label_resolution]
        if scale is None:
            return list(self.label_hw)
        with Image.open(self.datasets[key].pairs[0][1]) as im:
            return list(scaled_hw(im.size[::-1], scale))

    def label_resolution_record(self, key: str = "val") -> dict:
        """What an mIoU was scored at, for metrics.json / eval.json: the setting and the [h, w] it gave."""
        return {"label_resolution": self.label_resolution, "label_hw": self.scored_label_hw(key)}

    def _loader(self, key, train=False):
        if key not in self.datasets:
            raise RuntimeError(f"{key} dataset not set up; call setup() with the matching stage first")
        ds = self.datasets[key]
        # Train: order and augmentation seeds from the run's seed (torch.initial_seed(), set by
        # seed_everything) and the epoch, never from a worker's stream, so num_workers cannot change them.
        sampler = SeededShuffleSampler(len(ds), torch.initial_seed(), self._fit_epoch) if train else None
        return DataLoader(ds, batch_size=self.batch_size if train else self.eval_batch_size, sampler=sampler,
                          drop_last=train and len(ds) >= self.batch_size, num_workers=self.num_workers,
                          pin_memory=self.pin_memory, persistent_workers=self.num_workers > 0,
                          generator=loader_generator())

    def _fit_epoch(self) -> int | None:
        """The epoch the attached trainer's fit loop is starting: the value Lightning later hands to
        set_epoch, already right when the loader is first iterated (Lightning primes the train iterator,
        and worker prefetch draws indices, before it calls set_epoch; a resumed run would otherwise
        replay epoch 0's order and augmentation)."""
        trainer = getattr(self, "trainer", None)
        return None if trainer is None else trainer.fit_loop.epoch_progress.current.processed

    def train_dataloader(self):
        return self._loader("train", train=True)

    def val_dataloader(self):
        return self._loader("val")

    def test_dataloader(self):
        return self._loader("test")

    def predict_dataloader(self):
        return self._loader("test")

    # ------------------------------------------------------------------------------------ class weights
    def train_histogram(self) -> np.ndarray:
        """Pixel count per trainId over the (limited) training labels at stored resolution, cached: what
        `loss.weights=histogram` weighs by (data/class_weights.py)."""
        if "train" in self.datasets:
            pairs = self.datasets["train"].pairs
        else:
            self.prepare_data()
            pairs = _limit(reader.find_pairs(self.data_root, "train"), self.limit_train)
        return reader.histogram_cached([lab for _, lab in pairs], NUM_CLASSES, LABEL_TO_TRAIN,
                                        self.cache_path / "validation")
