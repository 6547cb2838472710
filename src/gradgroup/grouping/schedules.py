"""Alpha schedules for gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4).

The paper decreases alpha from 1 to 0 "in the initial epochs", then fine-tunes "in the last few epochs"
with alpha = 0. The shape of the decay, whether alpha moves per step or per epoch, and the lengths are
left open (docs/paper.md section 4), so each is a setting here (the `grouping.callback.*` config keys):

    alpha = 1                               for t < dense_epochs
    alpha = alpha_at((t - dense) / decay)   while decaying   (linear by default)
    alpha = 0                               from dense + decay on, through the fine-tuning epochs

where t is training progress in epochs: `epoch + batch / batches_per_epoch` when `per="step"`, the epoch
index when `per="epoch"`. Everything is a pure function of progress, so a resumed run recomputes exactly
the alpha sequence of an uninterrupted one.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

from ..errors import ConfigError

SHAPES = ("linear", "cosine", "step", "exponential")
PERS = ("step", "epoch")
_EPS = 1e-9  # slack for float sums of epoch counts (e.g. a decay_fraction times an epoch count)


def _check_shape_args(shape: str, steps: int, rate: float) -> None:
    if shape not in SHAPES:
        raise ConfigError(f"grouping.callback.shape: unknown alpha schedule shape {shape!r}; expected one of {SHAPES}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"grouping.callback.steps: the step schedule needs a positive integer number of steps, got {steps!r}.")
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise ConfigError(f"grouping.callback.rate: the exponential schedule needs a finite rate > 0, got {rate!r}.")


def alpha_at(progress_in_decay: float, shape: str = "linear", *, steps: int = 4, rate: float = 5.0) -> float:
    """Alpha at a point of the decay: 1 at progress 0, exactly 0 at progress >= 1 (clamped outside [0, 1]).

    linear: 1 - p.  cosine: (1 + cos(pi p)) / 2.  step: `steps` equal drops, 1 - floor(p * steps) / steps
    (steps=4: 1, .75, .5, .25, then 0 at the end).  exponential: exp(-rate p), shifted and rescaled so it
    still reaches exactly 0 at p = 1 (a plain exponential never does, and alpha = 0 is what lets the
    layer become a real grouped conv).
    """
    _check_shape_args(shape, steps, rate)
    p = float(progress_in_decay)
    if math.isnan(p):
        raise ConfigError("alpha schedule progress is NaN.")
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * p))
    if shape == "step":
        return 1.0 - math.floor(p * steps) / steps
    floor = math.exp(-rate)  # exponential: the value a plain exp(-rate p) would end at
    return (math.exp(-rate * p) - floor) / (1.0 - floor)


@dataclass(frozen=True)
class AlphaSchedule:
    """When alpha moves: `dense_epochs` at 1, a decay to 0, then `finetune_epochs` at 0.

    Give the decay either as `decay_epochs` (may be fractional with per="step") or as `decay_fraction` of
    the epochs that are neither dense nor fine-tuning (max_epochs - dense_epochs - finetune_epochs).
    """

    decay_epochs: Optional[float] = None
    finetune_epochs: int = 0
    shape: str = "linear"
    per: str = "step"
    decay_fraction: Optional[float] = None
    steps: int = 4
    rate: float = 5.0
    dense_epochs: float = 0.0

    def __post_init__(self) -> None:
        if (self.decay_epochs is None) == (self.decay_fraction is None):
            raise ConfigError(
                "grouping.callback: set exactly one of grouping.callback.decay_epochs (number of epochs over which alpha goes "
                "from 1 to 0) or grouping.callback.decay_fraction (that length as a fraction of the non-fine-tuning "
                f"epochs); got decay_epochs={self.decay_epochs!r}, decay_fraction={self.decay_fraction!r}.")
        if self.decay_epochs is not None and not _nonneg(self.decay_epochs):
            raise ConfigError(f"grouping.callback.decay_epochs: expected a number of epochs >= 0, got {self.decay_epochs!r}.")
        if self.decay_fraction is not None and not (_nonneg(self.decay_fraction) and self.decay_fraction <= 1):
            raise ConfigError(f"grouping.callback.decay_fraction: expected a fraction in [0, 1], got {self.decay_fraction!r}.")
        ft = self.finetune_epochs
        if isinstance(ft, bool) or not isinstance(ft, int) or ft < 0:
            raise ConfigError(f"grouping.callback.finetune_epochs: expected a whole number of epochs >= 0, got {ft!r}.")
        if not _nonneg(self.dense_epochs):
            raise ConfigError(f"grouping.callback.dense_epochs: expected a number of epochs >= 0, got {self.dense_epochs!r}.")
        if self.per not in PERS:
            raise ConfigError(f"grouping.callback.per: alpha is updated per {PERS}, got {self.per!r}.")
        _check_shape_args(self.shape, self.steps, self.rate)

    # ------------------------------------------------------------------ lengths
    def decay_length(self, max_epochs: int) -> float:
        """The decay in epochs for a run of `max_epochs`; raises ConfigError if the schedule does not fit."""
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ConfigError("trainer.max_epochs: gradual grouping schedules alpha over epochs, so it needs a "
                              f"positive, finite number of epochs; got {max_epochs!r}.")
        rest = max_epochs - self.finetune_epochs - self.dense_epochs
        if rest < -_EPS:
            raise ConfigError(
                f"grouping.callback.finetune_epochs ({self.finetune_epochs}) + grouping.callback.dense_epochs ({self.dense_epochs}) "
                f"exceed trainer.max_epochs ({max_epochs}); shorten them or train longer.")
        if self.decay_fraction is not None:
            return self.decay_fraction * max(rest, 0.0)
        if self.decay_epochs > rest + _EPS:
            raise ConfigError(
                f"grouping.callback.decay_epochs ({self.decay_epochs}) is longer than the training allows: "
                f"trainer.max_epochs ({max_epochs}) - grouping.callback.finetune_epochs ({self.finetune_epochs}) - "
                f"grouping.callback.dense_epochs ({self.dense_epochs}) = {rest}; expected decay_epochs <= {rest}.")
        return float(self.decay_epochs)

    # ------------------------------------------------------------------ alpha
    def progress(self, epoch: int, step_in_epoch: int = 0, steps_per_epoch: float = 1) -> float:
        """Training progress in epochs at the start of (epoch, step) under this schedule's granularity."""
        if self.per == "epoch":
            return float(epoch)
        if not (isinstance(steps_per_epoch, (int, float)) and math.isfinite(steps_per_epoch) and steps_per_epoch > 0):
            raise ConfigError(
                "grouping.callback.per=step needs a finite number of training batches per epoch, got "
                f"{steps_per_epoch!r} (a dataloader without a length?); use grouping.callback.per=epoch or set "
                "trainer.limit_train_batches.")
        return epoch + step_in_epoch / steps_per_epoch

    def alpha(self, epoch: int, step_in_epoch: int = 0, steps_per_epoch: float = 1,
              max_epochs: Optional[int] = None, decay: Optional[float] = None) -> float:
        """Alpha for the batch `step_in_epoch` of `epoch` (0-based). Pass `max_epochs`, or an already
        resolved `decay` length in epochs (what the callback does, so a resumed run keeps its decay)."""
        if decay is None:
            if max_epochs is None:
                raise ConfigError("AlphaSchedule.alpha needs max_epochs (or a resolved decay length).")
            decay = self.decay_length(max_epochs)
        t = self.progress(epoch, step_in_epoch, steps_per_epoch) - self.dense_epochs
        if t < 0:
            return 1.0
        if decay <= 0:  # no decay: grouped from the first step after the dense phase
            return 0.0
        return alpha_at(t / decay, self.shape, steps=self.steps, rate=self.rate)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "AlphaSchedule":
        return cls(**data)


def _nonneg(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)
