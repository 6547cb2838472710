"""What torch can run on here: its build (CUDA, cuDNN), the devices it sees, and timers per device.

`gradgroup-doctor` prints `torch_report()`; `gradgroup-bench --device cuda` and scripts/gpu_check.py time
with `cuda_timer` (CUDA events on the current stream after a synchronize, so a figure is the device's time
for the work, not the time to queue it). Nothing here has run on a GPU yet (docs/gpu.md): on a CPU-only
host the CUDA paths raise `NoCuda` with the reason.
"""
from __future__ import annotations

import shutil
import subprocess
from typing import Callable

import torch

from ..errors import ConfigError


class NoCuda(ConfigError):
    """A CUDA device was asked for where torch sees none; the message says why (CPU build, no driver)."""


def cuda_problem() -> str | None:
    """None when torch can use a CUDA device here, else one line saying why not and what to do."""
    if torch.cuda.is_available():
        return None
    gpu_visible = gpu_listed_by_driver()
    if torch.version.cuda is None:
        return ("this torch is a CPU build (torch.version.cuda is None)" + (
            "; nvidia-smi lists a GPU: install a CUDA build of torch (docs/gpu.md)" if gpu_visible else ""))
    return (f"torch is built with CUDA {torch.version.cuda} but sees no device"
            + ("" if gpu_visible else " (nvidia-smi lists none: no driver or no GPU on this host)"))


def gpu_listed_by_driver() -> bool:
    """Whether nvidia-smi (the driver's tool) lists a GPU, whatever torch sees."""
    if not shutil.which("nvidia-smi"):
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def require_cuda(what: str) -> torch.device:
    """torch.device('cuda') or NoCuda naming `what` and the reason."""
    problem = cuda_problem()
    if problem:
        raise NoCuda(f"{what} needs a CUDA device: {problem}. Use the CPU default, or run it on a GPU host.")
    return torch.device("cuda")


def torch_report() -> dict:
    """torch's version and build, cuDNN, and every CUDA device with its memory and bf16 support."""
    devices = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            devices.append({"index": i, "name": p.name, "memory_gib": round(p.total_memory / 2 ** 30, 1),
                            "capability": f"{p.major}.{p.minor}"})
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"torch": torch.__version__, "cuda_build": torch.version.cuda, "cudnn": cudnn,
            "cuda_available": torch.cuda.is_available(), "devices": devices,
            "bf16_cuda": bool(devices) and torch.cuda.is_bf16_supported(), "cpu_threads": torch.get_num_threads(),
            "cuda_problem": cuda_problem()}


def cuda_timer(fn: Callable[[], object]) -> Callable[[], float]:
    """A callable that runs `fn` once and returns its device time in milliseconds (CUDA events)."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def timed() -> float:
        torch.cuda.synchronize()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    return timed
