"""Measured batch-1 inference latency, side by side, as a speedup over ERFNet, on one or more backends.

The paper's "5X runtime" is a FLOPs ratio (Vallurupalli et al., CVPR-W 2018; docs/paper.md section 5);
this measures the real thing. Latency does not depend on trained weights, so callers time freshly built
deployable networks. Everything to time (every model on every backend, plus a matrix-multiply reference)
lives in one process and is visited round by round after a warm-up, so machine noise hits all alike.

Conventions, the same in the CLI, the JSON, the tables and docs/deployment.md:
- sizes are written W x H like the paper ("1024x512"); `sizes` arguments are (W, H) pairs;
- "speedup vs ERFNet" is ERFNet's ms / the model's ms on the same backend in the same run;
- each figure is the median of the rounds, with the interquartile range (q3 - q1) as its spread: the
  median ignores the odd round a busy machine stretches, the IQR says how much the rounds disagreed;
- GFLOP/s is 2 * MACs (exact convention, `measure.complexity`) / median time; the reference is a
  square fp32 matmul timed in the same rounds by each BLAS at hand (torch.mm; ONNX Runtime's MatMul),
  the fastest taken, so "fraction of the machine's matmul rate" compares like with like. A result carries warnings when the spread or the load average says the
  numbers are not trustworthy.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from typing import Callable, Mapping, Sequence

import torch

try:  # the [deploy] extra; without it the matmul reference is torch.mm's alone
    import onnxruntime as ort
    from onnx import TensorProto, helper
except ImportError:
    ort = None

from ..errors import ConfigError

REFERENCE = "table3/erfnet"
MATMUL = "_matmul "  # prefix of the reference entries' keys among the timed runs
MATMUL_N = 2048  # big enough to run near a BLAS's peak on 2 cores, small enough to take tens of ms
COPY = "_copy"  # key of the memory-bandwidth reference among the timed runs
COPY_N = 1 << 25  # fp32 values per buffer (128 MiB): far beyond any cache, so the copy runs at DRAM speed
NOISY_IQR = 0.10  # IQR / median above this marks a figure as noisy
# prepare(W, H) -> a zero-argument callable that runs one batch-1 forward pass on a fixed input.
Prepare = Callable[[int, int], Callable[[], object]]


def size_key(w: int, h: int) -> str:
    """The one way a size is written: W x H, the paper's "1024x512"."""
    return f"{int(w)}x{int(h)}"


def parse_size(text: str) -> tuple[int, int]:
    """ "1024x512" -> (1024, 512); a ConfigError names the expected form otherwise."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
        if w < 1 or h < 1:
            raise ValueError
    except ValueError:
        raise ConfigError(f"size {text!r} is not W x H in pixels; write it like the paper, e.g. 1024x512") from None
    return w, h


def cpu_description() -> dict:
    """CPU model, widest SIMD level and core count: every latency figure names the machine."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name") and model in ("", platform.machine(), platform.processor()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = next((name for flag, name in [("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"),
                                         ("sse4_2", "SSE4.2"), ("asimd", "NEON")] if flag in flags), "unknown")
    return {"cpu": model, "simd": simd, "cpu_count": os.cpu_count()}


def _matmul_runs(threads: int | None) -> dict[str, Callable[[], object]]:
    """Square fp32 matmuls by each BLAS at hand: torch.mm (MKL/oneDNN, which may not take its fastest
    path on every vendor's CPU) and ONNX Runtime's MatMul (MLAS) when installed. The machine's matmul
    rate is the fastest of them."""
    a, b = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)
    runs: dict[str, Callable[[], object]] = {"torch.mm": lambda: torch.mm(a, b)}
    if ort is None:
        return runs
    spec = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [MATMUL_N, MATMUL_N]) for n in "ABC"]
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "matmul", spec[:2], spec[2:])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                                   .SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = {"A": a.numpy(), "B": b.numpy()}
    runs["onnxruntime MatMul"] = lambda: session.run(None, feed)
    return runs


def _copy_run() -> Callable[[], object]:
    """A large fp32 copy (torch's `copy_`, multi-threaded): 2 x 4 x COPY_N bytes read and written per run,
    the memory-bandwidth reference of the roofline (measure/roofline.py)."""
    src = torch.rand(COPY_N, generator=torch.Generator().manual_seed(0))
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src)


def _stats(samples: list[float]) -> tuple[float, float]:
    """(median, interquartile range) of the rounds' milliseconds."""
    if len(samples) < 2:
        return samples[0], 0.0
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return statistics.median(samples), q3 - q1


