"""`gradgroup-roofline`: does the roofline cost model rank the networks as the backend does?

    gradgroup-roofline [--backend onnxruntime] [--size 1024x512] [--rounds 5] [--threads 2] [--out FILE]
    gradgroup-roofline table3/erfnet table3/d table3/dg4 --size 256x128

Times every network of the paper's Tables 3, 4 and 5 (or the EXPERIMENTs named) on one backend, with the
gradgroup-bench conventions (batch 1, labels output, interleaved rounds, ERFNet as the reference; sizes
W x H), computes each one's roofline bound from the peak matmul rate and copy bandwidth timed in the same
rounds (measure/roofline.py), and reports Spearman's rank correlation between bound and measured time.
A network two experiments share (Table 4's ERFNet is Table 3's, trained otherwise) is timed once.
"""
from __future__ import annotations

import argparse
import json
from typing import Sequence

from ..common.atomic import atomic_write_json
from .bench import build_deployable
from ..config.compose import experiment_names
from .counts import TABLES
from .report import reports_user_errors

PROG = "gradgroup-roofline"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help=f"experiments to time (default: every one of {', '.join(TABLES)})")
    p.add_argument("--backend", default="onnxruntime", help="a gradgroup-bench backend (default onnxruntime)")
    p.add_argument("--size", default="1024x512", help="W x H (default 1024x512, the paper's)")
    p.add_argument("--output", choices=["labels", "logits"], default="labels")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's default)")
    p.add_argument("--out", metavar="FILE", help="also write every number as JSON to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return p.parse_args(argv)


def distinct_networks(names: Sequence[str]) -> dict:
    """{experiment: deployable network}, the first experiment of each distinct network; ERFNet first."""
    from ..measure.latency import REFERENCE

    out, seen = {}, []
    for name in dict.fromkeys([REFERENCE, *names]):
        model = build_deployable(name)
        arch = repr(model)
        if arch not in seen:
            seen.append(arch)
            out[name] = model
    return out


def markdown(agree: dict, meta: dict, backend: str, size: str) -> str:
    lines = [f"roofline bound vs measured latency, {backend} @ {size}, {meta['cpu']} ({meta['simd']}), "
             f"{meta['threads']} threads", "| experiment | roofline ms | measured ms | fraction of the roofline |",
             "|---|---|---|---|"]
    for name, (bound, ms) in sorted(agree["models"].items(), key=lambda kv: kv[1][1]):
        lines.append(f"| {name} | {bound:.1f} | {ms:.1f} | {bound / ms:.0%} |")
    rho = "n/a (fewer than 3 networks)" if agree["rho"] is None else f"{agree['rho']:.3f} (p = {agree['p']:.2g})"
    lines.append(f"Spearman rank correlation (scipy.stats.spearmanr), n = {agree['n']}: rho = {rho}")
    return "\n".join(lines)


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    from ..deploy.runtimes import check_backend, prepare_backend  # torch only past --help
    from ..measure.latency import REFERENCE, measure_latency, parse_size, size_key
    from ..measure.roofline import add_roofline, rank_agreement

    check_backend(args.backend)
    w, h = parse_size(args.size)
    names = [e.split("=", 1)[-1] for e in args.experiments] or experiment_names(TABLES)
    models = distinct_networks(names)
    prepared = {args.backend: {n: prepare_backend(m, args.backend, n, args.output, args.threads)
                               for n, m in models.items()}}
    res = measure_latency(prepared, [(w, h)], args.rounds, args.warmup, args.threads, reference=REFERENCE)
    add_roofline(res, models, [(w, h)])
    agree = rank_agreement(res, args.backend, size_key(w, h))
    res["spearman"] = {k: v for k, v in agree.items() if k != "models"}
    if args.out:
        atomic_write_json(args.out, res)
    print(json.dumps(res["spearman"]) if args.json else markdown(agree, res["_meta"], args.backend, size_key(w, h)))


if __name__ == "__main__":
    main()
