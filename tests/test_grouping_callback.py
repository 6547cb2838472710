"""The GradualGrouping Lightning callback (docs/paper.md section 4): alpha from training progress, exact
resume of the alpha sequence, logged alpha/effective GMACs, and its checks."""
from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gradgroup.errors import ConfigError
from gradgroup.grouping.schedules import AlphaSchedule
from gradgroup.measure.complexity import count_macs
from gradgroup.models import GradualPointwiseConv, set_alpha
from helpers import gradual_callback


class TinyModule(pl.LightningModule):
    """A small net with two gradual convs; records the alpha every training step computed with."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), GradualPointwiseConv(8, 8, 2), nn.BatchNorm2d(8),
                                 nn.ReLU(), GradualPointwiseConv(8, 4, 2))
        self.seen: list[tuple[int, int, float]] = []

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        self.seen.append((self.current_epoch, batch_idx, float(self.net[1].alpha)))
        assert float(self.net[4].alpha) == self.seen[-1][2]
        x, y = batch
        return F.mse_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def loader():
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(12, 3, 8, 8, generator=gen), torch.randn(12, 4, 8, 8, generator=gen))
    return DataLoader(data, batch_size=4)  # 3 steps per epoch


def trainer(max_epochs, callbacks, **kwargs):
    return pl.Trainer(max_epochs=max_epochs, callbacks=callbacks, accelerator="cpu", logger=False,
                      enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, **kwargs)


def schedule_kwargs(per):
    return {"decay_fraction": 0.75, "finetune_epochs": 2, "per": per, "shape": "cosine", "input_hw": (8, 8)}


class Killer(pl.Callback):
    """Simulates a job killed just before batch `batch` of epoch `epoch`, after its last checkpoint."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if (trainer.current_epoch, batch_idx) == self.at:
            raise RuntimeError("killed")


@pytest.mark.filterwarnings("ignore:You.re resuming from a checkpoint that ended before the epoch ended")
@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")
@pytest.mark.parametrize("per,kill_at", [("step", (3, 0)), ("epoch", (3, 0)), ("step", (2, 2))],
                         ids=["per-step", "per-epoch", "per-step-mid-epoch"])
def test_resume_continues_the_uninterrupted_alpha_sequence(tmp_path, per, kill_at):
    n = 6
    torch.manual_seed(0)
    full = TinyModule()
    trainer(n, [gradual_callback(**schedule_kwargs(per))], enable_checkpointing=False).fit(full, loader())

    def checkpoint():  # at every epoch end, or after every step to resume mid-epoch
        mid = kill_at[1] > 0
        return pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True, every_n_train_steps=1 if mid else None,
                                            save_on_train_epoch_end=not mid)

    torch.manual_seed(0)
    first = TinyModule()
    with pytest.raises(RuntimeError, match="killed"):
        trainer(n, [gradual_callback(**schedule_kwargs(per)), checkpoint(), Killer(*kill_at)]).fit(first, loader())
    resumed = TinyModule()
    trainer(n, [gradual_callback(**schedule_kwargs(per)), checkpoint()]).fit(
        resumed, loader(), ckpt_path=str(tmp_path / "last.ckpt"))

    assert first.seen[-1][:2] < kill_at <= resumed.seen[0][:2]
    assert first.seen + resumed.seen == full.seen
    assert len(full.seen) == n * 3
    alphas = [a for _, _, a in full.seen]
    assert alphas[0] == 1.0 and alphas[-6:] == [0.0] * 6  # two fine-tuning epochs at alpha = 0
    assert all(a >= b for a, b in zip(alphas, alphas[1:]))
    assert len(set(alphas)) == (10 if per == "step" else 4)  # decay = 0.75 * (6 - 2) = 3 epochs = 9 steps


def test_callback_logs_alpha_and_effective_gmacs_and_carries_its_state():
    torch.manual_seed(0)
    module = TinyModule()
    cb = gradual_callback(decay_epochs=1, finetune_epochs=1, input_hw=(8, 8))
    t = trainer(2, [cb], enable_checkpointing=False)
    t.fit(module, loader())
    assert float(t.callback_metrics["grouping/alpha"]) == 0.0
    set_alpha(module, 0.0)
    grouped = count_macs(module, (8, 8))
    assert float(t.callback_metrics["grouping/effective_gmacs"]) == pytest.approx(grouped / 1e9)
    set_alpha(module, 0.5)
    assert cb._macs == (count_macs(module, (8, 8)), grouped)

    state = cb.state_dict()
    other = gradual_callback(decay_epochs=5, input_hw=None)
    with pytest.warns(UserWarning, match="checkpoint's alpha schedule"):
        other.load_state_dict(state)
    assert other.schedule == cb.schedule and other._decay == 1.0


def test_callback_schedule_must_fit_max_epochs():
    with pytest.raises(ConfigError, match="grouping.callback.decay_epochs"):
        trainer(3, [gradual_callback(decay_epochs=3, finetune_epochs=1)], enable_checkpointing=False).fit(
            TinyModule(), loader())


def test_callback_takes_the_schemas_enums_and_keeps_plain_values():
    cb = gradual_callback(decay_epochs=2, shape="cosine", per="epoch", convention="paper")  # enums, from the schema
    assert cb.schedule == AlphaSchedule(decay_epochs=2, shape="cosine", per="epoch")
    assert type(cb.schedule.shape) is str and type(cb.convention) is str
    assert cb.state_dict()["schedule"]["per"] == "epoch"