def time_interleaved(runs: Mapping[str, Callable[[], object]], rounds: int, warmup: int,
                     progress: Callable[[int], None] | None = None) -> dict[str, list[float]]:
    """Milliseconds of each run in each round; every round visits every run once, in order."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(rounds):
        for key, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[key].append((time.perf_counter() - t0) * 1e3)
        if progress:
            progress(r)
    return times


def _warnings(result: dict, load: list[float], threads: int | None) -> list[str]:
    out = []
    for backend, rows in result.items():
        for name, row in rows.items():
            for key, ms in row["ms"].items():
                if row["iqr_ms"][key] > NOISY_IQR * ms:
                    out.append(f"{backend} {name} @ {key}: rounds spread {row['iqr_ms'][key] / ms:.0%} "
                               f"of the median (IQR); more --rounds or a quieter machine")
    cores = os.cpu_count() or 1
    if load and max(load) > cores:
        out.append(f"load average {max(load):.2f} > {cores} cores during the run: other processes shared the "
                   f"CPU, so absolute ms are inflated and ratios less certain; rerun on an idle machine")
    return out


def measure_latency(prepared: Mapping[str, Mapping[str, Prepare]], sizes: Sequence[Sequence[int]] = ((1024, 512),),
                    rounds: int = 7, warmup: int = 2, threads: int | None = None,
                    macs: Mapping[str, Mapping[str, int]] | None = None, reference: str = REFERENCE,
                    progress: bool = True) -> dict:
    """Time every model on every backend at each (W, H) size, interleaved round by round.

    `prepared[backend][model]` builds the run of one model on one backend for a size. Returns
    ``{"by_backend": {backend: {model: {"ms", "iqr_ms", "speedup_vs_erfnet", "ratio_vs_erfnet", "gflops"}}},
    "matmul": {"gflops": {size}, "n": N}, "_meta": {...}}``, each value a ``{"WxH": number}`` dict, the
    reference model first; "gflops" is there when `macs[model][size]` is given.
    """
    if rounds < 1 or warmup < 0:
        raise ConfigError(f"latency: expected rounds >= 1 and warmup >= 0, got rounds={rounds}, warmup={warmup}.")
    for backend, models in prepared.items():
        if reference not in models:
            raise ConfigError(f"latency: the reference model {reference!r} is not among the models to time on "
                              f"{backend} ({sorted(models)}); every speedup is taken to it.")
    if threads:
        torch.set_num_threads(threads)
    load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    samples: dict[str, dict[str, dict[str, list[float]]]] = {b: {} for b in prepared}
    matmul: dict[str, dict[str, list[float]]] = {}
    copies: dict[str, list[float]] = {}
    for w, h in sizes:
        key = size_key(w, h)
        runs = {MATMUL + k: run for k, run in _matmul_runs(threads).items()}
        runs[COPY] = _copy_run()
        for backend, models in prepared.items():
            ordered = [reference, *(n for n in models if n != reference)]
            runs.update({f"{backend}\0{n}": models[n](w, h) for n in ordered})
        # A terminal gets one line rewritten per round; a log (make, CI) only the first and the last.
        tty = sys.stderr.isatty()
        report = (lambda r: print(f"{chr(13) if tty else ''}  latency {key}: round {r + 1}/{rounds}",
                                  end="" if tty and r + 1 < rounds else "\n", file=sys.stderr, flush=True)
                  if tty or r in (0, rounds - 1) else None) if progress else None
        with torch.inference_mode():
            times = time_interleaved(runs, rounds, warmup, report)
        for impl in [k for k in times if k.startswith(MATMUL)]:
            matmul.setdefault(impl[len(MATMUL):], {})[key] = times.pop(impl)
        copies[key] = times.pop(COPY)
        for k, v in times.items():
            backend, name = k.split("\0")
            samples[backend].setdefault(name, {})[key] = v
        if load:
            load.append(os.getloadavg()[0])
    result: dict = {}
    for backend, models in samples.items():
        ref = {k: _stats(v)[0] for k, v in models[reference].items()}
        rows = {}
        for name, per_size in models.items():
            stats = {k: _stats(v) for k, v in per_size.items()}
            ms = {k: s[0] for k, s in stats.items()}
            row = {"ms": ms, "iqr_ms": {k: s[1] for k, s in stats.items()},
                   "speedup_vs_erfnet": {k: ref[k] / ms[k] for k in ms},
                   "ratio_vs_erfnet": {k: ms[k] / ref[k] for k in ms}}
            if macs and name in macs:
                row["gflops"] = {k: 2 * macs[name][k] / (ms[k] * 1e6) for k in ms if k in macs[name]}
            rows[name] = row
        result[backend] = rows
    rate = lambda ms: 2 * MATMUL_N ** 3 / (ms * 1e6)  # noqa: E731  GFLOP/s of one matmul
    by_impl = {impl: {k: rate(_stats(v)[0]) for k, v in per.items()} for impl, per in matmul.items()}
    keys = list(next(iter(matmul.values())))
    mm = {k: max(v[k] for v in by_impl.values()) for k in keys}
    # The best round too: on a shared machine the median round of a 2-thread BLAS call is often stretched
    # by other processes, the fastest one is closest to what the cores can do.
    peak = {k: max(rate(min(per[k])) for per in matmul.values()) for k in keys}
    meta = {**cpu_description(), "threads": torch.get_num_threads(), "rounds": rounds, "warmup": warmup,
            "batch": 1, "statistic": "median", "spread": "IQR (q3 - q1, ms)", "size": "WxH",
            "torch": torch.__version__, "load_average": [round(v, 2) for v in load],
            "backends": list(prepared)}
    meta["warnings"] = _warnings(result, load, threads)
    gbs = lambda ms: 2 * 4 * COPY_N / (ms * 1e6)  # noqa: E731  GB/s of one copy (read + write)
    copy = {"gbs": {k: gbs(_stats(v)[0]) for k, v in copies.items()},
            "peak_gbs": {k: gbs(min(v)) for k, v in copies.items()}, "n": COPY_N}
    return {"by_backend": result, "matmul": {"gflops": mm, "peak_gflops": peak, "by_impl": by_impl, "n": MATMUL_N},
            "copy": copy, "_meta": meta}


def single_backend(result: Mapping, backend: str) -> dict:
    """One backend's rows in the flat shape ``{model: {...}, "_meta": {..., "backend": B}}``."""
    return {**result["by_backend"][backend],
            "_meta": {**result["_meta"], "backend": backend, "matmul_gflops": result["matmul"]["gflops"]}}


