"""Training-step time of gradual grouping against its dense and grouped counterparts (a benchmark, not a test).

Gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4) trains DG4* as a dense network whose
cross-group 1x1 weights fade out. The target: a gradual DG4* training step costs at most 1.15x the step of
D* (the same network with dense 1x1 convs), in every phase of the schedule. Measured side by side in one
process, all with ERFNet's decoder:

    D*                     block d, all 13 encoder blocks replaced ("starred")
    DG4* direct            block dgc, groups 4 (fixed grouping from scratch)
    DG4* gradual a=1       start of the decay (dense branch)
    DG4* gradual a=0.5     mid-decay (masked-weight branch)
    DG4* gradual a=0       fine-tuning (real grouped conv on the block-diagonal weights)
    DG4* converted         the gradual model once converted to nn.Conv2d(groups=4)

A step is forward + cross-entropy + backward + Adam step in train mode. After a warm-up, the models take
turns step by step over repeated rounds (the order rotating each round), so drifts in machine speed hit all
of them alike; each model's median step time is reported.

    python -m gradgroup.measure.step_bench [--iters N] [--hw 128 256] [--batch 4] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ..models import build_model, set_alpha

TARGET = 1.15
NUM_CLASSES = 19


def build_models() -> dict[str, torch.nn.Module]:
    """The benchmarked models, each from the same seed (identical layers start identical)."""
    def build(block: str, groups: int = 1, gradual: bool = False, alpha: float | None = None):
        torch.manual_seed(0)
        encoder = {"block": block, "groups": groups, "layers": "starred", "gradual": gradual}
        model = build_model(NUM_CLASSES, encoder, {"name": "erfnet"})
        if alpha is not None:
            set_alpha(model, alpha)
        return model

    return {
        "D*": build("d"),
        "DG4* direct": build("dgc", 4),
        "DG4* gradual a=1": build("dgc", 4, True, 1.0),
        "DG4* gradual a=0.5": build("dgc", 4, True, 0.5),
        "DG4* gradual a=0": build("dgc", 4, True, 0.0),
        # Converting a gradual model (gradgroup.grouping.convert) yields exactly DG4* direct's architecture,
        # nn.Conv2d(groups=4) in place of every gradual conv; step time does not depend on the weights, so
        # this row is built as such (measure/ sits below grouping/ and does not import it).
        "DG4* converted": build("dgc", 4),
    }


def make_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def bench(iters: int, hw: tuple[int, int], batch: int, warmup: int, device: str) -> dict[str, list[float]]:
    torch.manual_seed(1)
    x = torch.randn(batch, 3, *hw, device=device)
    y = torch.randint(0, NUM_CLASSES, (batch, *hw), device=device)
    steps = {name: make_step(model.to(device), x, y) for name, model in build_models().items()}
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for step in steps.values():
        for _ in range(warmup):
            step()
    sync()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(iters):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate who goes first
            start = time.perf_counter()
            steps[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=20, help="timed rounds (one step per model per round)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model first")
    parser.add_argument("--hw", type=int, nargs=2, default=(128, 256), metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {args.device}, torch.get_num_threads() = {torch.get_num_threads()}")
    print(f"input {args.batch}x3x{args.hw[0]}x{args.hw[1]}, {args.warmup} warm-up steps, {args.iters} interleaved "
          "rounds; step = forward + cross-entropy + backward + Adam, train mode; ERFNet decoder")
    times = bench(args.iters, tuple(args.hw), args.batch, args.warmup, args.device)

    medians = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    base = medians["D*"]
    print(f"\n| model | ms/step (median) | min | max | ratio to D* |\n|---|---:|---:|---:|---:|")
    for name, t in times.items():
        print(f"| {name} | {medians[name]:.1f} | {min(t) * 1e3:.1f} | {max(t) * 1e3:.1f} | "
              f"{medians[name] / base:.3f} |")
    worst_name = max((n for n in medians if "gradual" in n), key=medians.get)
    worst = medians[worst_name] / base
    verdict = "MET" if worst <= TARGET else "NOT MET"
    print(f"\ntarget: gradual DG4* step <= {TARGET:.2f}x D*: {verdict} (worst phase: {worst_name}, {worst:.3f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
