"""The study's arms as grouping= choices (conf/grouping/abrupt.yaml, cosine.yaml, fixed_anneal.yaml,
direct_matched.yaml): what alpha each gives, and the init scale of direct_matched.

`abrupt` must be dense exactly until the point where `gradual` reaches alpha = 0 and grouped from there
on, within the same decay window and fine-tuning; `cosine` the cosine shape over that window.
"""
import math

import pytest

from gradgroup.config.compose import compose_config
from gradgroup.grouping.schedules import AlphaSchedule


def _schedule(choice: str, max_epochs: int, **extra) -> AlphaSchedule:
    cfg = compose_config(["experiment=table3/dg4", f"grouping={choice}", "preset=smoke",
                          f"trainer.max_epochs={max_epochs}", *(f"grouping.callback.{k}={v}" for k, v in extra.items())])
    keys = ("decay_epochs", "decay_fraction", "finetune_epochs", "dense_epochs", "shape", "per", "steps", "rate")
    node = cfg.grouping.callback
    return AlphaSchedule(**{k: getattr(node[k], "value", node[k]) for k in keys})


def _alphas(schedule: AlphaSchedule, max_epochs: int, steps_per_epoch: int) -> list[float]:
    return [schedule.alpha(e, s, steps_per_epoch, max_epochs=max_epochs)
            for e in range(max_epochs) for s in range(steps_per_epoch)]


@pytest.mark.parametrize("max_epochs,steps_per_epoch,extra", [
    (12, 30, {}), (32, 30, {}), (7, 3, {}), (12, 5, {"finetune_epochs": 2, "dense_epochs": 1}),
    (6, 4, {"decay_fraction": "null", "decay_epochs": 2.5, "per": "epoch"})])
def test_abrupt_is_dense_until_gradual_reaches_zero_then_grouped(max_epochs, steps_per_epoch, extra):
    gradual = _alphas(_schedule("gradual", max_epochs, **extra), max_epochs, steps_per_epoch)
    abrupt = _alphas(_schedule("abrupt", max_epochs, **extra), max_epochs, steps_per_epoch)
    assert set(abrupt) == {0.0, 1.0}  # one step, nothing in between
    for g, a in zip(gradual, abrupt):
        assert a == (0.0 if g == 0.0 else 1.0)
    # The step comes once, at the first batch where the gradual schedule is 0, and alpha stays 0 after it.
    first_zero = gradual.index(0.0)
    assert abrupt[:first_zero] == [1.0] * first_zero and abrupt[first_zero:] == [0.0] * (len(abrupt) - first_zero)
    assert 0 < first_zero < len(abrupt)


def test_abrupt_at_the_study_budget_drops_halfway():
    """12 epochs x 30 batches, decay over the first half: dense for 180 batches, grouped for the other 180."""
    abrupt = _alphas(_schedule("abrupt", 12), 12, 30)
    assert abrupt.count(1.0) == 180 and abrupt.count(0.0) == 180


def test_cosine_follows_the_cosine_over_the_gradual_window():
    cos, lin = _schedule("cosine", 12), _schedule("gradual", 12)
    assert (cos.shape, cos.decay_fraction) == ("cosine", lin.decay_fraction)
    for e in range(12):
        p = min(e / 6, 1.0)
        assert cos.alpha(e, max_epochs=12) == pytest.approx(0.5 * (1 + math.cos(math.pi * p)), abs=1e-12)
    # Same end point as linear: 0 from the same epoch on.
    assert [cos.alpha(e, max_epochs=12) == 0 for e in range(12)] == [lin.alpha(e, max_epochs=12) == 0 for e in range(12)]


@pytest.mark.parametrize("choice", ["abrupt", "cosine"])
def test_study_arms_name_their_arm_and_build_gradual_convs(choice):
    cfg = compose_config(["experiment=table3/dg4", f"grouping={choice}", "preset=smoke"])
    assert cfg.arm == choice and cfg.model.encoder.gradual is True
    assert cfg.grouping.callback._target_ == "gradgroup.grouping.callback.GradualGrouping"


def test_fixed_anneal_lasts_six_epochs_whatever_the_budget():
    sched = _schedule("fixed_anneal", 32)
    alphas = [sched.alpha(e, max_epochs=32) for e in range(32)]
    assert alphas[5] > 0 and alphas[6] == 0 and alphas[-1] == 0
    assert _schedule("gradual", 32).alpha(6, max_epochs=32) > 0  # gradual anneals over 16 of 32


def test_direct_matched_draws_the_grouped_convs_at_the_gradual_convs_in_group_scale():
    """Same seed: every weight as in direct, but each grouped 1x1 conv's divided by sqrt(G) exactly, so its
    bound is 1/sqrt(C_in), the bound of a gradual (dense-started) conv's in-group weights."""
    import torch
    from gradgroup.models.gradual_conv import GradualPointwiseConv

    cfg = compose_config(["experiment=table3/dg4", "grouping=direct_matched", "preset=smoke"])
    assert cfg.arm == "direct_matched" and cfg.grouping.callback is None
    assert cfg.model.encoder.pointwise_init == "dense_fan_in" and cfg.model.encoder.gradual is False
    spec = {k: v for k, v in cfg.model.encoder.items()}
    from gradgroup.models.erfnet import build_model

    torch.manual_seed(0)
    direct = build_model(encoder={**spec, "pointwise_init": "default"})
    torch.manual_seed(0)
    matched = build_model(encoder=spec)
    grouped = 0
    for (name, a), (_, b) in zip(direct.named_parameters(), matched.named_parameters()):
        conv = dict(matched.named_modules())[name.rsplit(".", 1)[0]]
        if isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (1, 1) and conv.groups > 1 and name.endswith("weight"):
            grouped += 1
            assert torch.allclose(b, a / 2.0)  # G = 4
            assert b.abs().max() <= 1 / math.sqrt(conv.in_channels)
        else:
            assert torch.equal(a, b), name
    assert grouped == 2 * 13  # two grouped 1x1 convs in each of the 13 starred blocks
    gradual = GradualPointwiseConv(64, 64, 4)
    assert gradual.weight.abs().max() <= 1 / math.sqrt(64) < 2 / math.sqrt(64)


def test_an_unknown_pointwise_init_is_a_clear_error():
    from gradgroup.errors import ConfigError
    from gradgroup.models.erfnet import build_model

    with pytest.raises(ConfigError, match="model.encoder.pointwise_init='fan_out'"):
        build_model(encoder={"block": "dgc", "groups": 4, "layers": "starred", "pointwise_init": "fan_out"})