def markdown(result: Mapping) -> str:
    """A backend-by-model table: median ms (IQR), speedup vs ERFNet and GFLOP/s per backend and size."""
    meta, by = result["_meta"], result["by_backend"]
    backends = list(by)
    models = list(dict.fromkeys(n for rows in by.values() for n in rows))
    sizes = list(next(iter(next(iter(by.values())).values()))["ms"])
    cols = [(b, k) for k in sizes for b in backends]
    mm = result["matmul"]["gflops"]
    lines = [f"batch-1 inference latency: median ms (IQR) of {meta['rounds']} interleaved rounds, "
             f"{meta['cpu']} ({meta['simd']}), {meta['threads']} threads, torch {meta['torch']}; "
             f"speedup = ERFNet ms / model ms on the same backend; GFLOP/s = 2 x MACs / ms",
             f"matmul reference (fp32, n={result['matmul']['n']}, fastest of "
             f"{', '.join(result['matmul'].get('by_impl', {'torch.mm': 0}))}): "
             + ", ".join(f"{mm[k]:.1f} GFLOP/s (best round {result['matmul']['peak_gflops'][k]:.1f}) @ {k}"
                         for k in sizes)
             + (f"; copy bandwidth (best round) " + ", ".join(f"{v:.1f} GB/s @ {k}" for k, v in
                                                              result["copy"]["peak_gbs"].items()) if "copy" in result else "")
             + f"; load average {meta['load_average']}",
             "| experiment | " + " | ".join(f"{b} @ {k}" for b, k in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for name in models:
        cells = []
        for b, k in cols:
            row = by[b].get(name)
            if row is None:
                cells.append("")
                continue
            gf = row.get("gflops", {}).get(k)
            frac = row.get("roofline_fraction", {}).get(k)
            cells.append(f"{row['ms'][k]:.1f} ({row['iqr_ms'][k]:.1f}) ms, {row['speedup_vs_erfnet'][k]:.2f}x"
                         + (f", {gf:.1f} GFLOP/s" if gf else "")
                         + (f", roofline {row['roofline_ms'][k]:.1f} ms ({frac:.0%})" if frac else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "roofline" in result:
        lines.insert(2, "roofline = the least time this host's peak matmul rate and copy bandwidth allow (sum over "
                        "ops of max(FLOPs / peak, bytes / bandwidth), measure/roofline.py); (%) = roofline / measured")
    lines += [f"warning: {w}" for w in meta.get("warnings", [])]
    return "\n".join(lines)
