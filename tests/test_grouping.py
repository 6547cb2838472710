"""Gradual grouping (paper section 4): masked 1x1 conv, alpha schedules, the callback, conversion."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradgroup.errors import ConfigError
from gradgroup.grouping.convert import NotGroupedYetError, convert_to_grouped, max_abs_output_diff
from gradgroup.grouping.schedules import AlphaSchedule, alpha_at
from gradgroup.measure.complexity import count_macs
from gradgroup.models import ChannelShuffle, GradualPointwiseConv, build_model, gradual_convs, make_pointwise, set_alpha
from gradgroup.models.blocks import DepthwiseSeparableBlock

TOL = 1e-5


def dense_from_grouped(conv: nn.Conv2d) -> torch.Tensor:
    """The dense [out, in, 1, 1] weight that nn.Conv2d(groups=G) implicitly computes with."""
    g, out_ch, ig = conv.groups, conv.out_channels, conv.in_channels // conv.groups
    og = out_ch // g
    dense = torch.zeros(out_ch, conv.in_channels, 1, 1)
    for k in range(g):
        dense[k * og:(k + 1) * og, k * ig:(k + 1) * ig] = conv.weight[k * og:(k + 1) * og]
    return dense


def randomise_bn(model: nn.Module) -> None:
    gen = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


# ---------------------------------------------------------------------------- the masked conv
@pytest.mark.parametrize("groups", [2, 4, 8])
@pytest.mark.parametrize("channels", [16, 64, 128])
def test_mask_is_nn_conv2d_group_layout(groups, channels):
    torch.manual_seed(0)
    ref = nn.Conv2d(channels, channels, 1, groups=groups, bias=False)
    dense = dense_from_grouped(ref)
    conv = GradualPointwiseConv(channels, channels, groups)
    assert conv.mask.shape == (channels, channels, 1, 1)
    assert torch.equal(conv.mask.bool(), dense != 0)  # block-diagonal, contiguous, nn.Conv2d's order
    assert conv.mask.sum() == channels * channels // groups
    with torch.no_grad():
        conv.weight.copy_(dense)
    assert torch.equal(conv.grouped_weight(), ref.weight)


def test_mask_layout_with_different_in_and_out_channels():
    ref = nn.Conv2d(16, 32, 1, groups=4, bias=False)
    conv = GradualPointwiseConv(16, 32, 4)
    assert torch.equal(conv.mask.bool(), dense_from_grouped(ref) != 0)
    assert (conv.in_channels, conv.out_channels, conv.groups, conv.kernel_size) == (16, 32, 4, (1, 1))


def test_alpha_one_is_the_dense_conv_and_alpha_zero_the_grouped_conv():
    torch.manual_seed(0)
    conv = GradualPointwiseConv(64, 64, 4)
    x = torch.randn(2, 64, 5, 7)
    assert float(conv.alpha) == 1.0
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight), atol=TOL)
    conv.set_alpha(0.0)
    ref = nn.Conv2d(64, 64, 1, groups=4, bias=False)
    with torch.no_grad():
        ref.weight.copy_(conv.grouped_weight())
    assert torch.allclose(conv(x), ref(x), atol=TOL)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * conv.mask), atol=TOL)
    conv.set_alpha(0.3)
    expected = F.conv2d(x, conv.weight * (conv.mask + 0.3 * (1 - conv.mask)))
    assert torch.allclose(conv(x), expected, atol=TOL)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_set_alpha_rejects_values_outside_unit_interval(bad):
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        GradualPointwiseConv(8, 8, 2).set_alpha(bad)


def test_gradients_reach_in_group_weights_and_cross_group_scaled_by_alpha():
    torch.manual_seed(0)
    conv = GradualPointwiseConv(16, 16, 4)
    x, target = torch.randn(2, 16, 4, 4), torch.randn(2, 16, 4, 4)
    inside, cross = conv.mask.bool(), ~conv.mask.bool()
    for alpha in (1.0, 0.5, 0.0):
        conv.set_alpha(alpha)
        conv.weight.grad = None
        ((conv(x) - target) ** 2).sum().backward()
        # Chain rule on W_eff = W * scale: dL/dW = dL/dW_eff * scale (the documented choice).
        scale = conv.mask + alpha * (1 - conv.mask)
        w_eff = (conv.weight * scale).detach().requires_grad_()
        ((F.conv2d(x, w_eff) - target) ** 2).sum().backward()
        assert torch.allclose(conv.weight.grad, w_eff.grad * scale, atol=1e-4)
        assert conv.weight.grad[inside].abs().min() > 0
        if alpha == 0.0:
            assert torch.all(conv.weight.grad[cross] == 0)  # grouped branch: exactly no cross-group gradient
        else:
            assert conv.weight.grad[cross].abs().sum() > 0


def test_state_dict_carries_mask_and_alpha_and_restores_the_branch():
    conv = GradualPointwiseConv(16, 16, 4)
    conv.set_alpha(0.0)
    assert set(conv.state_dict()) == {"weight", "mask", "alpha"}
    fresh = GradualPointwiseConv(16, 16, 4)
    fresh.load_state_dict(conv.state_dict())
    assert float(fresh.alpha) == 0.0
    x = torch.randn(1, 16, 3, 3)
    assert torch.allclose(fresh(x), conv(x), atol=TOL)
    out = fresh(x)
    assert fresh.mac_count((x,), out) == out.numel() * 4


def test_effective_macs_count_cross_group_weights_while_alpha_positive():
    model = nn.Sequential(nn.Conv2d(3, 16, 1, bias=False), GradualPointwiseConv(16, 16, 4))
    stem = 16 * 3 * 8 * 8
    for alpha, per_pixel in [(1.0, 16), (0.01, 16), (0.0, 4)]:
        set_alpha(model, alpha)
        assert count_macs(model, (8, 8)) == stem + 16 * 8 * 8 * per_pixel


def test_gradual_model_costs_d_star_while_dense_and_dg4_star_once_grouped():
    enc = {"groups": 4, "layers": "starred"}
    gradual = build_model(19, {**enc, "block": "dgc", "gradual": True}, {"name": "light"})
    d_star = build_model(19, {**enc, "block": "d"}, {"name": "light"})
    dg4_star = build_model(19, {**enc, "block": "dgc"}, {"name": "light"})
    set_alpha(gradual, 0.5)
    assert count_macs(gradual, (32, 64)) == count_macs(d_star, (32, 64))
    set_alpha(gradual, 0.0)
    assert count_macs(gradual, (32, 64)) == count_macs(dg4_star, (32, 64))
    params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert params(convert_to_grouped(gradual)) == params(dg4_star)


def test_groups_must_divide_channels():
    with pytest.raises(ConfigError, match="does not divide 64"):
        make_pointwise("gradual", 64, 64, 3)


# ---------------------------------------------------------------------------- conversion
@pytest.mark.parametrize("shuffle", [False, True], ids=["dgc", "dgcs"])
def test_conversion_of_a_block_keeps_outputs(shuffle):
    torch.manual_seed(0)
    block = DepthwiseSeparableBlock(64, dilation=2, pointwise="gradual", groups=4, shuffle=shuffle)
    randomise_bn(block)
    set_alpha(block, 0.0)
    converted = convert_to_grouped(block)
    assert isinstance(converted.pw1, nn.Conv2d) and converted.pw1.groups == 4
    assert isinstance(converted.pw2, nn.Conv2d) and converted.pw2.groups == 4
    assert isinstance(converted.shuffle, ChannelShuffle if shuffle else nn.Identity)
    assert isinstance(block.pw1, GradualPointwiseConv)  # the original is left alone
    assert max_abs_output_diff(block, converted, torch.randn(2, 64, 16, 16)) <= TOL


def test_conversion_of_the_whole_model_and_strict_load_into_plain_model():
    torch.manual_seed(0)
    enc = {"block": "dgcs", "groups": 4, "layers": "starred"}
    model = build_model(19, {**enc, "gradual": True}, {"name": "light"})
    randomise_bn(model)
    assert set_alpha(model, 0.0) == 26  # 13 blocks x 2 pointwise convs
    converted = convert_to_grouped(model)
    assert not gradual_convs(converted)
    x = torch.randn(2, 3, 32, 64)
    assert max_abs_output_diff(model, converted, x) <= TOL
    plain = build_model(19, enc, {"name": "light"})
    plain.load_state_dict(converted.state_dict(), strict=True)
    assert max_abs_output_diff(plain, converted, x) == 0.0
    assert count_macs(converted, (32, 64)) == count_macs(model, (32, 64))


def test_conversion_refuses_while_alpha_is_not_zero():
    torch.manual_seed(0)
    block = DepthwiseSeparableBlock(16, pointwise="gradual", groups=4)
    set_alpha(block, 0.25)
    with pytest.raises(NotGroupedYetError, match="alpha != 0"):
        convert_to_grouped(block)
    forced = convert_to_grouped(block, force=True)
    assert max_abs_output_diff(block, forced, torch.randn(1, 16, 8, 8)) > 1e-4


# ---------------------------------------------------------------------------- schedules
@pytest.mark.parametrize("shape,progress,expected", [
    ("linear", 0.0, 1.0), ("linear", 0.25, 0.75), ("linear", 1.0, 0.0), ("linear", 1.7, 0.0),
    ("linear", -0.5, 1.0),
    ("cosine", 0.5, 0.5), ("cosine", 0.25, 0.5 * (1 + math.cos(math.pi / 4))), ("cosine", 1.0, 0.0),
    ("step", 0.1, 1.0), ("step", 0.25, 0.75), ("step", 0.6, 0.5), ("step", 0.99, 0.25), ("step", 1.0, 0.0),
    ("exponential", 0.0, 1.0), ("exponential", 1.0, 0.0),
    ("exponential", 0.5, (math.exp(-2.5) - math.exp(-5)) / (1 - math.exp(-5))),
])
def test_alpha_at(shape, progress, expected):
    assert alpha_at(progress, shape) == pytest.approx(expected, abs=1e-12)


def test_alpha_at_options_and_monotonicity():
    assert alpha_at(0.5, "step", steps=2) == 0.5 and alpha_at(0.49, "step", steps=2) == 1.0
    assert alpha_at(0.5, "exponential", rate=1.0) > alpha_at(0.5, "exponential", rate=10.0)
    for shape in ("linear", "cosine", "step", "exponential"):
        values = [alpha_at(i / 50, shape) for i in range(51)]
        assert all(a >= b for a, b in zip(values, values[1:])) and values[-1] == 0.0


def test_schedule_alpha_from_progress():
    per_step = AlphaSchedule(decay_epochs=2, finetune_epochs=1)
    assert [per_step.alpha(0, s, 4, max_epochs=3) for s in range(4)] == [1.0, 0.875, 0.75, 0.625]
    assert per_step.alpha(1, 0, 4, max_epochs=3) == 0.5 and per_step.alpha(2, 0, 4, max_epochs=3) == 0.0
    per_epoch = AlphaSchedule(decay_epochs=4, finetune_epochs=1, per="epoch")
    assert [per_epoch.alpha(e, 3, 10, max_epochs=6) for e in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    fraction = AlphaSchedule(decay_fraction=0.5, finetune_epochs=2, dense_epochs=2)
    assert fraction.decay_length(10) == 3.0  # half of 10 - 2 - 2
    assert fraction.alpha(1, 5, 10, max_epochs=10) == 1.0  # still dense
    assert fraction.alpha(3, 5, 10, max_epochs=10) == pytest.approx(0.5)
    assert fraction.alpha(5, 0, 10, max_epochs=10) == 0.0


@pytest.mark.parametrize("kwargs,message", [
    ({"decay_epochs": -1}, "grouping.callback.decay_epochs"),
    ({"decay_epochs": 2, "finetune_epochs": -2}, "grouping.callback.finetune_epochs"),
    ({"decay_epochs": 2, "shape": "sigmoid"}, "grouping.callback.shape: unknown alpha schedule shape 'sigmoid'"),
    ({"decay_epochs": 2, "per": "batch"}, "grouping.callback.per"),
    ({"decay_epochs": 2, "decay_fraction": 0.5}, "exactly one of grouping.callback.decay_epochs"),
    ({}, "exactly one of grouping.callback.decay_epochs"),
    ({"decay_fraction": 1.5}, "grouping.callback.decay_fraction"),
    ({"decay_epochs": 2, "shape": "step", "steps": 0}, "grouping.callback.steps"),
    ({"decay_epochs": 2, "shape": "exponential", "rate": -1.0}, "grouping.callback.rate"),
])
def test_bad_schedule_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AlphaSchedule(**kwargs)


def test_decay_longer_than_training():
    with pytest.raises(ConfigError, match=r"grouping.callback.decay_epochs \(8\) is longer.*expected decay_epochs <= 7"):
        AlphaSchedule(decay_epochs=8, finetune_epochs=3).decay_length(10)
    with pytest.raises(ConfigError, match="trainer.max_epochs"):
        AlphaSchedule(decay_epochs=1).decay_length(-1)


# ---------------------------------------------------------------------------- the callback
