"""Measured batch-1 inference latency, side by side, as a ratio to ERFNet.

The paper's "5X runtime" is a FLOPs ratio (Vallurupalli et al., CVPR-W 2018; docs/paper.md section 5);
this measures the real thing. Latency does not depend on trained weights, so the models are freshly built
deployable networks (gradual convs already real grouped convs, no encoder head), given by the caller
(`gradgroup-bench` builds them from experiment configs). All models live in one process and are
interleaved round by round (after a warm-up), so machine noise hits them alike; the median of the rounds
is reported. On a GPU CUDA events time the forward pass; on CPU the thread count is fixed and recorded,
since latency depends on it.
"""
from __future__ import annotations

import statistics
import sys
import time
from typing import Mapping, Sequence

import torch
from torch import nn

from ..errors import ConfigError

REFERENCE = "table3/erfnet"


def _time_once(model: nn.Module, x: torch.Tensor) -> float:
    """Milliseconds of one forward pass."""
    if x.is_cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        model(x)
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter()
    model(x)
    return (time.perf_counter() - t0) * 1e3


def measure_latency(models: Mapping[str, nn.Module], resolutions: Sequence[Sequence[int]] = ((512, 1024),),
                    rounds: int = 5, warmup: int = 1, threads: int | None = None, device: str | None = None,
                    progress: bool = True, reference: str = REFERENCE) -> dict:
    """Median batch-1 forward time of each model, and its ratio to the `reference` model's.

    Returns ``{name: {"ms": {"HxW": median ms}, "ratio_vs_erfnet": {"HxW": ms / reference ms},
    "speedup_vs_erfnet": {"HxW": reference ms / ms}}, "_meta": {device, threads, rounds, warmup, batch,
    torch}}``, the reference first. The models are moved to `device` (default: CUDA when available) and
    put in eval mode; `threads` fixes torch's CPU threads (default: torch's current setting).
    """
    if reference not in models:
        raise ConfigError(f"latency: the reference model {reference!r} is not among the models to time "
                          f"({sorted(models)}); every ratio is taken to it.")
    if rounds < 1 or warmup < 0:
        raise ConfigError(f"latency: expected rounds >= 1 and warmup >= 0, got rounds={rounds}, warmup={warmup}.")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(threads or torch.get_num_threads())
    ordered = {reference: models[reference], **{n: m for n, m in models.items() if n != reference}}
    ordered = {n: m.to(device).eval() for n, m in ordered.items()}
    times: dict[str, dict[str, list[float]]] = {n: {} for n in ordered}
    with torch.inference_mode():
        for h, w in resolutions:
            key = f"{h}x{w}"
            x = torch.randn(1, 3, h, w, device=device)
            for _ in range(warmup):
                for m in ordered.values():
                    _time_once(m, x)
            for r in range(rounds):
                for n, m in ordered.items():  # interleaved: every round visits every model
                    times[n].setdefault(key, []).append(_time_once(m, x))
                if progress:
                    print(f"  latency {key}: round {r + 1}/{rounds}", file=sys.stderr, flush=True)
    ref = {k: statistics.median(v) for k, v in times[reference].items()}
    result: dict = {}
    for n in ordered:
        ms = {k: statistics.median(v) for k, v in times[n].items()}
        result[n] = {"ms": ms, "ratio_vs_erfnet": {k: ms[k] / ref[k] for k in ms},
                     "speedup_vs_erfnet": {k: ref[k] / ms[k] for k in ms}}
    result["_meta"] = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                       "threads": torch.get_num_threads() if device == "cpu" else None,
                       "rounds": rounds, "warmup": warmup, "batch": 1, "torch": torch.__version__}
    return result


def markdown(result: Mapping[str, dict]) -> str:
    """The result of `measure_latency` as a header line and a Markdown table (ms and ratio per size)."""
    meta = result["_meta"]
    rows = {n: r for n, r in result.items() if n != "_meta"}
    where = meta["device"] + (f", {meta['threads']} threads" if meta["threads"] else "")
    keys = list(next(iter(rows.values()))["ms"])
    lines = [f"batch-1 inference latency, median of {meta['rounds']} interleaved rounds ({where}, "
             f"torch {meta['torch']})",
             "| experiment | " + " | ".join(f"ms @ {k} | x ERFNet" for k in keys) + " |",
             "|---|" + "---|---|" * len(keys)]
    for n, r in rows.items():
        lines.append(f"| {n} | " + " | ".join(f"{r['ms'][k]:.1f} | {r['ratio_vs_erfnet'][k]:.2f}" for k in keys)
                     + " |")
    return "\n".join(lines)
