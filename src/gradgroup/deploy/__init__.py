"""Deployment: exact inference rewrites, ONNX export and int8 quantization, and the backends a model is
timed on (docs/paper.md section 5: the paper's runtime claims are FLOPs ratios; this measures real ones).

- `rewrites`: BatchNorm folding, the sub-pixel output layer, an optional labels output;
- `export`: the ONNX file ("image" -> "logits" or "labels"), its check against PyTorch, int8 static
  quantization;
- `runtimes`: eager / optimized / compile / onnxruntime / onnxruntime-int8, as `prepare(W, H) -> run()`;
- `profile`: where the time goes, per layer or per ONNX node, beside each layer's MACs.

May import `grouping`, `measure`, `models`, `errors`; never `training` (the CLI loads checkpoints).
"""
from .rewrites import rewrite_for_inference
from .runtimes import BACKENDS, FP32_BACKENDS, check_backend, prepare_backend

__all__ = ["BACKENDS", "FP32_BACKENDS", "check_backend", "prepare_backend", "rewrite_for_inference"]
