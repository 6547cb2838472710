"""The Lightning callback that anneals gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4).

Like CondenseNet's annealing (Huang et al., CVPR 2018), without its global state: the schedule lives
here, not in the layers; it reads training progress from the trainer (epoch, batch, batches per epoch)
and *sets* alpha on every `GradualPointwiseConv` explicitly before each step (`per="step"`) or epoch
(`per="epoch"`). No global state and no side effects in forward().

Resume: alpha buffers travel in the model's state_dict and alpha is a pure function of progress, so a run
resumed from a checkpoint (`trainer.fit(..., ckpt_path=...)`) recomputes the alpha sequence of an
uninterrupted run. The callback's own state (its schedule settings and the decay length resolved for this
run) is saved in the checkpoint too; on resume the checkpoint's schedule wins, with a warning if the
constructor was given a different one, so extending `max_epochs` cannot silently stretch a fractional decay.

Logged once per epoch (at its end, i.e. the model a checkpoint of that epoch would hold):
`grouping/alpha` and `grouping/effective_gmacs` (GMACs at `input_hw`, cross-group weights counted while
alpha > 0). The two possible MAC counts are measured once at setup on a deep copy of the module, never per
epoch, since a layer's count only depends on whether alpha is 0.
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_warn

from ..errors import ConfigError
from ..measure.complexity import count_macs
from ..models.gradual_conv import GradualPointwiseConv, gradual_convs
from .schedules import AlphaSchedule

class GradualGrouping(pl.Callback):
    """Anneal alpha from 1 to 0 over `decay_epochs` (or `decay_fraction`), then hold 0 for `finetune_epochs`.

    Flat keyword settings so Hydra can instantiate it; see `AlphaSchedule` for their meaning. Every one is
    the `grouping.callback` node's (config/schema.py `GradualGroupingConfig` holds the defaults), so none
    has a default here. Closed choices (shape, per, convention) may come as str-valued Enum members of the
    structured config; they are kept as their plain values (checkpoints then hold plain strings).
    `input_hw=None` turns the GMACs metric off; `convention` is gradgroup.measure.complexity's.
    """

    def __init__(self, *, decay_epochs: Optional[float], decay_fraction: Optional[float], finetune_epochs: int,
                 shape: str, per: str, steps: int, rate: float, dense_epochs: float,
                 input_hw: Optional[Sequence[int]], convention: str):
        super().__init__()
        shape, per, convention = (getattr(v, "value", v) for v in (shape, per, convention))
        self.schedule = AlphaSchedule(decay_epochs=decay_epochs, finetune_epochs=finetune_epochs, shape=shape,
                                      per=per, decay_fraction=decay_fraction, steps=steps, rate=rate,
                                      dense_epochs=dense_epochs)
        if input_hw is not None:
            input_hw = tuple(int(v) for v in input_hw)
            if len(input_hw) != 2 or min(input_hw) < 1:
                raise ConfigError(f"grouping.callback.input_hw: expected [height, width] in pixels, got {list(input_hw)}.")
        self.input_hw = input_hw
        self.convention = convention
        self._decay: Optional[float] = None  # decay length in epochs, resolved for this run
        self._convs: list[GradualPointwiseConv] = []
        self._macs: Optional[tuple[int, int]] = None  # (alpha > 0, alpha == 0)

    # ------------------------------------------------------------------ setup and checks
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if stage != "fit":
            return
        self._convs = [m for _, m in gradual_convs(pl_module)]  # a model without any: config/checks.py
        self._decay = self.schedule.decay_length(trainer.max_epochs)  # fail fast, before any data loads
        # Recounted on every fit: the callback may be reused with another model (e.g. the next phase).
        self._macs = self._count_macs(pl_module) if self.input_hw is not None else None

    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        # A checkpoint may have replaced the schedule after setup: check it against this run too.
        self._convs = [m for _, m in gradual_convs(pl_module)]
        resolved = self.schedule.decay_length(trainer.max_epochs)
        if self._decay is None:
            self._decay = resolved
        elif self._decay + self.schedule.dense_epochs + self.schedule.finetune_epochs > trainer.max_epochs + 1e-9:
            raise ConfigError(f"grouping.callback: the checkpoint's decay of {self._decay} epochs plus its fine-tuning "
                              f"no longer fits trainer.max_epochs ({trainer.max_epochs}).")

    def _count_macs(self, pl_module: "pl.LightningModule") -> Optional[tuple[int, int]]:
        """MACs at input_hw with every gradual conv dense, and with every one grouped, in one forward.

        Runs on a deep copy (LightningModule drops its trainer when copied) so the training model's alpha,
        hooks and BN statistics are untouched. A model whose forward cannot take a single image only loses
        the metric, with a warning, rather than the run.
        """
        model = copy.deepcopy(pl_module)
        convs = [m for _, m in gradual_convs(model)]
        saved = 0

        def hook(conv, inputs, output):
            nonlocal saved
            saved += conv.macs_for(output, grouped=False) - conv.macs_for(output, grouped=True)

        for conv in convs:
            conv.set_alpha(1.0)
        handles = [conv.register_forward_hook(hook) for conv in convs]
        try:
            dense = count_macs(model, self.input_hw, self.convention)
        except Exception as err:  # noqa: BLE001 - the metric is optional, training is not
            rank_zero_warn(f"GradualGrouping: could not count MACs at {list(self.input_hw)} "
                           f"({type(err).__name__}: {err}); grouping/effective_gmacs will not be logged.")
            return None
        finally:
            for h in handles:
                h.remove()
            del model
        return dense, dense - saved

    # ------------------------------------------------------------------ alpha
    def _apply(self, trainer: "pl.Trainer", step_in_epoch: int) -> None:
        if self._decay is None:  # fit() always runs setup first; this guards direct hook calls
            self._decay = self.schedule.decay_length(trainer.max_epochs)
        alpha = self.schedule.alpha(trainer.current_epoch, step_in_epoch, trainer.num_training_batches,
                                    decay=self._decay)
        # Set every time, not only when the value moves: a few scalar fills per step, and nothing that
        # touched the buffers in between (a weight reload, a user) can leave a stale alpha behind.
        for conv in self._convs:
            conv.set_alpha(alpha)

    def on_train_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        # Also with per="step": sets the value of the epoch's first batch before anything else runs.
        self._apply(trainer, 0)

    def on_train_batch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", batch, batch_idx: int) -> None:
        if self.schedule.per == "step":
            self._apply(trainer, batch_idx)

    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        alpha = float(self._convs[0].alpha) if self._convs else 1.0
        pl_module.log("grouping/alpha", alpha, on_step=False, on_epoch=True)
        if self._macs is not None:
            macs = self._macs[0] if alpha > 0 else self._macs[1]
            pl_module.log("grouping/effective_gmacs", macs / 1e9, on_step=False, on_epoch=True)

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict:
        return {"schedule": self.schedule.to_dict(), "decay_epochs_resolved": self._decay,
                "input_hw": None if self.input_hw is None else list(self.input_hw)}

    def load_state_dict(self, state_dict: dict) -> None:
        saved = AlphaSchedule.from_dict(state_dict["schedule"])
        if saved != self.schedule:
            rank_zero_warn(f"GradualGrouping: resuming with the checkpoint's alpha schedule {saved} instead of "
                           f"the configured {self.schedule}, so alpha continues the interrupted run's sequence.")
        self.schedule = saved
        if state_dict.get("decay_epochs_resolved") is not None:
            self._decay = float(state_dict["decay_epochs_resolved"])
