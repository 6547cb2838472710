"""`gradgroup-bench`: measured batch-1 inference latency of experiments on one or more backends, side by
side, as a speedup over ERFNet on the same backend.

    gradgroup-bench EXPERIMENT... [--backend B]... [--size WxH]... [--rounds N] [--threads N] [--json]
    gradgroup-bench --sweep DIR [EXPERIMENT...] [--backend B]... [--out FILE]
    gradgroup-bench --profile EXPERIMENT --backend B [--size WxH]
    gradgroup-bench --prepare-only --sweep-file sweeps/demo.yaml --onnx-dir DIR/onnx

ONNX backends export each architecture once into --onnx-dir (with --sweep: DIR/onnx) and reuse it, so
`--prepare-only` can export a sweep's models while the sweep trains (the demo runs it at the lowest CPU
priority, on a core its jobs leave idle) and the timing after it starts at once.

The paper's "5X runtime" (Vallurupalli et al., CVPR-W 2018; docs/paper.md section 5) is a FLOPs ratio;
this times the deployable networks (gradual convs already real grouped convs), freshly built from each
experiment's config: latency does not depend on trained weights, so no checkpoint is needed. Table 3's
ERFNet is always timed too, as the reference. Backends: eager, optimized (exact rewrites: BN folded,
sub-pixel output), compile (torch.compile), onnxruntime, onnxruntime-int8 (gradgroup.deploy.runtimes).
Sizes are W x H like the paper (1024x512). `--sweep DIR` benchmarks the experiments of DIR's finished
jobs and writes DIR/latency.json (every backend's numbers), which `gradgroup-table DIR` reads.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from ..common.atomic import atomic_write_json
from ..config.build import deployable_model
from ..config.compose import compose_config
from ..errors import ConfigError
from ..results.records import load_runs
from .report import fail, reports_user_errors
from ..common.records import is_ok

PROG = "gradgroup-bench"
DEFAULT_SIZES = ["1024x512", "256x128"]  # the paper's input, and the quick training size (W x H)
DEFAULT_BACKENDS = ["eager", "onnxruntime"]  # as a user runs it, and the fastest fp32 backend measured


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="experiment names, e.g. table3/dg4 (or experiment=table3/dg4)")
    p.add_argument("--backend", action="append", metavar="B",
                   help="eager | optimized | compile | onnxruntime | onnxruntime-int8; repeatable "
                        f"(default: {' '.join(DEFAULT_BACKENDS)})")
    p.add_argument("--sweep", metavar="DIR", help="benchmark the experiments of this sweep's metrics.json files "
                   "and write DIR/latency.json (unless --out says otherwise)")
    p.add_argument("--profile", metavar="EXPERIMENT", help="per-layer time share beside MAC share of one "
                   "experiment on one --backend, at the first --size")
    p.add_argument("--out", metavar="FILE", help="also write the result as JSON to FILE")
    p.add_argument("--size", action="append", metavar="WxH",
                   help=f"input size, W x H like the paper; repeatable (default: {' '.join(DEFAULT_SIZES)})")
    p.add_argument("--output", choices=["labels", "logits"], default="labels",
                   help="what every backend returns: the class map a deployed model returns (default), or logits")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's default)")
    p.add_argument("--device", default="cpu", help="cpu (default) | cuda[:N]: on a GPU, timed with CUDA events "
                   "after warm-up, cudnn.benchmark on; onnxruntime uses its CUDA provider ([deploy-gpu])")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--onnx-dir", metavar="DIR", help="where ONNX backends keep one export per architecture, "
                   "reused when present (default: DIR/onnx with --sweep DIR, else a temporary dir)")
    p.add_argument("--prepare-only", action="store_true", help="build and export the models, time nothing")
    p.add_argument("--sweep-file", metavar="YAML", help="also the experiments a sweep file of sweeps/ lists "
                   "(hydra.sweeper.params.experiment)")
    args = p.parse_args(argv)
    if not args.experiments and not args.sweep and not args.profile and not args.sweep_file:
        p.error("name at least one EXPERIMENT, a sweep dir with --sweep DIR, a --sweep-file, or --profile EXPERIMENT")
    return args


def sweep_experiments(sweep_dir: str) -> list[str]:
    """The experiments of a sweep's finished jobs, in the order of their metrics.json files."""
    runs = load_runs([sweep_dir])
    names = list(dict.fromkeys(r["experiment"] for r in runs if is_ok(r) and r.get("experiment")))
    skipped = sorted({str(r.get("experiment")) for r in runs if not is_ok(r)} - set(names))
    if skipped:
        print(f"note: not benchmarking {skipped}: no finished job in {sweep_dir}", file=sys.stderr)
    if not names:
        fail(f"no finished job (status ok) in {sweep_dir}: nothing to benchmark", PROG)
    return names


