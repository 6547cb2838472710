"""Where the time of one forward pass goes, per layer, beside each layer's share of the MACs.

docs/paper.md section 5: a speedup below the MAC ratio is explained by the layers whose share of the
time exceeds their share of the MACs (memory-bound depthwise/grouped convs, full-resolution layers that
cost every variant the same). PyTorch backends are timed per top-level layer with forward hooks; ONNX
Runtime with its own profiler (per node, mapped back to the layer through the exporter's name scopes;
layout reorders ONNX Runtime inserts belong to no layer and are listed as such).
"""
from __future__ import annotations

import ast
import collections
import json
import tempfile
import time
from pathlib import Path

import onnx
import onnxruntime as ort
import torch
from torch import nn

from ..measure.layer_costs import layer_macs, named_layers
from .export import export_onnx, quantize_int8
from .rewrites import rewrite_for_inference
from .runtimes import check_backend, ort_session

UNMAPPED = "(layout reorders and glue)"


def _layer_of_scope(scopes: list[str]) -> str | None:
    """ "layers.3" -> "encoder 4", "layers.17" -> "decoder 2", "output" -> "output"."""
    for s in scopes:
        parts = s.split(".")
        if parts[0] == "layers" and len(parts) == 2:
            i = int(parts[1])
            return f"encoder {i + 1}" if i < 16 else f"decoder {i - 15}"
        if parts[0] == "output":
            return "output"
    return None


def _torch_times(module: nn.Module, x: torch.Tensor, runs: int) -> dict[str, float]:
    """Milliseconds per named layer (sum over `runs` passes / runs), with forward pre/post hooks."""
    totals: dict[str, float] = collections.defaultdict(float)
    start: dict[str, float] = {}
    handles = []
    for name, layer in named_layers(module).items():
        handles.append(layer.register_forward_pre_hook(lambda m, i, n=name: start.__setitem__(n, time.perf_counter())))
        handles.append(layer.register_forward_hook(
            lambda m, i, o, n=name: totals.__setitem__(n, totals[n] + time.perf_counter() - start[n])))
    try:
        with torch.inference_mode():
            module(x)  # warm-up, not counted
            totals.clear()
            for _ in range(runs):
                module(x)
    finally:
        for h in handles:
            h.remove()
    return {n: 1e3 * t / runs for n, t in totals.items()}


def _onnx_times(path: Path, x: torch.Tensor, threads: int | None, runs: int) -> tuple[dict, dict]:
    """(ms per layer, ms per op type) from ONNX Runtime's profiler."""
    owner: dict[str, str] = {}
    for node in onnx.load(str(path)).graph.node:
        meta = {p.key: p.value for p in node.metadata_props}
        layer = _layer_of_scope(eval_list(meta.get("pkg.torch.onnx.name_scopes", "[]")))
        for key in [node.name, *node.output]:
            owner[key] = layer or UNMAPPED
    session = ort_session(path, threads)
    session.run(None, {"image": x.numpy()})  # warm-up before profiling starts
    opts = session.get_session_options()
    del session
    opts.enable_profiling = True
    opts.profile_file_prefix = str(path.with_suffix(""))
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    for _ in range(runs + 1):
        session.run(None, {"image": x.numpy()})
    events = json.loads(Path(session.end_profiling()).read_text())
    by_layer: dict[str, float] = collections.defaultdict(float)
    by_op: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        node = e["name"][: -len("_kernel_time")]
        base = node[: -len("_nchwc")] if node.endswith("_nchwc") else node
        by_layer[owner.get(node) or owner.get(base) or UNMAPPED] += e["dur"] / 1e3
        by_op[e["args"].get("op_name", "?")] += e["dur"] / 1e3
    # the first run after the session starts is ONNX Runtime's own warm-up: scale to per-run figures
    return ({k: v / (runs + 1) for k, v in by_layer.items()}, {k: v / (runs + 1) for k, v in by_op.items()})


def eval_list(text: str) -> list[str]:
    """The exporter's name scopes, stored as a Python list literal of strings."""
    value = ast.literal_eval(text) if text.startswith("[") else []
    return [str(v) for v in value]


def profile(model: nn.Module, backend: str, size: tuple[int, int], threads: int | None = None,
            runs: int = 3, output: str = "labels") -> dict:
    """Per-layer ms and share of the time beside the layer's share of the MACs, for one (W, H) size."""
    check_backend(backend)
    w, h = size
    model = model.eval()
    x = torch.randn(1, 3, h, w)
    macs = layer_macs(model, (h, w))
    by_op = None
    if backend == "eager":
        times = _torch_times(model, x, runs)
    elif backend in ("optimized", "compile"):  # compile fuses across layers: hooks cannot split it
        times = _torch_times(rewrite_for_inference(model, labels=output == "labels"), x, runs)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="gradgroup-profile-"))
        path = export_onnx(rewrite_for_inference(model, labels=output == "labels"), workdir / "model.onnx",
                           output=output)
        if backend.endswith("int8"):
            path = quantize_int8(path, workdir / "model.int8.onnx", [torch.randn(1, 3, 64, 128)])
        times, by_op = _onnx_times(path, x, threads, runs)
    total_ms, total_macs = sum(times.values()), sum(macs.values()) or 1
    rows = [{"layer": n, "ms": times.get(n, 0.0), "time_share": times.get(n, 0.0) / total_ms,
             "gmacs": macs.get(n, 0) / 1e9, "mac_share": macs.get(n, 0) / total_macs}
            for n in [*macs, *(k for k in times if k not in macs)]]
    return {"backend": backend, "size": f"{w}x{h}", "total_ms": total_ms, "layers": rows,
            "ops": None if by_op is None else dict(sorted(by_op.items(), key=lambda kv: -kv[1]))}


def markdown(result: dict) -> str:
    """The profile as a Markdown table, the layers taking more time than their MAC share marked."""
    lines = [f"profile on {result['backend']} @ {result['size']}: {result['total_ms']:.1f} ms per pass "
             "(sum over layers); '<<' marks a time share above twice the MAC share",
             "| layer | ms | time share | GMACs | MAC share | |", "|---|---|---|---|---|---|"]
    for r in result["layers"]:
        flag = "<<" if r["time_share"] > 2 * r["mac_share"] and r["time_share"] > 0.02 else ""
        lines.append(f"| {r['layer']} | {r['ms']:.1f} | {r['time_share']:.1%} | {r['gmacs']:.3f} | "
                     f"{r['mac_share']:.1%} | {flag} |")
    if result["ops"]:
        total = sum(result["ops"].values()) or 1
        lines.append("ONNX Runtime time by op type: " + ", ".join(
            f"{op} {ms / total:.1%}" for op, ms in result["ops"].items() if ms / total >= 0.005))
    return "\n".join(lines)
