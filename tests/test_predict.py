"""gradgroup-predict (issue 9): masks of each input's own size with only valid Cityscapes ids, from files,
folders and globs, on PyTorch and on an exported ONNX model; bad input exits 2 naming it."""
import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from gradgroup.models import ModelSpec

EVALUATED = {lab.id for lab in id2label.values() if not lab.ignoreInEval and lab.id >= 0}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A converted.pt outside any run dir (the default config's input size, 64x128, applies) and its ONNX export."""
    d = tmp_path_factory.mktemp("predict")
    torch.manual_seed(0)
    spec = ModelSpec(encoder={"block": "dgc", "groups": 4, "layers": "starred"})
    model = spec.build().eval()
    torch.save({"model_kwargs": spec.kwargs(), "state_dict": model.state_dict()}, d / "converted.pt")
    torch.onnx.export(model, (torch.randn(1, 3, 64, 128),), str(d / "model.onnx"), input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, dynamo=False)
    return d


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (75, 100, 3), dtype=np.uint8)).save(tmp_path / "in" / "a_leftImg8bit.png")
    Image.fromarray(rng.integers(0, 255, (90, 50, 3), dtype=np.uint8)).save(tmp_path / "in" / "sub" / "b.jpg")
    Image.fromarray(rng.integers(0, 255, (33, 47), dtype=np.uint8)).save(tmp_path / "c.png")  # grayscale
    return tmp_path


def predict(capsys, *args):
    from gradgroup.cli.predict import main

    capsys.readouterr()
    try:
        main([str(a) for a in args] + ["--no-progress", "--workers", "0", "--batch-size", "2"])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr()


@pytest.mark.parametrize("source", ["converted.pt", "model.onnx"])
def test_predict_writes_masks_of_the_input_size_with_valid_ids(weights, inputs, capsys, source):
    out = inputs / "out"
    code, io = predict(capsys, weights / source, inputs / "in", str(inputs / "*.png"), "--out", out)
    assert code == 0, io.err
    sizes = {"a": (100, 75), "b": (50, 90), "c": (47, 33)}
    for stem, size in sizes.items():
        lab = Image.open(out / "labelIds" / f"{stem}_pred_labelIds.png")  # a_leftImg8bit -> a (benchmark naming)
        assert lab.mode == "L" and lab.size == size
        assert set(np.unique(np.asarray(lab)).tolist()) <= EVALUATED
        for fmt in ("color", "overlay"):
            img = Image.open(out / fmt / f"{stem}_pred_{fmt}.png")
            assert img.mode == "RGB" and img.size == size
    assert "3 images -> 9 files" in io.out
    if source == "model.onnx":  # the same network on onnxruntime labels (nearly) every pixel alike
        code, _ = predict(capsys, weights / "converted.pt", inputs / "in" / "a_leftImg8bit.png", "--out",
                          inputs / "torch", "--format", "labelids")
        a, b = (np.asarray(Image.open(d / "labelIds" / "a_pred_labelIds.png")) for d in (out, inputs / "torch"))
        assert (a == b).mean() > 0.999


@pytest.mark.parametrize("args, message", [
    (["converted.pt", "nothing/*.png"], "nothing/*.png"),
    (["converted.pt", "IN", "--format", "color,jpeg"], "--format"),
    (["missing.onnx", "IN"], "missing.onnx"),
])
def test_bad_predict_input_exits_2(weights, inputs, capsys, args, message):
    args = [weights / a if a.endswith((".pt", ".onnx")) else (inputs / "in" if a == "IN" else a) for a in args]
    code, io = predict(capsys, *args, "--out", inputs / "out")
    assert code == 2 and message in io.err and io.err.startswith("gradgroup-predict: error:")
