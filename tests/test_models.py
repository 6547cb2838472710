"""ERFNet family: exact reference size, block structure, placements, decoders, bad configs."""
import pytest
import torch

from gradgroup.complexity import count_params
from gradgroup.errors import ConfigError
from gradgroup.models import build_model, channel_shuffle
from gradgroup.models.blocks import DepthwiseSeparableBlock, LightUpsampler, NonBottleneck1D
from gradgroup.models.erfnet import PLACEMENTS


def test_erfnet_matches_reference_parameter_count():
    assert count_params(build_model(19)) == 2_064_191


@pytest.mark.parametrize("c", [16, 64, 128])
def test_d_block_params_follow_paper_formula(c):
    # shared/paper.md: params(D, C) = 2C^2 + 26C (no conv bias, four BNs)
    assert count_params(DepthwiseSeparableBlock(c)) == 2 * c * c + 26 * c
    assert count_params(NonBottleneck1D(c)) == 12 * c * c + 8 * c


@pytest.mark.parametrize("g", [2, 4, 8])
def test_grouped_block_divides_pointwise_params(g):
    c = 64
    grouped = DepthwiseSeparableBlock(c, pointwise="group", groups=g)
    assert count_params(grouped) == 2 * c * c // g + 26 * c
    assert grouped.pw1.groups == g and grouped.dw1.groups == c  # depthwise never grouped further


def test_channel_shuffle_is_invertible_and_interleaves():
    x = torch.arange(12.0).view(1, 12, 1, 1)
    y = channel_shuffle(x, 3)
    assert y.flatten().tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    assert torch.equal(channel_shuffle(y, 4), x)  # g then C/g gives the identity


def test_dgcs_block_shuffles_only_after_first_pointwise():
    blk = DepthwiseSeparableBlock(64, pointwise="group_shuffle", groups=4, shuffle=True)
    names = [n for n, m in blk.named_children() if type(m).__name__ == "ChannelShuffle"]
    assert names == ["shuffle"]


@pytest.mark.parametrize("placement", ["starred", "selective"])
def test_placement_replaces_exactly_the_named_layers(placement):
    net = build_model(19, {"block": "dgc", "groups": 2, "layers": placement})
    replaced = [i + 1 for i, layer in enumerate(net.encoder.layers) if isinstance(layer, DepthwiseSeparableBlock)]
    assert replaced == PLACEMENTS[placement]


def test_custom_layer_list_and_light_decoder_shapes():
    net = build_model(19, {"block": "dgcs", "groups": 4, "layers": [3, 16]}, {"name": "light"})
    x = torch.randn(2, 3, 64, 128)
    assert net(x).shape == (2, 19, 64, 128)
    assert sum(isinstance(m, LightUpsampler) for m in net.decoder.layers) == 2
    enc = build_model(19, {"layers": "none"}, encoder_only=True)
    assert enc(x).shape == (2, 19, 8, 16)


def test_light_upsampler_conv_commutes_with_bilinear_upsampling():
    up = LightUpsampler(8, 4).eval()
    x = torch.randn(1, 8, 6, 10)
    late = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    late = torch.relu(up.bn(up.conv(late)))
    assert torch.allclose(up(x), late, atol=1e-5)


@pytest.mark.parametrize("encoder, match", [
    ({"block": "dgc", "groups": 3, "layers": "starred"}, "group count 3 does not divide 64"),
    ({"block": "dgx", "layers": "starred"}, "unknown block 'dgx'"),
    ({"block": "d", "layers": [2]}, r"\[2\] are not residual encoder layers"),
    ({"block": "d", "layers": "everywhere"}, "unknown placement"),
    ({"block": "d", "layers": "starred", "gradual": True}, "gradual grouping needs a grouped block"),
    ({"block": "d", "grups": 2}, "unknown keys"),
    ({"dropout": [0.1]}, r"dropout=\[0.1\] is invalid"),
    ({"dropout": [0.03, 1.5]}, r"must be in \[0, 1\)"),
])
def test_bad_model_config_names_the_key(encoder, match):
    with pytest.raises(ConfigError, match=match) as info:
        build_model(19, encoder)
    assert "model.encoder" in str(info.value)


def test_unknown_decoder():
    with pytest.raises(ConfigError, match="model.decoder.name"):
        build_model(19, {}, {"name": "fancy"})


def test_encoder_dropout_defaults_to_erfnet_and_can_be_overridden():
    def rates(model):
        return sorted({m.p for m in model.modules() if isinstance(m, torch.nn.Dropout2d)})

    assert rates(build_model(19, {})) == [0.03, 0.3]
    assert rates(build_model(19, {"dropout": [0.05, 0.1], "block": "dgc", "groups": 4, "layers": "starred"})) == [0.05, 0.1]
