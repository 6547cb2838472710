"""DDP that works on CPU and GPU: one writer, every evaluation image counted exactly once.

- Rank: Lightning's subprocess launcher starts ranks > 0 as fresh copies of the command, with
  LOCAL_RANK / NODE_RANK (or RANK from torchrun / SLURM) in their environment. Only global rank 0
  writes metrics.json, converted.pt and prints; `is_rank_zero` (jobs/ranks.py) tells before any Trainer exists.
- Evaluation: Lightning's DistributedSampler pads the val set to a multiple of the world size by
  repeating images, so with 5 images on 2 ranks one is scored twice. `eval_once` gives the val/test
  loaders a sampler that splits the images without padding (rank r takes images r, r+W, ...);
  torchmetrics then sums the per-rank confusion matrices, so the mIoU is that of a single process.
  Under `limit_val_batches` / `limit_test_batches` the ranks split the images one process would
  evaluate (the first N: evaluation does not shuffle), not N per rank, so the val mIoU does not depend on
  the rank count.
- SyncBatchNorm only where it exists: `sync_batchnorm: auto` (conf/trainer/ddp.yaml) means "on GPUs".
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from ..jobs.ranks import is_rank_zero  # noqa: F401  (re-exported: the learning asks it too)


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class EvalOnceSampler(DistributedSampler):
    """Indices rank, rank + W, ... of the dataset: no padding, no shuffling; W and rank read at iteration
    (the process group exists only once Lightning has launched). A DistributedSampler, so Lightning
    keeps it instead of substituting its padded one."""

    def __init__(self, dataset, images: int | None = None):
        super().__init__(dataset, num_replicas=1, rank=0, shuffle=False, drop_last=False)
        self.images = len(dataset) if images is None else min(int(images), len(dataset))

    def __iter__(self):
        world, rank = _world()
        return iter(range(rank, self.images, world))

    def __len__(self) -> int:
        world, rank = _world()
        return len(range(rank, self.images, world))


def single_process_images(loader: DataLoader, limit) -> int:
    """How many images (the first ones) one process evaluates under Lightning's `limit_*_batches`: an int
    is batches, a float a fraction of them."""
    n = len(loader.dataset)
    if limit is None or (isinstance(limit, float) and limit >= 1.0):
        return n
    batches = int(len(loader) * limit) if isinstance(limit, float) else int(limit)
    return min(n, batches * loader.batch_size)


def eval_once(loader: DataLoader, images: int | None = None) -> DataLoader:
    """The same loader, each of its first `images` images (default: all) on exactly one rank."""
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=EvalOnceSampler(loader.dataset, images),
                      num_workers=loader.num_workers, pin_memory=loader.pin_memory,
                      persistent_workers=loader.persistent_workers, worker_init_fn=loader.worker_init_fn,
                      collate_fn=loader.collate_fn, generator=loader.generator)


def resolve_sync_batchnorm(value, accelerator) -> bool:
    """`auto`: SyncBatchNorm on GPUs only (it has no CPU implementation); otherwise the given bool."""
    if str(value) != "auto":
        return bool(value)
    return str(accelerator) in ("gpu", "cuda") or (str(accelerator) == "auto" and torch.cuda.is_available())
