"""A roofline cost model: the least time a network can take on this host, and how close a backend gets.

The roofline model (Williams, Waterman & Patterson, CACM 2009) bounds an op's time by its work and its
memory traffic: t >= max(FLOPs / peak FLOP rate, bytes moved / memory bandwidth). Here, per weight-carrying
op of one batch-1 forward pass (`measure.layer_costs.op_costs`: FLOPs = 2 x MACs of the exact convention,
bytes = fp32 input + output + weights, each moved once), summed over the ops, with the host's
- peak: the best round of a square fp32 matmul (torch.mm or ONNX Runtime's MatMul, the faster), and
- bandwidth: the best round of a 128 MiB fp32 copy (read + write),
both timed by `measure.latency.measure_latency` in the same interleaved rounds as the models. The bound
leaves out what the MAC count leaves out (BatchNorm, ReLU, pooling, interpolation, the final argmax):
ops a good backend fuses into the convs. "Fraction of the roofline" = bound / measured time: 1 would be a
backend running every op at the machine's limit; grouped and depthwise convs, whose few MACs per byte
put them under the bandwidth roof, reach a smaller fraction than dense ones on most backends.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from scipy import stats
from torch import nn

from .latency import size_key
from .layer_costs import op_costs


def op_bound_ms(flops: float, nbytes: float, peak_gflops: float, bandwidth_gbs: float) -> float:
    """The roofline bound of one op in ms: max(flops / peak, bytes / bandwidth)."""
    return max(flops / (peak_gflops * 1e9), nbytes / (bandwidth_gbs * 1e9)) * 1e3


def model_bound(model: nn.Module, input_hw: Sequence[int], peak_gflops: float, bandwidth_gbs: float) -> dict:
    """{"ms": the model's bound, "compute_ms", "memory_ms": the parts of it set by each roof, "flops",
    "bytes"} for one image of size input_hw (H, W)."""
    compute = memory = 0.0
    flops = nbytes = 0
    for op in op_costs(model, input_hw):
        f, b = 2 * op["macs"], op["bytes"]
        t = op_bound_ms(f, b, peak_gflops, bandwidth_gbs)
        if f / (peak_gflops * 1e9) >= b / (bandwidth_gbs * 1e9):
            compute += t
        else:
            memory += t
        flops, nbytes = flops + f, nbytes + b
    return {"ms": compute + memory, "compute_ms": compute, "memory_ms": memory, "flops": flops, "bytes": nbytes}


def host_roofs(result: Mapping) -> dict:
    """{"peak_gflops": {size}, "bandwidth_gbs": {size}} of a `measure_latency` result (best rounds)."""
    return {"peak_gflops": dict(result["matmul"]["peak_gflops"]), "bandwidth_gbs": dict(result["copy"]["peak_gbs"])}


def add_roofline(result: dict, models: Mapping[str, nn.Module], sizes: Sequence[Sequence[int]]) -> dict:
    """Add the host's roofs (`result["roofline"]`) and, to every timed row of `result["by_backend"]`,
    "roofline_ms" (the bound) and "roofline_fraction" (bound / measured ms), per size. Returns `result`."""
    roofs = host_roofs(result)
    bounds = {}
    for w, h in sizes:
        key = size_key(w, h)
        for name, model in models.items():
            bounds.setdefault(name, {})[key] = model_bound(model, (h, w), roofs["peak_gflops"][key],
                                                           roofs["bandwidth_gbs"][key])
    for rows in result["by_backend"].values():
        for name, row in rows.items():
            if name in bounds:
                row["roofline_ms"] = {k: b["ms"] for k, b in bounds[name].items()}
                row["roofline_fraction"] = {k: b["ms"] / row["ms"][k] for k, b in bounds[name].items() if k in row["ms"]}
    result["roofline"] = {**roofs, "bounds": bounds,
                          "model": "sum over weight-carrying ops of max(2 x MACs / peak, fp32 bytes / bandwidth)"}
    return result


def rank_agreement(result: Mapping, backend: str, size: str) -> dict:
    """Spearman's rank correlation (scipy.stats.spearmanr) between the roofline bound and the measured
    latency of every model of one backend at one size: {"rho", "p", "n", "models": {name: (bound, ms)}}."""
    rows = {n: r for n, r in result["by_backend"][backend].items() if size in r.get("roofline_ms", {})}
    pairs = {n: (r["roofline_ms"][size], r["ms"][size]) for n, r in rows.items()}
    if len(pairs) < 3:
        return {"rho": None, "p": None, "n": len(pairs), "models": pairs}
    res = stats.spearmanr([p[0] for p in pairs.values()], [p[1] for p in pairs.values()])
    return {"rho": float(res.statistic), "p": float(res.pvalue), "n": len(pairs), "models": pairs}
