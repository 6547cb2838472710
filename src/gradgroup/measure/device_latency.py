"""Batch-1 latency on a torch device (`gradgroup-bench --device cuda`), in the result format of
`measure.latency.measure_latency`, so the same tables and latency.json readers take it.

On CUDA every run is timed with CUDA events (`measure.device.cuda_timer`: the device's time for the work,
synchronized before and after), after `warmup` untimed runs that also let `torch.backends.cudnn.benchmark`
(set by the caller) pick its kernels; models take turns round by round as on the CPU. The reference rate
is an fp32 torch.mm on the device (TF32 off, torch's default for matmuls). On device "cpu" the same code
times with the wall clock (the tests run it so); it has not run on a GPU yet (docs/gpu.md).
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

import torch

from .device import cuda_timer, torch_report
from .latency import REFERENCE, _stats, cpu_description, size_key

MATMUL_N = {"cuda": 8192, "cpu": 1024}


def _wall(fn: Callable[[], object]) -> Callable[[], float]:
    def timed() -> float:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3
    return timed


def describe(device: torch.device) -> dict:
    """The `_meta` keys that name the machine: the GPU and the CUDA/cuDNN build on CUDA."""
    if device.type != "cuda":
        return cpu_description()
    t = torch_report()
    name = torch.cuda.get_device_name(device)
    return {"cpu": f"GPU {name}", "simd": f"CUDA {t['cuda_build']}, cuDNN {t['cudnn']}", "gpu": name}


def measure_device_latency(prepared: Mapping[str, Mapping[str, Callable]], sizes: Sequence[Sequence[int]],
                           rounds: int, warmup: int, device: str, reference: str = REFERENCE) -> dict:
    """Time every model on every backend at each (W, H) size on `device`, interleaved round by round."""
    dev = torch.device(device)
    timer = cuda_timer if dev.type == "cuda" else _wall
    n = MATMUL_N[dev.type]
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    samples: dict = {bk: {} for bk in prepared}
    mm: dict[str, list[float]] = {}
    for w, h in sizes:
        key = size_key(w, h)
        runs = {("_mm", ""): timer(lambda: torch.mm(a, b))}
        for backend, models in prepared.items():
            for name in [reference, *(m for m in models if m != reference)]:
                runs[(backend, name)] = timer(models[name](w, h))
        with torch.inference_mode():
            for run in runs.values():
                for _ in range(warmup):
                    run()
            times: dict = {k: [] for k in runs}
            order = list(runs)
            for r in range(rounds):
                for k in order[r % len(order):] + order[:r % len(order)]:
                    times[k].append(runs[k]())
        mm[key] = times.pop(("_mm", ""))
        for (backend, name), v in times.items():
            samples[backend].setdefault(name, {})[key] = v
    result = {}
    for backend, models in samples.items():
        ref = {k: _stats(v)[0] for k, v in models[reference].items()}
        result[backend] = {name: {"ms": {k: _stats(v)[0] for k, v in per.items()},
                                  "iqr_ms": {k: _stats(v)[1] for k, v in per.items()},
                                  "speedup_vs_erfnet": {k: ref[k] / _stats(v)[0] for k, v in per.items()},
                                  "ratio_vs_erfnet": {k: _stats(v)[0] / ref[k] for k, v in per.items()}}
                           for name, per in models.items()}
    rate = {k: 2 * n ** 3 / (_stats(v)[0] * 1e6) for k, v in mm.items()}
    meta = {**describe(dev), "device": str(dev), "threads": torch.get_num_threads(), "rounds": rounds,
            "warmup": warmup, "batch": 1, "statistic": "median", "spread": "IQR (q3 - q1, ms)", "size": "WxH",
            "torch": torch.__version__, "load_average": [], "backends": list(prepared),
            "timer": "CUDA events" if dev.type == "cuda" else "wall clock",
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark), "warnings": []}
    return {"by_backend": result, "matmul": {"gflops": rate, "peak_gflops": rate, "by_impl": {"torch.mm": rate}, "n": n},
            "_meta": meta}
