"""`gradgroup-bench`: measured batch-1 inference latency, side by side, as a ratio to ERFNet.

The paper's "5X runtime" is a FLOPs ratio (shared/paper.md section 5); this measures the real thing.
Every model is the deployable one (gradual convs converted to real grouped convs, no encoder head);
latency does not depend on trained weights, so no checkpoint is needed. All models live in one process
and are interleaved round by round (after a warm-up), so machine noise hits them alike; the median of
the rounds is reported. On a GPU CUDA events time the forward pass; on CPU the thread count is fixed
and printed, since latency depends on it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Sequence

import torch

from .errors import GradgroupError

REFERENCE = "table3/erfnet"


def _build(experiment: str, overrides: Sequence[str] = ()) -> torch.nn.Module:
    from .config_paths import compose_config
    from .experiment import deployable_model

    return deployable_model(compose_config([f"experiment={experiment}", *overrides])).eval()


def _time_once(model: torch.nn.Module, x: torch.Tensor) -> float:
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


def measure_latency(experiments: Sequence[str], resolutions: Sequence[Sequence[int]] = ((512, 1024),),
                    rounds: int = 5, warmup: int = 1, threads: int | None = None, device: str | None = None,
                    progress: bool = True) -> dict:
    """{experiment: {"ms": {"HxW": median ms}, "ratio_vs_erfnet": {"HxW": ratio}, ...}} plus "_meta"."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(threads or torch.get_num_threads())
    names = list(dict.fromkeys([REFERENCE, *experiments]))
    models = {n: _build(n).to(device) for n in names}
    times: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    with torch.inference_mode():
        for h, w in resolutions:
            key = f"{h}x{w}"
            x = torch.randn(1, 3, h, w, device=device)
            for _ in range(warmup):
                for m in models.values():
                    _time_once(m, x)
            for r in range(rounds):
                for n, m in models.items():  # interleaved: every round visits every model
                    times[n].setdefault(key, []).append(_time_once(m, x))
                if progress:
                    print(f"  latency {key}: round {r + 1}/{rounds}", file=sys.stderr, flush=True)
    result = {}
    for n in names:
        ms = {k: statistics.median(v) for k, v in times[n].items()}
        ref = {k: statistics.median(v) for k, v in times[REFERENCE].items()}
        result[n] = {"ms": ms, "ratio_vs_erfnet": {k: ms[k] / ref[k] for k in ms},
                     "speedup_vs_erfnet": {k: ref[k] / ms[k] for k in ms}}
    result["_meta"] = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                       "threads": torch.get_num_threads() if device == "cpu" else None,
                       "rounds": rounds, "warmup": warmup, "batch": 1, "torch": torch.__version__}
    return result


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="gradgroup-bench", description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="+", help="experiment names, e.g. table3/dg4 (or experiment=table3/dg4)")
    p.add_argument("--hw", type=int, nargs=2, action="append", metavar=("H", "W"),
                   help="input size; repeatable (default: 512 1024 and the quick training size 128 256)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's default)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    names = [e.split("=", 1)[1] if e.startswith("experiment=") else e for e in args.experiments]
    try:
        res = measure_latency(names, args.hw or [(512, 1024), (128, 256)], args.rounds, args.warmup, args.threads)
    except GradgroupError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except Exception as err:  # an unknown experiment name surfaces from Hydra's compose
        if type(err).__name__ in ("MissingConfigException", "ConfigCompositionException"):
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        raise
    meta = res.pop("_meta")
    if args.json:
        print(json.dumps({**res, "_meta": meta}))
        return
    where = meta["device"] + (f", {meta['threads']} threads" if meta["threads"] else "")
    print(f"batch-1 inference latency, median of {meta['rounds']} interleaved rounds ({where}, torch {meta['torch']})")
    keys = list(next(iter(res.values()))["ms"])
    print("| experiment | " + " | ".join(f"ms @ {k} | x ERFNet" for k in keys) + " |")
    print("|---|" + "---|---|" * len(keys))
    for n, r in res.items():
        print(f"| {n} | " + " | ".join(f"{r['ms'][k]:.1f} | {r['ratio_vs_erfnet'][k]:.2f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
