"""Per-sample augmentation seeds: results that do not depend on the DataLoader's worker count.

Without this, each DataLoader worker process carries its own augmentation random stream (seeded per
worker), so which flip or shift a given image gets depends on which worker loaded it, i.e. on
``data.num_workers``; with ``num_workers=0`` the stream also sits in the main process beside dropout.
Here the sampler, which always runs in the main process, hands out ``(index, seed)`` pairs: the epoch's
permutation and one seed per draw, both a pure function of the run's seed and the epoch number
(counter-based seeding, the scheme Lightning's fault-tolerant loading and JAX-style key splitting use).
The dataset reseeds the augmentation pipeline from the draw's seed before transforming that sample, so a
sample is augmented the same way in any worker, with any worker count, and after a resume.

Which epoch: ``epoch_fn`` (the datamodule reads the attached trainer's fit-loop progress) when it answers,
else the last ``set_epoch``, else a count of passes. Lightning's own ``set_epoch`` comes too late for this:
it primes the train iterator, and worker prefetch draws the first indices, before calling it, so a
resumed run would replay epoch 0 in its first epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import Sampler

_SEED_SPACE = 2**31 - 1


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator for (seed, epoch) alone; no global random state is read or advanced."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch)) % 2**63)


class SeededShuffleSampler(Sampler):
    """Shuffles ``num_samples`` indices each epoch and pairs every index with its augmentation seed."""

    def __init__(self, num_samples: int, seed: int, epoch_fn: Callable[[], int | None] | None = None):
        self.num_samples, self.seed, self.epoch, self.epoch_fn = int(num_samples), int(seed), 0, epoch_fn

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[tuple[int, int]]:
        current = self.epoch_fn() if self.epoch_fn is not None else None
        if current is not None:
            self.epoch = int(current)
        g = epoch_generator(self.seed, self.epoch)
        order = torch.randperm(self.num_samples, generator=g).tolist()
        seeds = torch.randint(0, _SEED_SPACE, (self.num_samples,), generator=g).tolist()
        self.epoch += 1  # the next pass differs even where nobody calls set_epoch
        return iter(list(zip(order, seeds)))


def loader_generator() -> torch.Generator:
    """For DataLoader(generator=...): each new loader iterator draws its worker base seed from this, not
    from torch's global generator, so a persistent-worker loader (one draw) and an in-process loader (a
    draw every epoch) leave the global stream, and with it dropout, in the same state. Our workers use no
    random state of their own (augmentation is reseeded per sample), so the value drawn does not matter."""
    return torch.Generator().manual_seed(0)
