"""End to end through the CLIs, as a user runs them: smoke-preset training, gradual grouping with
conversion, the two-phase procedure, resume, and bad input that must stop before training."""
import json
from pathlib import Path

import pytest

from helpers import compose_cfg, run_cli


def train(overrides, data_cache, run_dir, check=True):
    args = ["gradgroup.cli.train", "preset=smoke", f"hydra.run.dir={run_dir}", *overrides]
    return run_cli(args, data_cache, run_dir.parent, check)


def record(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_smoke_training_writes_the_run_dir(data_cache, tmp_path):
    run_dir = tmp_path / "run"
    train(["experiment=table3/dg4", "seed=3"], data_cache, run_dir)
    m = record(run_dir)
    assert m["status"] == "ok" and m["experiment"] == "table3/dg4" and m["seed"] == 3
    assert 0 <= m["miou"] <= 100 and len(m["class_iou"]) == 19
    assert m["params"] == 345_535 and m["gmacs"] == pytest.approx(6.8785, abs=1e-3)
    assert m["wall_s"] > 0 and m["paper"]["params"] == 319_792
    assert (run_dir / "checkpoints" / "last.ckpt").is_file() and (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "config.yaml").is_file() and (run_dir / "csv" / "metrics.csv").is_file()


def test_gradual_run_converts_and_records_the_difference(data_cache, tmp_path):
    run_dir = tmp_path / "run"
    train(["experiment=table3/dg4", "grouping=gradual", "trainer.max_epochs=2"], data_cache, run_dir)
    m = record(run_dir)
    assert m["status"] == "ok" and m["arm"] == "gradual"
    assert m["conversion_max_abs_diff"] <= 1e-5
    assert m["params"] == 345_535  # the converted (grouped) model's, not the dense masked one's
    blob = __import__("torch").load(run_dir / "checkpoints" / "converted.pt", weights_only=True)
    from gradgroup.models import build_model

    build_model(**blob["model_kwargs"]).load_state_dict(blob["state_dict"], strict=True)
    alphas = [row["grouping/alpha"] for row in _csv_rows(run_dir) if row.get("grouping/alpha")]
    assert alphas and float(alphas[-1]) == 0.0


def _csv_rows(run_dir):
    import csv

    return list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))


def test_two_phase_procedure_and_restart_from_phase1(data_cache, tmp_path):
    run_dir = tmp_path / "run"
    train(["experiment=table4/dg2_proposed", "procedure.phase1_epochs=2", "procedure.phase2_epochs=2"],
          data_cache, run_dir)
    m = record(run_dir)
    assert m["status"] == "ok" and m["conversion_max_abs_diff"] <= 1e-5
    assert m["params"] == 305_503 and m["phase1"]["label_scale"] == "1/8"
    assert (run_dir / "phase1" / "phase1_metrics.json").is_file()
    second = tmp_path / "from_phase1"
    train(["experiment=table4/dg2_proposed", "procedure.phase2_epochs=1",
           f"procedure.encoder_checkpoint={run_dir / 'phase1' / 'checkpoints' / 'last.ckpt'}"], data_cache, second)
    assert record(second)["status"] == "ok" and "phase1" not in {p.name for p in second.iterdir()}


