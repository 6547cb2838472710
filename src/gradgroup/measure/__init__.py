"""Measuring built networks: params and MACs (the paper's "GFLOPs"), batch-1 latency, training-step time.

Everything here takes already-built `nn.Module`s and reads no config (the CLIs build the models from
experiments). It imports only `gradgroup.models` and `gradgroup.errors`; `step_bench` is a script
(`python -m gradgroup.measure.step_bench`) and `counts` formats the README's counting table.
"""
from .complexity import CONVENTIONS, complexity_report, count_macs, count_params
from .latency import measure_latency

__all__ = ["CONVENTIONS", "complexity_report", "count_macs", "count_params", "measure_latency"]