def sweep_file_experiments(path: str) -> list[str]:
    """The experiments a sweep file of sweeps/ lists (its hydra.sweeper.params.experiment)."""
    from omegaconf import OmegaConf

    try:
        listed = OmegaConf.select(OmegaConf.load(path), "hydra.sweeper.params.experiment")
    except OSError as e:
        raise ConfigError(f"--sweep-file {path}: cannot read it ({e.strerror})") from e
    if not listed:
        raise ConfigError(f"--sweep-file {path} lists no hydra.sweeper.params.experiment")
    return [e.strip() for e in str(listed).split(",") if e.strip()]


def build_deployable(experiment: str):
    """The deployable network of an experiment, in eval mode, built from its composed config."""
    return deployable_model(compose_config([f"experiment={experiment}"]))


def _sizes(args) -> list[tuple[int, int]]:
    from ..measure.latency import parse_size  # torch only past --help

    return [parse_size(s) for s in (args.size or DEFAULT_SIZES)]


def _backends(args) -> list[str]:
    """The backends to time: those named (default DEFAULT_BACKENDS). A missing package is an error for a
    named backend; `compile` without a C++ compiler, and a missing default, are skipped with the reason."""
    from ..deploy.runtimes import BackendUnavailable, check_backend  # torch only past --help

    named = list(dict.fromkeys(args.backend or []))
    out = []
    for b in named or DEFAULT_BACKENDS:
        try:
            check_backend(b)
            out.append(b)
        except BackendUnavailable as e:
            if named and b != "compile":
                raise
            print(f"note: skipping backend {b}: {e}", file=sys.stderr)
    if not out:
        raise ConfigError(f"no backend left to time (asked for {named or DEFAULT_BACKENDS}); see the notes above")
    return out


