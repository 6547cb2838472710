"""Images per second that one data-loader worker delivers at a preset's training input (a benchmark, not a test).

A GPU trains the paper preset (1024x512, batch 6) far faster than one CPU core decodes and augments its
images, so `data.num_workers` must cover the gap. This times, in one process (what one DataLoader worker
does), the train split's samples exactly as the training loader makes them: the preset's `data` node built
as a run builds it (`preset=paper` by default: train_hw = input_hw = 512x1024, the ERFNet augmentation,
normalisation), over generated data in the real Cityscapes layout at Cityscapes' full 2048x1024. Two rows:

  decode + augment   PNG decode of image and label, labelId -> trainId, resize, flip, shift, to tensors:
                     what a worker does for real Cityscapes (2975 pairs, ~25 GB decoded, never kept)
  augment only       the same with the decoded pairs kept in memory (data/decoded.py keeps small splits)

    python -m gradgroup.cli.loader_bench [--images N] [--rounds R] [--preset paper] [--size 2048x1024]
                                         [--json-out FILE] [overrides ...]
    make bench-loader

Workers needed for a GPU that trains G images/s: ceil(G / images-per-second-per-worker), on cores of the
speed measured (scripts/gpu_check.py prints both). Generating the full-size data takes a while the first
time; it is cached like every generated set ($GRADGROUP_DATA_CACHE).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import cv2
import torch

from ..config.build import build
from ..config.compose import compose_config
from ..data.decoded import DecodedPairs
from ..measure.latency import cpu_description, parse_size



def time_samples(dataset, rounds: int) -> dict[str, list[float]]:
    """CPU and wall seconds per sample, one of each per (round, image), each sample fetched as the train
    loader fetches it ((index, augmentation seed) from the sampler), round r seeding image i with r * len + i.
    CPU time is the per-core cost whatever else the host runs; wall time equals it on an idle core."""
    out: dict[str, list[float]] = {"cpu": [], "wall": []}
    for r in range(rounds):
        for i in range(len(dataset)):
            c0, t0 = time.process_time(), time.perf_counter()
            image, target = dataset[(i, r * len(dataset) + i)]
            out["cpu"].append(time.process_time() - c0)
            out["wall"].append(time.perf_counter() - t0)
            assert image.dtype == torch.float32 and target.dtype == torch.long
    return out


def measure(images: int, rounds: int, preset: str, stored_hw: tuple[int, int], overrides: list[str]) -> dict:
    """The two rows (docstring above) for the composed config's train split, plus what was timed."""
    cfg = compose_config([f"preset={preset}", f"data.synthetic.num_train={images}", "data.synthetic.num_val=1",
                          "data.synthetic.num_test=1", f"data.synthetic.height={stored_hw[0]}",
                          f"data.synthetic.width={stored_hw[1]}", *overrides])
    dm = build(cfg.data, progress=False)
    dm.setup("fit")
    ds = dm.datasets["train"]
    rows = {}
    ds.decoded = DecodedPairs(ds.pairs, keep_bytes=0)  # every read decodes, as with real Cityscapes
    rows["decode + augment"] = time_samples(ds, rounds)
    ds.decoded = DecodedPairs(ds.pairs, keep_bytes=1 << 62)
    time_samples(ds, 1)  # decode once, kept
    rows["augment only"] = time_samples(ds, rounds)
    with_size = ds.decoded.read(0)[0].shape
    return {"preset": str(cfg.preset_name), "stored_hw": list(with_size[:2]), "train_hw": list(cfg.data.train_hw),
            "batch_size": int(cfg.data.batch_size), "samples": len(ds) * rounds,
            "cpu": cpu_description(), "torch_threads": torch.get_num_threads(),
            "rows": {k: {"cpu_ms": 1e3 * statistics.median(v["cpu"]), "wall_ms": 1e3 * statistics.median(v["wall"]),
                         "images_per_s_per_worker": 1 / statistics.median(v["cpu"])} for k, v in rows.items()}}


def markdown(result: dict) -> str:
    rows = ["| loader work per image | CPU ms (median) | wall ms (median) | images/s per worker (from CPU ms) |",
            "|---|---:|---:|---:|"]
    rows += [f"| {k} | {v['cpu_ms']:.1f} | {v['wall_ms']:.1f} | {v['images_per_s_per_worker']:.2f} |"
             for k, v in result["rows"].items()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=8, help="generated training pairs at 2048x1024 (default 8)")
    p.add_argument("--rounds", type=int, default=3, help="passes over them (default 3)")
    p.add_argument("--preset", default="paper", help="whose data node (train size, augmentation) is timed")
    p.add_argument("--size", default="2048x1024", help="WxH of the generated images (default: Cityscapes')")
    p.add_argument("--json-out", help="also write the result as JSON to this file")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. data.augment.jitter.enabled=true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # a DataLoader worker's torch runs on one thread
    cv2.setNumThreads(1)      # and so does OpenCV here (albumentations' resize): the cost of one core
    w, h = parse_size(args.size)
    result = measure(args.images, args.rounds, args.preset, (h, w), args.overrides)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    c = result["cpu"]
    print(f"loader, one worker (1 thread): preset {result['preset']}, stored "
          f"{result['stored_hw'][1]}x{result['stored_hw'][0]} -> train {result['train_hw'][1]}x{result['train_hw'][0]}, "
          f"{result['samples']} samples; CPU {c['cpu']} ({c['simd']})")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
