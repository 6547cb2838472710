"""Deployment (gradgroup.deploy, gradgroup-export): every rewrite is exact, ONNX round-trips, int8 runs,
and user errors are clear."""
import json

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from gradgroup.deploy.rewrites import SubpixelOutput, fold_bn, rewrite_for_inference
from gradgroup.models import ModelSpec
from gradgroup.models.factory import block_kinds
from gradgroup.models.gradual_conv import gradual_convs
from helpers import compose_cfg


def _randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Trained-looking BN statistics (fresh ones are the identity, which would hide a wrong fold)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) * 3 - 1.5)  # negative scales too
            m.bias.data.copy_(torch.rand(n, generator=g) * 2 - 1)
    return model.eval()


@pytest.mark.parametrize("decoder", ["erfnet", "light", "light_all_d"])
@pytest.mark.parametrize("block", [k for k in block_kinds() if k in ("nonbt1d", "d", "dgc", "dgcs")])
def test_rewrites_are_exact_for_every_block_kind_and_decoder(block, decoder):
    torch.manual_seed(0)
    enc = {"block": block, "layers": "starred", "groups": 4}
    model = _randomize_bn(ModelSpec(encoder=enc, decoder={"name": decoder}).build())
    x = torch.randn(2, 3, 32, 64)
    with torch.no_grad():
        ref = model(x)
        fast = rewrite_for_inference(model)
        out = fast(x)
        labels = rewrite_for_inference(model, labels=True)(x)
        nhwc = rewrite_for_inference(model, channels_last=True)(x.contiguous(memory_format=torch.channels_last))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())  # every BN folded
    assert (out - ref).abs().max() < 1e-5 * max(1.0, ref.abs().max())
    assert (nhwc - ref).abs().max() < 1e-5 * max(1.0, ref.abs().max())
    assert labels.dtype == torch.uint8 and labels.shape == (2, 1, 32, 64)
    assert (labels[:, 0].long() == ref.argmax(1)).float().mean() > 0.999  # equal up to float ties
    assert model.training is False and any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("groups", [1, 2])
def test_fold_bn_into_a_grouped_transposed_conv(groups):
    conv = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=groups, bias=False)
    bn = _randomize_bn(nn.Sequential(nn.BatchNorm2d(6)))[0]
    x = torch.randn(1, 4, 5, 7)
    with torch.no_grad():
        assert torch.allclose(fold_bn(conv, bn)(x), bn(conv(x)), atol=1e-5)


def test_subpixel_output_equals_the_strided_transposed_conv():
    deconv = nn.ConvTranspose2d(16, 19, 2, stride=2)
    x = torch.randn(2, 16, 6, 10)
    with torch.no_grad():
        assert torch.allclose(SubpixelOutput(deconv)(x), deconv(x), atol=1e-5)
        assert torch.equal(SubpixelOutput(deconv, labels=True)(x)[:, 0].long(), deconv(x).argmax(1))
    with pytest.raises(ValueError, match="stride-k"):
        SubpixelOutput(nn.ConvTranspose2d(16, 19, 3, stride=2, padding=1, output_padding=1))


def test_a_converted_gradual_model_round_trips_through_onnxruntime(tmp_path):
    from gradgroup.deploy.export import export_onnx
    from gradgroup.deploy.runtimes import ort_session
    from gradgroup.grouping.convert import convert_to_grouped

    torch.manual_seed(0)
    gradual = ModelSpec(encoder={"block": "dgcs", "groups": 4, "layers": "starred", "gradual": True},
                        decoder={"name": "light"}).build()
    for _, conv in gradual_convs(gradual):
        conv.set_alpha(0.0)
    model = _randomize_bn(convert_to_grouped(gradual))
    logits = export_onnx(rewrite_for_inference(model), tmp_path / "m.onnx", "logits")
    labels = export_onnx(rewrite_for_inference(model, labels=True), tmp_path / "l.onnx", "labels")
    sess, lab = ort_session(logits, 1), ort_session(labels, 1)
    assert [i.name for i in sess.get_inputs()] == ["image"] and [o.name for o in sess.get_outputs()] == ["logits"]
    x = torch.randn(3, 3, 48, 80)  # another batch and size than traced: both are dynamic
    with torch.no_grad():
        ref = model(x)
    out = torch.from_numpy(sess.run(None, {"image": x.numpy()})[0])
    assert out.shape == (3, 19, 48, 80) and (out - ref).abs().max() < 1e-4
    assert (torch.from_numpy(lab.run(None, {"image": x.numpy()})[0])[:, 0].long() == ref.argmax(1)).float().mean() > 0.999


