"""ONNX export of a deployable model, its check against PyTorch, and int8 static quantization.

docs/paper.md section 5 (runtime). The exported graph is the exact inference form of
`deploy.rewrites` (BN folded, sub-pixel output). Its interface is fixed for every consumer: input
"image", float32 NCHW, normalized as the data module normalizes, dynamic batch; output "logits"
[N, classes, H, W] (or "labels" [N, 1, H, W] uint8 for the labels model, a second file). int8 is ONNX
Runtime's static quantization (QDQ format, per-channel int8 weights, uint8 activations calibrated with
MinMax on real images; onnxruntime.ai docs, "Quantize ONNX models"), so its accuracy cost is measured on
the same images as the fp32 model's.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassConfusionMatrix

from ..common.scores import IGNORE_INDEX, class_ious, mean_iou

try:  # the [deploy] extra (its callers check it first: errors.require_extra, runtimes.check_backend)
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
except ImportError:
    CalibrationMethod = QuantFormat = QuantType = quantize_static = quant_pre_process = None

INPUT = "image"
OPSET = 18


@torch.no_grad()
def export_onnx(module: nn.Module, path, output: str = "logits", example_hw: Sequence[int] = (64, 128)) -> Path:
    """Write `module` (an eval-mode inference form) to `path` as one self-contained ONNX file.

    Batch, height and width are dynamic (height and width multiples of 8, as three stride-2 downsamplers
    need); `example_hw` (H, W) is the size traced. The torch.export-based exporter (PyTorch's default
    since 2.9) is used.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.randn(2, 3, *example_hw)
    dim = torch.export.Dim
    dynamic = {0: dim("batch", min=1, max=1024), 2: 8 * dim("h8", min=1, max=1024), 3: 8 * dim("w8", min=1, max=1024)}
    with warnings.catch_warnings():  # the exporter warns about torchvision ops and tree specs it does not need
        warnings.simplefilter("ignore")
        loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.onnx._internal.exporter._registration")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            torch.onnx.export(module.eval(), (x,), str(path), input_names=[INPUT], output_names=[output],
                              dynamic_shapes=(dynamic,), dynamo=True, external_data=False,
                              opset_version=OPSET, verbose=False, report=False)
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)
    return path


class _Calibration:
    """ONNX Runtime's CalibrationDataReader over a list of image batches (one image per call)."""

    def __init__(self, images: Iterable[torch.Tensor]):
        self._it = iter([img[i:i + 1].numpy() for img in images for i in range(img.shape[0])])

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {INPUT: x}


def quantize_int8(fp32_path, int8_path, calibration: Iterable[torch.Tensor]) -> Path:
    """Static int8 quantization of an fp32 ONNX model (QDQ, per-channel weights), calibrated on images."""
    int8_path = Path(int8_path)
    prepped = int8_path.with_suffix(".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepped), skip_symbolic_shape=True)
    try:
        quantize_static(str(prepped), str(int8_path), _Calibration(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    finally:
        prepped.unlink(missing_ok=True)
    return int8_path


def _resize_to(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Logits at the target's size, as the training module scores them (bilinear)."""
    if logits.shape[-2:] != target.shape[-2:]:
        logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    return logits


@torch.no_grad()
def compare(model: nn.Module, sessions: dict, batches: Iterable, num_classes: int) -> dict:
    """PyTorch `model` against ONNX Runtime `sessions` ({name: session}) on (image, target) batches.

    Returns {"pytorch_miou": %, name: {"max_abs_diff", "argmax_agreement", "miou"}} (labels sessions get
    "argmax_agreement" and "miou" only). mIoU is scored by common/scores.py from a confusion matrix, as the
    training module's test mIoU.
    """
    def metric():
        return MulticlassConfusionMatrix(num_classes, ignore_index=IGNORE_INDEX)

    ious = {"pytorch": metric(), **{n: metric() for n in sessions}}
    stats = {n: {"max_abs_diff": 0.0, "agree": 0, "pixels": 0} for n in sessions}
    model = model.eval()
    for image, target in batches:
        ref = model(image)
        ref_pred = ref.argmax(1)
        ious["pytorch"].update(_resize_to(ref, target).argmax(1), target)
        for name, sess in sessions.items():
            out = torch.from_numpy(sess.run(None, {INPUT: image.numpy()})[0])
            s = stats[name]
            if out.dtype == torch.uint8:  # a labels model: compare class maps
                pred = out[:, 0].long()
                scored = F.interpolate(out.float(), size=target.shape[-2:], mode="nearest")[:, 0].long() \
                    if pred.shape[-2:] != target.shape[-2:] else pred
                s["max_abs_diff"] = None
            else:
                pred, scored = out.argmax(1), _resize_to(out, target).argmax(1)
                s["max_abs_diff"] = max(s["max_abs_diff"], float((out - ref).abs().max()))
            s["agree"] += int((pred == ref_pred).sum())
            s["pixels"] += ref_pred.numel()
            ious[name].update(scored, target)
    miou = {n: mean_iou(class_ious(m.compute().numpy())) for n, m in ious.items()}
    out: dict = {"pytorch_miou": miou["pytorch"]}
    for name, s in stats.items():
        out[name] = {"argmax_agreement": s["agree"] / max(1, s["pixels"]), "miou": miou[name]}
        if s["max_abs_diff"] is not None:
            out[name]["max_abs_diff"] = s["max_abs_diff"]
    return out


def first_batches(loader, n: int | None = None) -> list[tuple]:
    """The loader's (image, target, ...) batches up to `n` images in all (None: every batch), the last
    batch cut to fit: the val images an export is checked on, the train images int8 is calibrated on."""
    out, count = [], 0
    for batch in loader:
        keep = batch[0].shape[0] if n is None else min(batch[0].shape[0], n - count)
        out.append(tuple(t[:keep] for t in batch))
        count += keep
        if n is not None and count >= n:
            break
    return out
