"""`gradgroup-doctor`: what this install can do, and one verdict line.

Prints torch's build (CUDA, cuDNN) and the devices it sees, the CPU, the extras installed, where the
configs come from (a checkout's conf/ or the copy packaged with gradgroup) and whether they compose, and
where data comes from; the last line is the verdict. Exit 0 when training can run here (`--require-gpu`:
on a CUDA device), 1 otherwise. `make doctor` runs it in the project's venv; `--json` prints one object.
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import sys
from typing import Sequence

PROG = "gradgroup-doctor"
CORE = ("torch", "pytorch_lightning", "hydra", "omegaconf", "albumentations", "torchmetrics", "cv2")
EXTRA_DISTS = {"deploy": ("onnxruntime", "onnxruntime-gpu", "onnx", "onnxscript"), "search": ("optuna",),
               "cluster": ("hydra-submitit-launcher",), "cityscapes": ("cityscapesScripts",)}


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.add_argument("--require-gpu", action="store_true", help="exit 1 unless torch can train on a CUDA device")
    return p.parse_args(argv)


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _core() -> dict:
    missing = []
    for name in CORE:
        try:
            __import__(name)
        except Exception as e:  # an import that fails for any reason is what the doctor reports
            missing.append(f"{name} ({type(e).__name__}: {e})")
    albu = _version("albumentations") or "0"
    if int(albu.split(".")[0]) < 2:
        missing.append(f"albumentations>=2.0 (found {albu}; data/transforms.py uses the 2.x API)")
    return {"gradgroup": _version("gradgroup"), "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}", "problems": missing}


def _extras() -> dict:
    from ..errors import EXTRAS, missing_modules

    out = {}
    for extra in EXTRAS:
        versions = {d: v for d in EXTRA_DISTS[extra] if (v := _version(d))}
        out[extra] = {"installed": not missing_modules(extra), "missing": missing_modules(extra), "versions": versions}
    if out["deploy"]["installed"]:
        import onnxruntime

        out["deploy"]["providers"] = onnxruntime.get_available_providers()
    return out


def _configs() -> dict:
    from ..config.compose import CONF_ORIGIN, compose_config, config_source

    try:
        cfg = compose_config(["preset=smoke", "experiment=table3/dg4"])
        ok, problem = cfg.preset_name == "smoke", None
    except Exception as e:  # a config that does not compose is the finding, not a crash
        ok, problem = False, f"{type(e).__name__}: {e}"
    return {"origin": CONF_ORIGIN, "source": config_source(), "composes": ok, "problem": problem}


def _data() -> dict:
    from ..data.synthetic.cache import CACHE_ENV, default_cache_dir

    cache = default_cache_dir()
    sets = sorted(p.name for p in cache.iterdir() if p.is_dir()) if cache.is_dir() else []
    return {"default_root": None, "synthetic_cache": str(cache), "cache_from": CACHE_ENV if os.environ.get(CACHE_ENV)
            else "per-user cache dir", "generated_sets": len(sets),
            "cityscapes_env": os.environ.get("CITYSCAPES_DATASET")}


def verdict(report: dict, require_gpu: bool) -> tuple[bool, str]:
    problems = list(report["core"]["problems"])
    if not report["configs"]["composes"]:
        problems.append(f"the configs do not compose ({report['configs']['problem']})")
    t = report.get("torch") or {}
    if problems:
        return False, "NOT READY: " + "; ".join(problems)
    if t.get("cuda_available"):
        names = ", ".join(f"cuda:{d['index']} {d['name']}" for d in t["devices"])
        return True, f"READY to train on GPU ({names}; precision bf16-mixed {'yes' if t['bf16_cuda'] else 'no: use 16-mixed'})"
    if require_gpu:
        return False, f"NOT READY for GPU training: {t.get('cuda_problem')}"
    return True, f"READY to train on CPU only ({t.get('cuda_problem')})"


def lines(r: dict) -> list[str]:
    t, m, c, d = r["torch"], r["machine"], r["configs"], r["data"]
    devs = "; ".join(f"cuda:{x['index']} {x['name']} ({x['memory_gib']} GiB, sm {x['capability']})"
                     for x in t["devices"]) or f"none ({t['cuda_problem']})"
    ext = ", ".join(f"[{k}] " + ("yes " + " ".join(f"{n} {v}" for n, v in e["versions"].items()) if e["installed"]
                                  else f"no (pip install 'gradgroup[{k}]')") for k, e in r["extras"].items())
    providers = r["extras"]["deploy"].get("providers")
    return [f"gradgroup {r['core']['gradgroup']} on Python {r['core']['python']}, {r['core']['platform']}",
            f"torch {t['torch']}: CUDA build {t['cuda_build'] or 'none'}, cuDNN {t['cudnn'] or 'none'}",
            f"CUDA devices: {devs}",
            f"CPU: {m['cpu']} ({m['simd']}), {m['cpu_count']} cores, torch threads {t['cpu_threads']}",
            f"extras: {ext}" + (f"; ONNX Runtime providers: {', '.join(providers)}" if providers else ""),
            f"configs: {c['source']}; compose: {'composes' if c['composes'] else 'FAILS: ' + str(c['problem'])}",
            f"data: data.root null -> generated city in {d['synthetic_cache']} ({d['cache_from']}, "
            f"{d['generated_sets']} set(s) there); real Cityscapes: data.root=/path/to/cityscapes"
            + (f" (CITYSCAPES_DATASET={d['cityscapes_env']})" if d["cityscapes_env"] else ""),
            f"verdict: {r['verdict']}"]


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = {"core": _core()}
    if not any(p.startswith("torch ") for p in report["core"]["problems"]):
        from ..measure.device import torch_report
        from ..measure.latency import cpu_description

        report |= {"torch": torch_report(), "machine": cpu_description()}
    report |= {"extras": _extras(), "configs": _configs(), "data": _data()}
    ok, report["verdict"] = verdict(report, args.require_gpu)
    if "torch" not in report:
        print(f"verdict: {report['verdict']}")
    else:
        print(json.dumps(report) if args.json else "\n".join(lines(report)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