def _profile(args) -> None:
    from ..deploy.profile import markdown, profile  # torch only past --help

    backends = args.backend or []
    if len(backends) != 1:
        raise ConfigError("--profile times one backend: give exactly one --backend B")
    import torch  # threads must be fixed before the model runs

    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.profile.split("=", 1)[-1]
    res = profile(build_deployable(name), backends[0], _sizes(args)[0], args.threads, output=args.output)
    res["experiment"] = name
    print(json.dumps(res) if args.json else f"{name}: " + markdown(res))


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.device != "cpu":
        return _device_bench(args)
    if args.profile:
        return _profile(args)
    from ..deploy.runtimes import export_for_backend, prepare_backend  # torch only past --help
    from ..measure.latency import REFERENCE

    backends, sizes = _backends(args), _sizes(args)
    names = [e.split("=", 1)[1] if e.startswith("experiment=") else e for e in args.experiments]
    if args.sweep_file:
        names += sweep_file_experiments(args.sweep_file)
    if args.sweep and not args.prepare_only:
        names += sweep_experiments(args.sweep)
    names = list(dict.fromkeys([REFERENCE, *names]))
    models = {name: build_deployable(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="gradgroup-onnx-") as tmp:
        onnx_dir = args.onnx_dir or (str(Path(args.sweep) / "onnx") if args.sweep else tmp)
        if args.prepare_only:  # the exports only: no runtime session, nothing timed
            for b in backends:
                for n, m in models.items():
                    export_for_backend(m, b, n, args.output, onnx_dir)
            print(f"prepared {len(models)} models for {', '.join(backends)} in {onnx_dir}", file=sys.stderr)
            return
        prepared = {b: {n: prepare_backend(m, b, n, args.output, args.threads, onnx_dir) for n, m in models.items()}
                    for b in backends}
        _time_and_report(args, prepared, models, sizes, backends)


def _device_bench(args) -> None:
    """--device cuda: every backend's device form, timed on the device (measure/device_latency.py)."""
    import torch

    from ..deploy.device_runtimes import DEVICE_BACKENDS, prepare_device_backend
    from ..measure.device import require_cuda
    from ..measure.device_latency import measure_device_latency
    from ..measure.latency import REFERENCE, markdown

    if args.profile or args.prepare_only:
        raise ConfigError(f"--device {args.device}: --profile and --prepare-only time or export on the CPU only")
    if args.device.startswith("cuda"):
        require_cuda(f"{PROG} --device {args.device}")
        torch.backends.cudnn.benchmark = True  # picks the fastest conv kernels per shape during warm-up
    backends = list(dict.fromkeys(args.backend or DEVICE_BACKENDS[:2]))
    names = [e.split("=", 1)[-1] for e in args.experiments] + (sweep_experiments(args.sweep) if args.sweep else [])
    models = {n: build_deployable(n) for n in dict.fromkeys([REFERENCE, *names])}
    with tempfile.TemporaryDirectory(prefix="gradgroup-onnx-") as tmp:
        onnx_dir = args.onnx_dir or (str(Path(args.sweep) / "onnx") if args.sweep else tmp)
        prepared = {b: {n: prepare_device_backend(m, b, args.device, n, args.output, onnx_dir) for n, m in models.items()}
                    for b in backends}
        res = measure_device_latency(prepared, _sizes(args), args.rounds, args.warmup, args.device, REFERENCE)
    res["_meta"].update(output=args.output, fastest_fp32=None)
    out = args.out or (str(Path(args.sweep) / f"latency-{args.device.replace(':', '')}.json") if args.sweep else None)
    if out:
        atomic_write_json(out, res)
        print(f"wrote {out}", file=sys.stderr)
    print(json.dumps(res) if args.json else markdown(res))


def _time_and_report(args, prepared, models, sizes, backends) -> None:
    from ..deploy.runtimes import FP32_BACKENDS
    from ..measure.complexity import count_macs
    from ..measure.latency import REFERENCE, markdown, measure_latency, single_backend, size_key

    macs = {n: {size_key(w, h): count_macs(m, (h, w)) for w, h in sizes} for n, m in models.items()}
    res = measure_latency(prepared, sizes, args.rounds, args.warmup, args.threads, macs, reference=REFERENCE)
    from ..measure.roofline import add_roofline  # each model's roofline bound and the fraction of it reached
    add_roofline(res, models, sizes)
    first = size_key(*sizes[0])
    fp32 = [b for b in backends if b in FP32_BACKENDS]
    res["_meta"]["output"] = args.output
    res["_meta"]["fastest_fp32"] = min(fp32, key=lambda b: res["by_backend"][b][REFERENCE]["ms"][first]) \
        if fp32 else None
    out = args.out or (str(Path(args.sweep) / "latency.json") if args.sweep else None)
    if out:
        atomic_write_json(out, res)
        print(f"wrote {out}", file=sys.stderr)
    if args.json:
        print(json.dumps(single_backend(res, backends[0]) if len(backends) == 1 else res))
    else:
        print(markdown(res))


if __name__ == "__main__":
    main()