def test_int8_export_of_a_smoke_model_is_checked_and_recorded(tmp_path):
    from gradgroup.deploy.package import export_deployment

    torch.manual_seed(0)
    model = _randomize_bn(ModelSpec(encoder={"block": "dgc", "groups": 2, "layers": "starred"},
                                    decoder={"name": "light"}).build())
    val = [(torch.randn(2, 3, 32, 64), torch.randint(0, 19, (2, 32, 64)))]
    rec = export_deployment(model, tmp_path, val, 19, calibration=[torch.randn(2, 3, 32, 64)], threads=1)
    saved = json.loads((tmp_path / "export.json").read_text())
    assert saved == json.loads(json.dumps(rec)) and rec["passed"]
    assert rec["fp32"]["max_abs_diff"] <= 1e-4 and rec["fp32"]["argmax_agreement"] >= 0.999
    assert {p.name for p in tmp_path.glob("*.onnx")} == {"model.onnx", "model.labels.onnx", "model.int8.onnx"}
    assert 0 <= rec["int8"]["miou"] <= 100 and rec["int8"]["calibration_images"] == 2
    assert rec["int8"]["miou_lost"] == pytest.approx(rec["pytorch_miou"] - rec["int8"]["miou"])


def test_export_cli_on_the_smoke_preset(tmp_path, data_cache, monkeypatch, capsys):
    from gradgroup.cli.export import main

    monkeypatch.setenv("GRADGROUP_DATA_CACHE", str(data_cache))
    code = main(["experiment=table3/dg4", "preset=smoke", "data.num_workers=0", "--val", "2", "--threads", "1",
                 "--out", str(tmp_path)])
    rec = json.loads((tmp_path / "export.json").read_text())
    assert code == 0 and rec["passed"] and rec["val_images"] == 2 and rec["source"]["weights"] == "random"
    assert json.loads(capsys.readouterr().out)["fp32"]["max_abs_diff"] <= 1e-4
    assert not (tmp_path / "model.int8.onnx").exists()  # int8 only when asked


def _run_dir(tmp_path, experiment="table3/dg4"):
    cfg = compose_cfg([f"experiment={experiment}", "preset=smoke"])
    tmp_path.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, tmp_path / "config.yaml")
    return tmp_path


@pytest.mark.parametrize("setup, message", [
    (lambda p: _run_dir(p), "has no checkpoint to export: expected checkpoints/converted.pt or checkpoints/last.ckpt"),
    (lambda p: _run_dir(p, "demo/dg4_gradual"), "expected checkpoints/converted.pt (a gradual run writes it"),
    (lambda p: p, "is not a run dir (no config.yaml in it)"),
])
def test_export_cli_errors_name_the_missing_checkpoint(setup, message, tmp_path, capsys):
    from gradgroup.cli.export import main

    run_dir = setup(tmp_path / "run")
    with pytest.raises(SystemExit) as exc:
        main([str(run_dir)])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_export_loads_a_run_dirs_last_checkpoint(tmp_path):
    from gradgroup.inference.predictor import deployable_from_run

    run_dir = _run_dir(tmp_path / "run")
    spec = ModelSpec(encoder={"block": "dgc", "groups": 4, "layers": "starred"})
    model = spec.build()
    (run_dir / "checkpoints").mkdir()
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}},
               run_dir / "checkpoints" / "last.ckpt")
    loaded, source = deployable_from_run(run_dir, spec)
    assert source.name == "last.ckpt"
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_an_exported_architecture_is_reused_and_a_different_one_is_not(tmp_path):
    """gradgroup-bench exports each architecture once per ONNX dir (deploy/runtimes.exported_onnx)."""
    import os

    from hydra.utils import instantiate

    from gradgroup.deploy.runtimes import exported_onnx
    from helpers import compose_cfg

    def net(experiment):  # fresh random weights at every call
        return instantiate(compose_cfg([f"experiment={experiment}"]).model).deployable().build().eval()

    a = exported_onnx(net("table3/dg4"), True, tmp_path, "dg4")
    stamp = a.stat().st_mtime_ns
    b = exported_onnx(net("table3/dg4"), True, tmp_path, "dg4_gradual")  # same architecture, another name
    c = exported_onnx(net("table3/dg2"), True, tmp_path, "dg4")
    assert a == b and a.stat().st_mtime_ns == stamp
    assert c != a and c.exists()
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]
