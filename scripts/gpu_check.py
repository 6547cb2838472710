#!/usr/bin/env python3
"""`make gpu-check`: a GPU node's check, unattended, in under 10 minutes on one GPU (issue 25, docs/gpu.md).

Steps, each a command with its own time limit, each recorded (command, exit status, seconds, checks, the
tail of its output) in one JSON report (--out, default gpu-check/report.json):
  doctor     gradgroup-doctor --require-gpu (torch/CUDA/cuDNN, devices, extras)
  jobs       a short paper-preset job per block family under AMP (bf16-mixed where the GPU has bf16, else
             16-mixed; generated data at 1024x512, a few batches): ERFNet, D*, DG4* direct, DG4* gradual (with
             the exact conversion: conversion_max_abs_diff <= 1e-5), the selective DG2 (Table 5), DG4* gradual
             with channels_last
  ddp        DG4* on one GPU under trainer=ddp (devices=1)
  bench      gradgroup-bench --device cuda at 1024x512 (eager, optimized, and onnxruntime when its CUDA
             provider is installed, [deploy-gpu])
  precision  the training-step benchmark on the GPU (fp32, bf16-mixed, 16-mixed, channels_last) at the paper
             preset's input (batch 6 x 512x1024): the GPU's training images/s
  loader     the real-layout loader on this node's CPU (gradgroup.cli.loader_bench: PNG decode + augmentation
             to 1024x512, 2048x1024 generated data): images/s per worker; `feeding` in the report sets it
             beside the GPU's images/s as the data.num_workers that keep the GPU fed
The report is rewritten after every step, so a check stopped from outside keeps what it did; --deadline-s
(default 540) bounds the whole check: a step gets at most the time left, and steps with under 20 s left are
recorded as skipped (verdict INCOMPLETE). Exit status 0 when every step passed. `--cpu-dry-run` runs the same plumbing on the CPU at the smoke preset
(the tests do); it has NOT run on a GPU yet.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
# The gradual DG4* jobs first: if the deadline cuts the check short, the exact conversion under AMP has run.
JOBS = {"dg4_gradual": ["experiment=table3/dg4", "grouping=gradual"],
        "dg4_gradual_channels_last": ["experiment=table3/dg4", "grouping=gradual", "compute.channels_last=true"],
        "erfnet": ["experiment=table3/erfnet"], "d_star": ["experiment=table3/d"], "dg4_direct": ["experiment=table3/dg4"],
        "dg2_selective": ["experiment=table5/dg2"]}


DEADLINE = [float("inf")]  # time.time() by which the whole check ends (--deadline-s)


def run(name: str, cmd: list[str], timeout: int, env: dict, cwd: Path) -> dict:
    left = DEADLINE[0] - time.time()
    if left < 20:
        print(f"gpu-check: {name}: skipped, {max(0, int(left))} s left of --deadline-s", flush=True)
        return {"name": name, "cmd": " ".join(cmd), "rc": None, "skipped": "out of time (--deadline-s)"}
    timeout = int(min(timeout, left))
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
        rc, out = p.returncode, (p.stdout + p.stderr)
    except subprocess.TimeoutExpired as e:
        rc, out = 124, f"timed out after {timeout} s\n{(e.stdout or b'')[-2000:]!r}"
    step = {"name": name, "cmd": " ".join(cmd), "rc": rc, "wall_s": round(time.time() - t0, 1), "tail": out[-3000:]}
    print(f"gpu-check: {name}: rc {rc} in {step['wall_s']} s", flush=True)
    return step


def job_checks(run_dir: Path, gradual: bool) -> dict:
    f = run_dir / "metrics.json"
    if not f.is_file():
        return {"ok": False, "why": "no metrics.json"}
    m = json.loads(f.read_text())
    checks = {"status": m.get("status"), "miou": m.get("miou"), "wall_s": m.get("wall_s"), "epochs": m.get("epochs")}
    ok = m.get("status") == "ok"
    if gradual:
        checks["conversion_max_abs_diff"] = d = m.get("conversion_max_abs_diff")
        ok = ok and d is not None and d <= 1e-5
    return {**checks, "ok": ok}


def feeding(precision: Path, loader: Path) -> dict | None:
    """The GPU's training images/s per (model, setting) beside the loader's images/s per worker, and the
    data.num_workers that keep up (decode + augment, as for real Cityscapes)."""
    if not (precision.is_file() and loader.is_file()):
        return None
    per_worker = json.loads(loader.read_text())["rows"]["decode + augment"]["images_per_s_per_worker"]
    rows = [{"model": r["model"], "setting": r["setting"], "gpu_images_per_s": round(r["images_per_s"], 1),
             "num_workers_needed": max(1, math.ceil(r["images_per_s"] / per_worker))}
            for r in json.loads(precision.read_text())["rows"]]
    return {"loader_images_per_s_per_worker": round(per_worker, 2), "cpu_count": os.cpu_count(), "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="gpu-check/report.json")
    ap.add_argument("--cpu-dry-run", action="store_true", help="the same steps on the CPU at the smoke preset")
    ap.add_argument("--batches", type=int, default=20, help="training batches per job (paper preset)")
    ap.add_argument("--deadline-s", type=float, default=540, help="the whole check's time limit (default 540)")
    args = ap.parse_args(argv)
    DEADLINE[0] = time.time() + args.deadline_s
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gradgroup-gpu-check-"))
    env = {**os.environ, "WANDB_MODE": "disabled", "GRADGROUP_DATA_CACHE": os.environ.get("GRADGROUP_DATA_CACHE",
                                                                                          str(work / "cache"))}
    bin_dir = Path(PY).parent
    tool = lambda name: [str(bin_dir / name)] if (bin_dir / name).exists() else [PY, "-m", f"gradgroup.cli.{name.split('-')[1]}"]  # noqa: E731
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S %z"), "host": platform.node(), "python": platform.python_version(),
              "mode": "cpu-dry-run" if args.cpu_dry_run else "gpu", "steps": []}
    steps = report["steps"]

    def add(step: dict) -> dict:
        steps.append(step)
        out.write_text(json.dumps(report, indent=1))
        return step

    doctor = run("doctor", tool("gradgroup-doctor") + ["--json"] + ([] if args.cpu_dry_run else ["--require-gpu"]),
                 120, env, work)
    add(doctor)
    try:
        report["doctor"] = json.loads(doctor["tail"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        report["doctor"] = None
    bf16 = bool(report["doctor"] and report["doctor"].get("torch", {}).get("bf16_cuda"))
    if doctor["rc"] != 0 and not args.cpu_dry_run:
        report["verdict"] = "no usable GPU: see the doctor step"
        out.write_text(json.dumps(report, indent=1))
        print(f"gpu-check: {report['verdict']} -> {out}")
        return 1
    precision = "bf16-mixed" if (bf16 or args.cpu_dry_run) else "16-mixed"
    if args.cpu_dry_run:
        scale = ["preset=smoke", "trainer.accelerator=cpu"]
    else:
        scale = ["preset=paper", "trainer.max_epochs=1", f"trainer.limit_train_batches={args.batches}",
                 "trainer.limit_val_batches=2", "data.synthetic.num_train=48", "data.synthetic.num_val=12",
                 "data.synthetic.num_test=6", "data.num_workers=4", "trainer.accelerator=gpu"]
    train = tool("gradgroup-train")
    for name, overrides in JOBS.items():
        run_dir = work / "jobs" / name
        step = run(f"job {name}", train + scale + overrides + [f"trainer.precision={precision}",
                                                             f"hydra.run.dir={run_dir}"], 300, env, work)
        if not step.get("skipped"):
            step["checks"] = job_checks(run_dir, "grouping=gradual" in overrides)
        add(step)
    ddp_dir = work / "jobs" / "ddp"
    ddp = ["trainer=ddp", "trainer.devices=1"] + (["trainer.accelerator=cpu"] if args.cpu_dry_run else [])
    step = run("ddp 1 device", train + scale + ["experiment=table3/dg4", f"trainer.precision={precision}",
                                                f"hydra.run.dir={ddp_dir}"] + ddp, 300, env, work)
    if not step.get("skipped"):
        step["checks"] = job_checks(ddp_dir, False)
    add(step)
    device = "cpu:0" if args.cpu_dry_run else "cuda"
    size = "64x32" if args.cpu_dry_run else "1024x512"
    bench = tool("gradgroup-bench") + ["table3/d", "table3/dg4", "table3/dg4s", "--device", device, "--size", size,
                                       "--rounds", "3" if args.cpu_dry_run else "20", "--json",
                                       "--out", str(work / "latency-device.json")]
    step = run("bench", bench + ["--backend", "eager", "--backend", "optimized"], 300, env, work)
    if (work / "latency-device.json").is_file():
        step["result"] = json.loads((work / "latency-device.json").read_text())
    add(step)
    ort = run("bench onnxruntime", bench + ["--backend", "onnxruntime"], 300, env, work)
    ort["optional"] = "needs [deploy-gpu]: onnxruntime's CUDA provider"
    add(ort)
    hw = ["--hw", "64", "128", "--batch", "2", "--iters", "2"] if args.cpu_dry_run else ["--hw", "512", "1024", "--batch", "6", "--iters", "5"]
    add(run("precision", [PY, "-m", "gradgroup.measure.precision_bench", "--device", device.split(":")[0],
                          "--json-out", str(work / "precision.json")] + hw, 300, env, work))
    loader = ["--images", "2", "--rounds", "1", "--preset", "smoke", "--size", "256x128"] if args.cpu_dry_run \
        else ["--images", "4", "--rounds", "2"]
    add(run("loader", [PY, "-m", "gradgroup.cli.loader_bench", "--json-out", str(work / "loader.json")] + loader,
            240, env, work))
    report["feeding"] = feeding(work / "precision.json", work / "loader.json")
    if report["feeding"]:
        f = report["feeding"]
        print(f"gpu-check: the loader makes {f['loader_images_per_s_per_worker']} images/s per worker on this CPU "
              f"({f['cpu_count']} cores); data.num_workers to keep the GPU fed: "
              + ", ".join(f"{r['model']} {r['setting']} {r['gpu_images_per_s']} images/s -> {r['num_workers_needed']}"
                          for r in f["rows"]), flush=True)
    skipped = [s["name"] for s in steps if s.get("skipped")]
    failed = [s["name"] for s in steps if not s.get("optional") and not s.get("skipped")
              and (s["rc"] != 0 or not s.get("checks", {}).get("ok", True))]
    report["verdict"] = (f"FAIL: {', '.join(failed)}" if failed else
                         f"INCOMPLETE: out of time before {', '.join(skipped)}" if skipped else "PASS")
    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    out.write_text(json.dumps(report, indent=1))
    print(f"gpu-check: {report['verdict']} -> {out}")
    return 0 if report["verdict"] == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
