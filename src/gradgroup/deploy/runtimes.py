"""The backends a deployable model runs on, each a `prepare(W, H) -> run()` for `measure.latency`.

docs/paper.md section 5: the paper's runtime claims are FLOPs ratios; what a model costs depends on how
it is run, so `gradgroup-bench --backend` times each of these side by side:
- ``eager``: the model as trained, in eager PyTorch (NCHW, BatchNorm and ReLU as separate passes);
- ``optimized``: eager PyTorch after the exact rewrites of `deploy.rewrites` (BN folded, sub-pixel
  output), NCHW or channels-last, whichever `channels_last` asks;
- ``compile``: the optimized model through `torch.compile` (needs a C++ compiler);
- ``onnxruntime``: the optimized model exported to ONNX, run by ONNX Runtime's CPU provider with all graph
  optimisations (its NCHWc layout transformer fuses conv + bias + ReLU + residual add);
- ``onnxruntime-int8``: the same graph statically quantized to int8 (QDQ, per-channel weights).

Every backend ends in the same output: ``labels`` (the class map, what a deployed segmenter returns:
argmax over classes, for eager after the logits) or ``logits``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError, missing_modules
from .export import OPSET, export_onnx, quantize_int8
from .rewrites import rewrite_for_inference

try:  # the [deploy] extra: only the onnxruntime backends need it (check_backend says so)
    import onnxruntime as ort
except ImportError:
    ort = None

BACKENDS = ("eager", "optimized", "compile", "onnxruntime", "onnxruntime-int8")
FP32_BACKENDS = BACKENDS[:4]
OUTPUTS = ("labels", "logits")


class BackendUnavailable(ConfigError):
    """An optional backend that cannot run here (its package or compiler is missing)."""


def check_backend(name: str) -> None:
    """Raise ConfigError for an unknown backend, BackendUnavailable for one that cannot run here."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {name!r} is unknown; expected one of {', '.join(BACKENDS)}")
    if name == "compile" and not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise BackendUnavailable("--backend compile needs a C++ compiler for torch.compile's CPU code "
                                 "(none of c++, g++, clang++ on PATH); install one or drop this backend")
    if name.startswith("onnxruntime"):
        missing = missing_modules("deploy")
        if missing:
            raise BackendUnavailable(f"--backend {name} needs the [deploy] extra ({', '.join(missing)} not "
                                     "installed): pip install 'gradgroup[deploy]' (make install does)")


def _input(w: int, h: int, channels_last: bool = False) -> torch.Tensor:
    x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def ort_session(path, threads: int | None):
    """An ONNX Runtime CPU session with every graph optimisation and `threads` intra-op threads."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1  # one image through a chain of layers: nothing runs in parallel
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _eager(model: nn.Module, labels: bool) -> Callable:
    def prepare(w: int, h: int):
        x = _input(w, h)
        return (lambda: model(x).argmax(1)) if labels else (lambda: model(x))
    return prepare


def _torch(module: nn.Module, channels_last: bool) -> Callable:
    def prepare(w: int, h: int):
        x = _input(w, h, channels_last)
        return lambda: module(x)
    return prepare


def architecture_key(module: nn.Module, output: str) -> str:
    """What an exported graph depends on besides its weights (which latency does not depend on): the
    module tree, every tensor's shape, the output, the opset and the torch build."""
    h = hashlib.sha256(f"{module!r}|{output}|{OPSET}|{torch.__version__}".encode())
    for k, v in module.state_dict().items():
        h.update(f"{k}:{tuple(v.shape)}:{v.dtype};".encode())
    return h.hexdigest()[:12]


def exported_onnx(model: nn.Module, labels: bool, workdir: Path, name: str) -> Path:
    """`<workdir>/<name>-<architecture key>.onnx`, exported once: a file already there for the same
    architecture (under any experiment's name, e.g. from an earlier `gradgroup-bench --prepare-only` into
    the same dir) is reused.
    Written to a temporary name and renamed, so a reader never sees half a file."""
    module, output = rewrite_for_inference(model, labels=labels), "labels" if labels else "logits"
    key = architecture_key(module, output)
    same = sorted(Path(workdir).glob(f"*-{key}.onnx"))  # another experiment of the same architecture
    path = same[0] if same else Path(workdir) / f"{name.replace('/', '_')}-{key}.onnx"
    if not path.exists():
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.onnx")
        try:
            export_onnx(module, tmp, output=output)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def _onnx(model: nn.Module, labels: bool, threads, workdir: Path, int8: bool, name: str) -> Callable:
    path = exported_onnx(model, labels, workdir, name)
    if int8:
        # Latency does not depend on the weights or on the calibration images: random ones will do here;
        # gradgroup-export --int8 calibrates on real train images and measures the mIoU it costs.
        calib = [torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(i)) for i in range(4)]
        path = quantize_int8(path, path.with_suffix(".int8.onnx"), calib)
    session = ort_session(path, threads)

    def prepare(w: int, h: int):
        feed = {"image": _input(w, h).numpy()}
        return lambda: session.run(None, feed)
    return prepare


def _check(backend: str, output: str) -> None:
    check_backend(backend)
    if output not in OUTPUTS:
        raise ConfigError(f"--output {output!r} is unknown; expected one of {OUTPUTS}")


def export_for_backend(model: nn.Module, backend: str, name: str, output: str, workdir) -> Path | None:
    """Only the file an ONNX backend will run, exported into `workdir` (`exported_onnx`); no session is
    created and nothing is timed (`gradgroup-bench --prepare-only` runs this while a sweep trains).
    None for backends that run the model in PyTorch; int8 quantizes when it is timed."""
    _check(backend, output)
    if not backend.startswith("onnxruntime"):
        return None
    return exported_onnx(model.eval(), output == "labels", Path(workdir), name)


def prepare_backend(model: nn.Module, backend: str, name: str = "model", output: str = "labels",
                    threads: int | None = None, workdir=None, channels_last: bool = False) -> Callable:
    """`prepare(W, H) -> run()` of an eval-mode deployable `model` on `backend` (see module doc).

    ONNX backends write their model files under `workdir` (default: a temporary dir kept for the
    process); `threads` fixes ONNX Runtime's intra-op threads (torch's are set by the caller).
    """
    _check(backend, output)
    labels = output == "labels"
    model = model.eval()
    if backend == "eager":
        return _eager(model, labels)
    if backend.startswith("onnxruntime"):
        workdir = Path(workdir or tempfile.mkdtemp(prefix="gradgroup-onnx-"))
        return _onnx(model, labels, threads, workdir, backend.endswith("int8"), name)
    fast = rewrite_for_inference(model, labels=labels, channels_last=channels_last)
    if backend == "compile":
        fast = torch.compile(fast, dynamic=False)
    return _torch(fast, channels_last)
