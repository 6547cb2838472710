"""One deployment package from a deployable model: model.onnx (logits), model.labels.onnx (class map),
optionally model.int8.onnx, and export.json with every check against PyTorch on real val images.

docs/paper.md section 5. The checks are the contract of an export: fp32 logits within `MAX_ABS_DIFF`
of PyTorch's and argmax agreeing on at least `MIN_AGREEMENT` of the pixels; int8 is not held to them
(quantization changes the numbers on purpose) but its mIoU beside PyTorch's says what it costs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import onnxruntime
import torch
from torch import nn

from ..common.atomic import atomic_write_json
from .export import compare, export_onnx, quantize_int8
from .rewrites import rewrite_for_inference
from .runtimes import ort_session

MAX_ABS_DIFF, MIN_AGREEMENT = 1e-4, 0.999


def export_deployment(model: nn.Module, out_dir, val_batches: Iterable, num_classes: int,
                      calibration: list[torch.Tensor] | None = None, threads: int | None = None,
                      source: dict | None = None) -> dict:
    """Write the package to `out_dir` and return export.json's content (also written there).

    `val_batches`: (normalized image, trainId target) batches of the val split; `calibration`: train
    images for int8 (None: no int8 model). `source` says where the weights came from.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    val_batches = list(val_batches)
    hw = tuple(val_batches[0][0].shape[-2:])
    files = {"fp32": export_onnx(rewrite_for_inference(model), out / "model.onnx", "logits", hw),
             "labels": export_onnx(rewrite_for_inference(model, labels=True), out / "model.labels.onnx", "labels", hw)}
    if calibration is not None:
        files["int8"] = quantize_int8(files["fp32"], out / "model.int8.onnx", calibration)
    sessions = {k: ort_session(p, threads) for k, p in files.items()}
    checks = compare(model, sessions, val_batches, num_classes)
    fp32 = checks["fp32"]
    passed = fp32["max_abs_diff"] <= MAX_ABS_DIFF and fp32["argmax_agreement"] >= MIN_AGREEMENT \
        and checks["labels"]["argmax_agreement"] >= MIN_AGREEMENT
    record = {
        "source": source or {}, "files": {k: p.name for k, p in files.items()},
        "interface": {"input": "image: float32 [N, 3, H, W], normalized like the data module, N/H/W dynamic "
                               "(H, W multiples of 8)",
                      "model.onnx": f"logits: float32 [N, {num_classes}, H, W]",
                      "model.labels.onnx": "labels: uint8 [N, 1, H, W], argmax class (trainId)"},
        "val_images": sum(int(b[0].shape[0]) for b in val_batches), "input_size": f"{hw[1]}x{hw[0]}",
        "pytorch_miou": checks["pytorch_miou"],
        "fp32": fp32, "labels": checks["labels"],
        "thresholds": {"max_abs_diff": MAX_ABS_DIFF, "argmax_agreement": MIN_AGREEMENT}, "passed": passed,
        "onnxruntime": onnxruntime.__version__, "torch": torch.__version__,
    }
    if "int8" in files:
        record["int8"] = {**checks["int8"], "calibration_images": sum(int(c.shape[0]) for c in calibration),
                          "miou_lost": checks["pytorch_miou"] - checks["int8"]["miou"],
                          "method": "onnxruntime quantize_static, QDQ, per-channel int8 weights, uint8 "
                                    "activations, MinMax calibration"}
    atomic_write_json(out / "export.json", record)
    return record