@pytest.mark.parametrize("overrides, message", [
    (["experiment=table3/dg4", "model.encoder.groups=3"], "group count 3 does not divide 64 channels"),
    (["experiment=table3/dg4", "model.encoder.block=dgx"], "unknown block 'dgx'"),
    (["data.root=/nonexistent/cityscapes"], "/nonexistent/cityscapes"),
    (["experiment=table3/dg4", "grouping=gradual", "grouping.callback.finetune_epochs=-1"], "finetune_epochs"),
    (["experiment=table3/erfnet", "grouping=gradual"], "no grouped 1x1 convs to anneal"),
    (["experiment=table3/dg4", "model.encoder.gradual=true"], "choose grouping=gradual"),  # set by hand: no schedule
])
def test_bad_input_stops_before_training_with_exit_2(data_cache, tmp_path, overrides, message):
    run_dir = tmp_path / "run"
    proc = train(overrides, data_cache, run_dir, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr
    m = record(run_dir)
    assert m["status"] == "failed" and message in m["error"]
    assert not (run_dir / "checkpoints").exists()  # nothing was trained


def test_unknown_experiment_is_rejected(data_cache, tmp_path):
    proc = train(["experiment=table3/nope"], data_cache, tmp_path / "run", check=False)
    assert proc.returncode != 0 and "experiment/table3/nope" in proc.stderr


def test_complexity_cli_prints_one_json_object(data_cache, tmp_path):
    out = run_cli(["gradgroup.cli.complexity", "experiment=table4/dg4_proposed", "complexity.convention=paper"],
                  data_cache, tmp_path).stdout.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    assert report["params"] == 229_727 and report["convention"] == "paper"
    assert report["input_hw"] == [512, 1024] and isinstance(report["gmacs"], float)
    bad = run_cli(["gradgroup.cli.complexity", "experiment=table3/dg4", "model.encoder.groups=5"], data_cache,
                  tmp_path, check=False)
    assert bad.returncode == 2 and "model.encoder.groups" in bad.stderr


def test_every_config_composes():
    from helpers import experiment_names

    for name in experiment_names():
        cfg = compose_cfg([f"experiment={name}"])
        # The name is the experiment choice itself; demo/ rows are named after the paper row they train.
        assert cfg.name == name or (name.startswith("demo/") and cfg.name.startswith("table"))
    for preset in ("smoke", "quick", "paper"):
        assert compose_cfg([f"preset={preset}"]).preset_name == preset


def test_threads_setting_pins_torch_threads_and_rejects_bad_values():
    import torch

    from gradgroup.errors import ConfigError
    from gradgroup.training.run import set_threads

    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1
        set_threads(None)  # null keeps whatever is set
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ConfigError, match="threads=0 is invalid"):
        set_threads(0)


@pytest.mark.parametrize("override, key", [
    ("seed=abc", "seed"), ("data.batchsize=3", "data.batchsize"), ("complexity.convention=fast", "convention"),
    ("model.decoder.name=heavy", "model.decoder.name"), ("grouping=gradual grouping.callback.shape=zigzag", "shape"),
])
def test_the_config_schema_rejects_bad_values_naming_the_key(data_cache, tmp_path, override, key):
    """Types, unknown keys and closed choices are checked by Hydra's structured configs before any run."""
    proc = train(["experiment=table3/dg4", *override.split()], data_cache, tmp_path / "run", check=False)
    assert proc.returncode != 0 and key in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "run" / "metrics.json").exists()  # stopped before the job started


def test_wandb_offline_run_writes_its_run_and_media(data_cache, tmp_path):
    """The default logger setting (wandb offline) through the CLI: no account, a local run dir with media."""
    run_dir = tmp_path / "run"
    proc = run_cli(["gradgroup.cli.train", "preset=smoke", f"hydra.run.dir={run_dir}", "experiment=table3/dg4",
                    "logger.wandb.mode=offline"], data_cache, tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert record(run_dir)["status"] == "ok"
    runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


@pytest.mark.parametrize("overrides", [
    ["hydra/launcher=joblib"], ["hydra/launcher=submitit_local"], ["hydra/launcher=slurm"],
    ["trainer=ddp"], ["experiment=table4/dg4_proposed", "preset=paper", "grouping.callback.shape=cosine"],
])
def test_command_line_groups_still_compose(overrides):
    """The config groups users combine on the command line compose with the structured schema."""
    cfg = compose_cfg(overrides)
    assert cfg.trainer._target_ == "pytorch_lightning.Trainer" and cfg.model._target_.endswith("ModelSpec")
