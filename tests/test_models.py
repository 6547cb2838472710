"""ERFNet family: exact reference size, block structure, placements, decoders, bad configs, the layer and
block registries, and ModelSpec."""
from enum import Enum

import pytest
import torch
from torch import nn

from gradgroup.errors import ConfigError
from gradgroup.measure.complexity import count_params
from gradgroup.models import (GradualPointwiseConv, ModelSpec, block_kinds, build_model, channel_shuffle, gradual_convs,
                              make_block, make_pointwise, pointwise_kinds, register_block)
from gradgroup.models import factory
from gradgroup.models.blocks import DepthwiseSeparableBlock, LightUpsampler, NonBottleneck1D
from gradgroup.models.erfnet import PLACEMENTS


def test_erfnet_matches_reference_parameter_count():
    assert count_params(build_model(19)) == 2_064_191


@pytest.mark.parametrize("c", [16, 64, 128])
def test_d_block_params_follow_paper_formula(c):
    # docs/paper.md section 1: params(D, C) = 2C^2 + 26C (no conv bias, four BNs)
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


# ---------------------------------------------------------------------------- registries
@pytest.fixture
def registry(monkeypatch):
    """The block registry, restored after the test (registering a kind is process-wide)."""
    monkeypatch.setattr(factory, "_BLOCKS", dict(factory._BLOCKS))
    return factory


class ToyBlock(nn.Module):
    """A residual 3x3 conv: any module keeping [N, C, H, W] can be a block kind."""

    def __init__(self, channels, dilation):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)

    def forward(self, x):
        return torch.relu(x + self.conv(x))


def test_a_new_block_kind_is_added_through_the_factory_alone(registry):
    seen = []

    @register_block("toy")
    def toy(channels, dilation, dropout, groups, gradual, where):
        seen.append((channels, dilation, dropout, groups, gradual, where))
        return ToyBlock(channels, dilation)

    assert block_kinds()[-1] == "toy"
    net = build_model(19, {"block": "toy", "layers": [6, 13], "groups": 2})
    assert [type(net.encoder.layers[i - 1]) for i in (5, 6, 13)] == [NonBottleneck1D, ToyBlock, ToyBlock]
    assert seen == [(64, 1, 0.03, 2, False, "encoder layer 6"), (128, 2, 0.3, 2, False, "encoder layer 13")]
    assert net(torch.randn(1, 3, 32, 64)).shape == (1, 19, 32, 64)
    spec = ModelSpec(encoder={"block": "toy", "layers": "starred", "gradual": True})
    assert not spec.has_gradual  # registered without gradual=True: it cannot anneal ...
    with pytest.raises(ConfigError, match=r"gradual grouping needs a grouped block \(dgc or dgcs\), not 'toy'"):
        spec.build()  # ... so asking it to is a config error
    with pytest.raises(ValueError, match="already registered"):
        register_block("toy")(toy)


def test_unknown_kinds_list_the_registered_ones(registry):
    register_block("toy")(lambda c, d, p, g, gradual, where: ToyBlock(c, d))
    with pytest.raises(ConfigError, match=r"encoder layer 3: unknown block 'dgx'; expected one of "
                                          r"\['d', 'dgc', 'dgcs', 'nonbt1d', 'toy'\] \(model.encoder.block\)"):
        build_model(19, {"block": "dgx", "layers": "starred"})
    with pytest.raises(ConfigError, match=r"unknown pointwise conv kind 'sparse'; expected one of "
                                          r"\('dense', 'group', 'group_shuffle', 'gradual'\)"):
        make_pointwise("sparse", 8, 8, 2)


def test_registered_pointwise_kinds_build_the_papers_convs():
    assert pointwise_kinds() == ("dense", "group", "group_shuffle", "gradual")
    dense, grouped, gradual = (make_pointwise(k, 64, 64, 4) for k in ("dense", "group", "gradual"))
    assert (dense.groups, grouped.groups, dense.bias, grouped.bias) == (1, 4, None, None)
    assert isinstance(gradual, GradualPointwiseConv) and gradual.groups == 4
    blk = make_block("dgcs", 64, 2, 0.1, groups=4, gradual=True, where="here")
    assert [n for n, _ in gradual_convs(blk)] == ["pw1", "pw2"] and blk.shuffle.groups == 4


class BlockKind(str, Enum):  # what a structured config may hand over: members equal their names
    dgcs = "dgcs"


class Placement(str, Enum):
    selective = "selective"


class DecoderName(str, Enum):
    light = "light"
    fancy = "fancy"


