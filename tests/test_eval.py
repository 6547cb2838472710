"""gradgroup-eval (issue 9): a smoke run's weights scored again without training reproduce the run's own test
mIoU at the same label resolution, an ONNX export of them scores the same, and bad sources exit 2."""
import json

import pytest
import torch



@pytest.fixture(scope="module")
def smoke_run(gradual_smoke_run):
    """A gradual DG4* smoke run: its test used converted.pt, so eval's run-dir path loads the converted model."""
    return gradual_smoke_run


@pytest.fixture(scope="module")
def onnx_model(smoke_run):
    """The run's converted model exported as gradgroup-export's contract says: "image" -> "logits", dynamic batch."""
    from gradgroup.inference.predictor import model_from_converted

    model, _ = model_from_converted(smoke_run / "checkpoints" / "converted.pt")
    path = smoke_run / "export" / "model.onnx"
    path.parent.mkdir(exist_ok=True)
    torch.onnx.export(model.eval(), (torch.randn(1, 3, 64, 128),), str(path), input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, dynamo=False)
    return path


class Proc:
    def __init__(self, code, out):
        self.returncode, self.stdout, self.stderr = code, out.out, out.err


def evaluate(source, out, capsys, *extra, check=True):
    """gradgroup-eval in-process (the CLI's own main; a subprocess would add seconds of imports per call)."""
    from gradgroup.cli.eval import main

    capsys.readouterr()
    try:
        main([str(source), "--out", str(out), "--no-progress", *extra])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    proc = Proc(code, capsys.readouterr())
    assert code == 0 or not check, proc.stderr
    return proc, (json.loads((out / "eval.json").read_text()) if check else None)


def test_eval_of_a_run_reproduces_its_test_miou_at_the_same_label_resolution(smoke_run, capsys, tmp_path):
    run = json.loads((smoke_run / "metrics.json").read_text())
    assert run["label_resolution"] == "label_hw" and run["label_hw"] == [64, 128]
    proc, ev = evaluate(smoke_run, tmp_path / "same", capsys, "data.label_resolution=label_hw")
    assert ev["label_resolution"] == "label_hw" and ev["label_hw"] == run["label_hw"]
    assert ev["miou"] == pytest.approx(run["miou"], abs=1e-4)
    assert ev["class_iou"] == run["class_iou"]
    assert ev["weights"].endswith("converted.pt") and ev["experiment"] == "table3/dg4" and ev["params"] == run["params"]
    assert 0 <= ev["pixel_accuracy"] <= 100 and ev["images"] == 4
    assert sum(map(sum, ev["confusion_matrix"])) == 4 * 64 * 128 - _ignored(ev)
    assert (tmp_path / "same" / "confusion.png").stat().st_size > 1000
    assert "label resolution label_hw, 128x64" in proc.stdout


def _ignored(ev):
    return 4 * 64 * 128 - sum(map(sum, ev["confusion_matrix"]))  # ignore pixels are not in the matrix


def test_eval_defaults_to_full_resolution_and_a_lightning_checkpoint_loads(smoke_run, capsys, tmp_path):
    _, ev = evaluate(smoke_run / "checkpoints" / "last.ckpt", tmp_path / "ckpt", capsys)
    # the smoke set is stored at 64x128, so "full" is the run's own size here; the masked gradual model at
    # alpha = 0 computes what its converted model does
    assert ev["label_resolution"] == "full" and ev["label_hw"] == [64, 128] and ev["source_kind"] == "ckpt"
    assert ev["miou"] == pytest.approx(json.loads((smoke_run / "metrics.json").read_text())["miou"], abs=1e-4)


def test_eval_of_an_onnx_export_matches_eval_of_its_checkpoint(smoke_run, onnx_model, capsys, tmp_path):
    _, torch_ev = evaluate(smoke_run / "checkpoints" / "converted.pt", tmp_path / "pt", capsys)
    _, onnx_ev = evaluate(onnx_model, tmp_path / "onnx", capsys)
    assert onnx_ev["backend"] == "onnxruntime" and onnx_ev["experiment"] == "table3/dg4"
    assert onnx_ev["miou"] == pytest.approx(torch_ev["miou"], abs=0.05)
    diff = sum(abs(a - b) for ra, rb in zip(onnx_ev["confusion_matrix"], torch_ev["confusion_matrix"])
               for a, b in zip(ra, rb))
    assert diff <= 0.001 * 4 * 64 * 128  # float differences may flip an argmax tie, nothing more


@pytest.mark.parametrize("source, extra, message", [
    ("nowhere.ckpt", [], "does not exist"),
    ("config.yaml", [], "suffix '.yaml'"),
    (".", ["data.label_resolution=quarter"], "label_resolution"),
    (".", ["preset=paper"], "override single keys"),
])
def test_bad_eval_input_exits_2_naming_it(smoke_run, capsys, tmp_path, source, extra, message):
    proc, _ = evaluate(smoke_run / source, tmp_path / "bad", capsys, *extra, check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.startswith("gradgroup-eval: error:")
