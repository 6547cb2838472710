"""Training-step time under each precision and memory layout, side by side (a benchmark, not a test).

`trainer.precision=bf16-mixed` and `compute.channels_last=true` (docs/gpu.md) change how a training step
runs, not what it computes. This times one step (forward + cross-entropy + backward + Adam, train mode, as
Lightning runs it under `precision`: autocast around forward and loss, fp32 weights and optimizer) of the
same models in every setting, interleaved round by round with the order rotating, so machine drift hits
all alike; each row is the median step and its ratio to fp32 NCHW of the same model.

    python -m gradgroup.measure.precision_bench [--iters N] [--hw 64 128] [--batch 8] [--threads 2] [--device cpu]
                                                [--json-out FILE]
    make bench-precision

--json-out also writes every row (median ms per step, images/s = batch / median step) as JSON: what
scripts/gpu_check.py sets beside the loader's images/s per worker.

On a CUDA device (`--device cuda`, not run on a GPU yet) 16-mixed joins with its grad scaler and the
steps are timed with CUDA events.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import torch
import torch.nn.functional as F

from ..models import build_model, set_alpha
from .device import cuda_timer, require_cuda
from .latency import cpu_description

NUM_CLASSES = 19
MODELS = {"D*": ("d", 1, False), "DG4* gradual a=0.5": ("dgc", 4, True)}


def settings(device: str) -> list[tuple[str, torch.dtype | None, bool]]:
    """(name, autocast dtype or None for fp32, channels_last) of every timed setting."""
    out = [("32-true", None, False), ("bf16-mixed", torch.bfloat16, False),
           ("32-true channels_last", None, True), ("bf16-mixed channels_last", torch.bfloat16, True)]
    if device.startswith("cuda"):
        out.append(("16-mixed", torch.float16, False))
    return out


def make_step(name: str, setting, x: torch.Tensor, y: torch.Tensor, device: str):
    block, groups, gradual = MODELS[name]
    _, dtype, channels_last = setting
    torch.manual_seed(0)
    model = build_model(NUM_CLASSES, {"block": block, "groups": groups, "layers": "starred", "gradual": gradual},
                        {"name": "erfnet"}).to(device)
    if gradual:
        set_alpha(model, 0.5)  # mid-decay: the masked-weight branch, the dearest phase of the schedule
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model, x = model.to(memory_format=fmt), x.contiguous(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    scaler = torch.amp.GradScaler(device.split(":")[0]) if dtype == torch.float16 else None
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        ctx = torch.autocast(device.split(":")[0], dtype=dtype) if dtype else contextlib.nullcontext()
        with ctx:
            loss = F.cross_entropy(model(x), y)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
    return step


def bench(iters: int, hw, batch: int, warmup: int, device: str) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(device or wall ms per step, CPU ms per step) per "model | setting"; the second is empty on CUDA. On a
    CPU, CPU time (all threads of the process) is the cost whatever else the host runs; on a shared host
    its ratios are the ones to read."""
    torch.manual_seed(1)
    x = torch.randn(batch, 3, *hw, device=device)
    y = torch.randint(0, NUM_CLASSES, (batch, *hw), device=device)
    steps = {f"{m} | {s[0]}": make_step(m, s, x, y, device) for m in MODELS for s in settings(device)}
    cpu: dict[str, list[float]] = {}
    if device.startswith("cuda"):
        timers = {k: cuda_timer(fn) for k, fn in steps.items()}
    else:
        def wall(key, fn):
            def timed() -> float:
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                cpu.setdefault(key, []).append((time.process_time() - c0) * 1e3)
                return (time.perf_counter() - t0) * 1e3
            return timed
        timers = {k: wall(k, fn) for k, fn in steps.items()}
    for timed in timers.values():
        for _ in range(warmup):
            timed()
    times: dict[str, list[float]] = {k: [] for k in timers}
    names = list(timers)
    for r in range(iters):
        for key in names[r % len(names):] + names[:r % len(names)]:
            times[key].append(timers[key]())
    return times, {k: v[warmup:] for k, v in cpu.items()}


def rows(times: dict[str, list[float]], cpu: dict[str, list[float]], batch: int) -> list[dict]:
    """One dict per (model, setting): median and min ms per step, images/s, ratio to 32-true of the model;
    on a CPU also the median CPU ms per step and its ratio."""
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    out = []
    for key, t in times.items():
        model, setting = key.split(" | ")
        row = {"model": model, "setting": setting, "median_ms": med[key], "min_ms": min(t),
               "images_per_s": batch * 1e3 / med[key], "ratio_to_32_true": med[key] / med[f"{model} | 32-true"]}
        if key in cpu_med:
            row.update(cpu_ms=cpu_med[key], cpu_ratio_to_32_true=cpu_med[key] / cpu_med[f"{model} | 32-true"])
        out.append(row)
    return out


def markdown(table: list[dict]) -> str:
    cpu = "cpu_ms" in table[0]
    lines = ["| model | setting | ms/step (median) | min | images/s | ratio to 32-true |"
             + (" CPU ms/step | CPU ratio |" if cpu else ""), "|---|---|---:|---:|---:|---:|" + ("---:|---:|" if cpu else "")]
    lines += [f"| {r['model']} | {r['setting']} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['images_per_s']:.1f} | "
              f"{r['ratio_to_32_true']:.2f} |" + (f" {r['cpu_ms']:.1f} | {r['cpu_ratio_to_32_true']:.2f} |" if cpu else "")
              for r in table]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=10, help="timed rounds (one step per model and setting per round)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--hw", type=int, nargs=2, default=(64, 128), metavar=("H", "W"), help="default: the quick preset's")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json-out", help="also write the rows, with the machine and settings, to this JSON file")
    args = p.parse_args(argv)
    if args.device.startswith("cuda"):
        require_cuda("precision_bench --device cuda")
        torch.backends.cudnn.benchmark = True
    torch.set_num_threads(args.threads)
    m = cpu_description()
    print(f"torch {torch.__version__}, device {args.device}, CPU {m['cpu']} ({m['simd']}), "
          f"{torch.get_num_threads()} threads; input {args.batch}x3x{args.hw[0]}x{args.hw[1]}, {args.warmup} "
          f"warm-up steps, {args.iters} interleaved rounds")
    table = rows(*bench(args.iters, tuple(args.hw), args.batch, args.warmup, args.device), args.batch)
    print(markdown(table))
    if args.json_out:
        meta = {"torch": torch.__version__, "device": args.device, **m, "threads": torch.get_num_threads(),
                "batch": args.batch, "hw": list(args.hw), "iters": args.iters}
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"meta": meta, "rows": table}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