def test_str_enum_values_work_like_their_names():
    torch.manual_seed(0)
    plain = build_model(19, {"block": "dgcs", "groups": 4, "layers": "selective"}, {"name": "light"})
    torch.manual_seed(0)
    enums = build_model(19, {"block": BlockKind.dgcs, "groups": 4, "layers": Placement.selective},
                        {"name": DecoderName.light})
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), enums.state_dict().values()))
    with pytest.raises(ConfigError, match=r"unknown decoder 'fancy'; expected one of"):
        build_model(19, {}, {"name": DecoderName.fancy})
    spec = ModelSpec(encoder={"block": BlockKind.dgcs, "layers": Placement.selective}, decoder={"name": DecoderName.light})
    assert spec.kwargs() == {"num_classes": 19, "encoder": {"block": "dgcs", "layers": "selective"},
                             "decoder": {"name": "light"}}
    assert type(spec.encoder["block"]) is str  # saved beside weights without the config's enum classes


# ---------------------------------------------------------------------------- ModelSpec
def test_model_spec_builds_exactly_what_build_model_builds():
    kwargs = {"num_classes": 19, "encoder": {"block": "dgc", "groups": 4, "layers": "starred", "gradual": True,
                                             "dropout": [0.03, 0.1]}, "decoder": {"name": "light"}}
    spec = ModelSpec(**kwargs)
    for encoder_only in (False, True):
        torch.manual_seed(0)
        ref = build_model(**kwargs, encoder_only=encoder_only)
        after_ref = torch.rand(1)
        torch.manual_seed(0)
        built = spec.build(encoder_only=encoder_only)
        assert torch.equal(torch.rand(1), after_ref)  # drew exactly as many random numbers
        assert list(built.state_dict()) == list(ref.state_dict())
        assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), ref.state_dict().values()))
    assert spec.kwargs() == kwargs and ModelSpec(**spec.kwargs()) == spec
    assert spec.has_gradual and len(gradual_convs(spec.build())) == 26


@pytest.mark.parametrize("encoder, decoder, digest, next_rand", [
    ({"block": "dgcs", "groups": 4, "layers": "starred", "gradual": True}, {"name": "light"}, "b8d58a330a2e90d2", 0.3465888),
    ({"block": "d", "layers": "selective"}, {"name": "erfnet"}, "4ad8a7fb122fa5af", 0.9083604),
    ({}, {}, "c8e72fa12088269b", 0.8782896),
])
def test_initial_weights_are_pinned(encoder, decoder, digest, next_rand):
    """Seeded initial weights, and the random state after building, as the code before the factory gave
    them: every experiment's starting point is pinned, so module construction order must not change."""
    import hashlib

    torch.manual_seed(0)
    model = ModelSpec(encoder=encoder, decoder=decoder).build()
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.contiguous().numpy().tobytes())
    assert h.hexdigest()[:16] == digest and torch.rand(1).item() == pytest.approx(next_rand, abs=1e-6)


def test_deployable_recipe_is_the_converted_architecture():
    spec = ModelSpec(encoder={"block": "dgc", "groups": 2, "layers": [3, 9], "gradual": True})
    deployed = spec.deployable()
    assert deployed.encoder == {**spec.encoder, "gradual": False} and spec.encoder["gradual"] is True
    assert not deployed.has_gradual and not gradual_convs(deployed.build())
    assert not ModelSpec(encoder={"block": "dgc", "layers": "none", "gradual": True}).has_gradual
    assert not ModelSpec(encoder={"block": "dgc", "layers": "starred"}).has_gradual
    with pytest.raises(ConfigError, match="model.encoder: expected a mapping"):
        ModelSpec(encoder=["dgc"])


def test_model_config_node_instantiates_a_model_spec():
    from hydra.utils import instantiate

    from helpers import compose_cfg

    spec = instantiate(compose_cfg(["experiment=table4/dg4_proposed"]).model, _convert_="all")
    assert isinstance(spec, ModelSpec) and spec.has_gradual
    assert spec.encoder["block"] == "dgc" and spec.decoder == {"name": "light"}
    assert count_params(spec.deployable().build()) == 229_727


# ---------------------------------------------------------------------------- layering


def test_any_import_of_the_models_package_registers_the_block_kinds():
    """docs/architecture.md, "A new block kind": a block module listed in models/__init__.py registers its
    kinds whichever models module is imported first (here the factory alone, as measure/counts.py does)."""
    import subprocess
    import sys

    code = "from gradgroup.models.factory import block_kinds; print(','.join(block_kinds()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().split(",")[:4] == ["nonbt1d", "d", "dgc", "dgcs"]
