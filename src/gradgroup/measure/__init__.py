"""Measuring built networks: params and MACs (the paper's "GFLOPs"), batch-1 latency, training-step time.

Everything here takes already-built `nn.Module`s and reads no config (the library task functions above
build the models from experiments). It imports only `gradgroup.models`, `gradgroup.errors` and
`gradgroup.common`. This file imports the counting only: `latency` (onnxruntime, onnx) and `step_bench`
(a script, `python -m gradgroup.measure.step_bench`) load when imported by name, so training and the light
commands never pay for them; `counts` measures and lays out the counting table of docs/counts.md.
"""
from .complexity import CONVENTIONS, complexity_report, count_macs, count_params

__all__ = ["CONVENTIONS", "complexity_report", "count_macs", "count_params"]
