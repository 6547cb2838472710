"""Training on accelerators, checked on the CPU where the path exists (issue 25, docs/gpu.md):
trainer.precision=bf16-mixed (autocast runs on CPUs too), compute.channels_last, compute.compile; the
settings are typed, and gradual grouping's masks and its exact conversion survive all of them."""
import csv
import json

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from gradgroup.config.checks import check_run_settings
from gradgroup.errors import ConfigError
from gradgroup.grouping.convert import to_grouped_conv
from gradgroup.models import build_model
from gradgroup.models.gradual_conv import GradualPointwiseConv
from gradgroup.training.module import SegmentationModule
from helpers import compose_cfg, run_cli

GRADUAL_DG4 = ["preset=smoke", "experiment=table3/dg4", "grouping=gradual", "trainer.max_epochs=2"]
# The smallest job that still anneals alpha to 0 and converts: one batch per epoch at 32x64. bf16 autocast on a
# CPU without bf16 instructions (no avx512_bf16/amx_bf16, e.g. AVX2 hosts) runs non-native kernels, a training
# step ~3x fp32's (docs/gpu.md, make bench-precision); on a shared host the smoke preset's job hit the 10 minutes.
TINY = ["trainer.limit_train_batches=1", "data.train_hw=[32,64]", "data.input_hw=[32,64]", "data.label_hw=[32,64]"]


def _train(overrides, data_cache, run_dir):
    run_cli(["gradgroup.cli.train", f"hydra.run.dir={run_dir}", *GRADUAL_DG4, *overrides], data_cache, run_dir.parent)
    record = json.loads((run_dir / "metrics.json").read_text())
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    return record, [float(r["grouping/alpha"]) for r in rows if r.get("grouping/alpha")]


@pytest.mark.parametrize("overrides", [["trainer.precision=bf16-mixed"], ["compute.channels_last=true"]],
                         ids=["bf16-mixed", "channels_last"])
def test_a_gradual_dg4_job_trains_under_bf16_mixed_or_channels_last_and_converts_exactly(data_cache, tmp_path,
                                                                                         overrides):
    """Each setting alone (both together: scripts/gpu_check.py on a GPU, where bf16 has fast kernels)."""
    record, alphas = _train([*TINY, *overrides], data_cache, tmp_path / "run")
    assert record["status"] == "ok" and record["arm"] == "gradual"
    assert record["conversion_max_abs_diff"] <= 1e-5  # checked in fp32 after training: mixed keeps fp32 weights
    assert alphas and alphas[-1] == 0.0 and alphas[0] > 0.0  # annealed to the grouped conv
    saved = OmegaConf.load(tmp_path / "run" / "config.yaml")
    assert saved.trainer.precision == ("bf16-mixed" if "trainer.precision=bf16-mixed" in overrides else "32-true")
    assert saved.compute.channels_last == ("compute.channels_last=true" in overrides)
    blob = torch.load(tmp_path / "run" / "checkpoints" / "converted.pt", weights_only=True)
    assert all(t.dtype == torch.float32 for t in blob["state_dict"].values() if t.is_floating_point())
    assert all(t.is_contiguous() for t in blob["state_dict"].values())  # NCHW again after the fit
    torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)  # what gradgroup-eval reads


@pytest.mark.slow
def test_a_gradual_dg4_job_trains_with_a_compiled_forward_and_converts_exactly(data_cache, tmp_path):
    """torch.compile on the CPU needs a C++ compiler and about a minute per job here."""
    record, alphas = _train(["compute.compile=true"], data_cache, tmp_path / "run")
    assert record["status"] == "ok" and record["conversion_max_abs_diff"] <= 1e-5 and alphas[-1] == 0.0


def test_gradual_masks_stay_exact_under_bf16_autocast():
    """Autocast casts the conv's inputs, not the mask arithmetic: the effective weight stays fp32 with the
    cross-group entries exactly alpha * W, and at alpha = 0 the layer is the converted grouped conv."""
    torch.manual_seed(0)
    conv, x = GradualPointwiseConv(16, 16, 4), torch.randn(2, 16, 8, 8)
    conv.set_alpha(0.25)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        w = conv.effective_weight()
        assert w.dtype == torch.float32
        assert torch.equal(w * (1 - conv.mask), conv.weight * 0.25 * (1 - conv.mask))
        conv.set_alpha(0.0)
        out, grouped = conv(x), to_grouped_conv(conv)(x)
    assert out.dtype == torch.bfloat16 and torch.equal(out, grouped)
    assert torch.equal(out.float(), F.conv2d(x.bfloat16(), conv.grouped_weight().bfloat16(), groups=4).float())


def test_channels_last_holds_only_while_fitting_and_compile_is_prepared_at_fit_start():
    model = build_model(19, {"block": "dgc", "groups": 4, "gradual": True}, {"name": "light"})
    module = SegmentationModule(model, [str(i) for i in range(19)], channels_last=True, compile=True,
                                compile_mode="reduce-overhead")
    conv3x3 = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert module._compiled is None and module.compile_mode == "reduce-overhead"
    module.on_fit_start()
    assert conv3x3.weight.is_contiguous(memory_format=torch.channels_last) and not conv3x3.weight.is_contiguous()
    assert module._compiled is not None and "_compiled" not in dict(module.named_children())
    assert not any("_orig_mod" in k for k in module.state_dict())  # the compiled wrapper adds no weights
    module.on_fit_end()
    assert conv3x3.weight.is_contiguous()
    assert SegmentationModule(model, ["a", "b"]).compile_mode is None  # off by default


@pytest.mark.parametrize("override, key", [("compute.compile=maybe", "compute.compile"),
                                           ("compute.channels_last=sometimes", "compute.channels_last"),
                                           ("compute.compile_mode=fastest", "compile_mode")])
def test_the_compute_settings_are_typed(override, key):
    with pytest.raises(Exception, match=key.replace(".", r"\.")):
        compose_cfg(["experiment=table3/dg4", override])


@pytest.mark.parametrize("precision", ["bf16-true", "16-true", "64-true", "fp8"])
def test_precisions_outside_mixed_and_fp32_are_refused_naming_the_key(precision):
    with pytest.raises(ConfigError, match=r"trainer\.precision='.*' is not supported.*bf16-mixed"):
        check_run_settings(compose_cfg(["experiment=table3/dg4", f"trainer.precision={precision}"]))


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed", "16-mixed"])
def test_the_supported_precisions_pass(precision):
    cfg = compose_cfg(["experiment=table3/dg4", f"trainer.precision={precision}", "compute.compile_mode=max-autotune"])
    check_run_settings(cfg)
    assert str(cfg.compute.compile_mode) == "max-autotune"
