"""The backends of `deploy.runtimes` on a torch device other than the CPU default (`gradgroup-bench
--device cuda`): the model and its input live on the device, ONNX Runtime runs its CUDA provider.

- ``eager``, ``optimized`` (the exact rewrites), ``compile`` (torch.compile of the optimized model): the
  model moved to the device; the input made there once per size, so a run is the forward pass alone.
- ``onnxruntime``: the same exported graph with ONNX Runtime's CUDAExecutionProvider, which the
  `[deploy-gpu]` extra (onnxruntime-gpu) brings; input and output bound to device memory (IOBinding), so
  host copies are not timed. int8 stays a CPU backend (its QDQ graph targets the CPU provider).
On device "cpu" every path runs as well (the tests check them here); none has run on a GPU yet
(docs/gpu.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .rewrites import rewrite_for_inference
from .runtimes import BackendUnavailable, check_backend, exported_onnx, ort

DEVICE_BACKENDS = ("eager", "optimized", "compile", "onnxruntime")
PROVIDER = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}


def check_device_backend(backend: str, device: str) -> None:
    """ConfigError for a backend that has no device form, BackendUnavailable when its package is missing."""
    check_backend(backend)
    if backend not in DEVICE_BACKENDS:
        raise ConfigError(f"--backend {backend} runs on the CPU only; on --device {device} choose from "
                          f"{', '.join(DEVICE_BACKENDS)}")
    kind = torch.device(device).type
    if backend == "onnxruntime" and PROVIDER[kind] not in ort.get_available_providers():
        raise BackendUnavailable(f"--backend onnxruntime on --device {device} needs ONNX Runtime's "
                                 f"{PROVIDER[kind]}, which the [deploy-gpu] extra brings: "
                                 "pip uninstall -y onnxruntime && pip install 'gradgroup[deploy-gpu]'")


def _input(w: int, h: int, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0)).to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _session(path: Path, device: torch.device):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    provider = PROVIDER[device.type]
    options = [{"device_id": device.index or 0, "cudnn_conv_algo_search": "EXHAUSTIVE"}] if device.type == "cuda" else None
    return ort.InferenceSession(str(path), opts, providers=[provider], provider_options=options)


def _onnx(model: nn.Module, labels: bool, workdir: Path, name: str, device: torch.device) -> Callable:
    session = _session(exported_onnx(model, labels, workdir, name), device)
    out_name = session.get_outputs()[0].name

    def prepare(w: int, h: int):
        x = _input(w, h, device)
        binding = session.io_binding()
        binding.bind_input("image", device.type, device.index or 0, np.float32, list(x.shape), x.data_ptr())
        binding.bind_output(out_name, device.type, device.index or 0)
        return lambda: (session.run_with_iobinding(binding), x)  # x: its device memory stays bound
    return prepare


def prepare_device_backend(model: nn.Module, backend: str, device: str, name: str = "model",
                           output: str = "labels", workdir=None, channels_last: bool = False) -> Callable:
    """`prepare(W, H) -> run()` of an eval-mode deployable `model` on `backend` on `device`."""
    check_device_backend(backend, device)
    dev, labels = torch.device(device), output == "labels"
    model = model.eval()
    if backend == "onnxruntime":
        return _onnx(model, labels, Path(workdir), name, dev)
    if backend == "eager":
        net, channels_last = model.to(dev), False
    else:
        net = rewrite_for_inference(model, labels=labels, channels_last=channels_last).to(dev)
        net = torch.compile(net, dynamic=False) if backend == "compile" else net
    argmax = labels and backend == "eager"  # the rewritten forms end in the class map themselves

    def prepare(w: int, h: int):
        x = _input(w, h, dev, channels_last)
        return (lambda: net(x).argmax(1)) if argmax else (lambda: net(x))
    return prepare
