"""An exported ONNX model as a predictor, run by onnxruntime: the deployment path of the paper's networks
(docs/paper.md section 4: the converted grouped model is what is deployed).

The contract is gradgroup-export's: one input "image" (float32 NCHW, normalized like training), dynamic
batch, one output "logits" [N,19,H,W]. A separate module so that torch-only use never imports onnxruntime.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ..errors import ConfigError


class OnnxPredictor:
    """An exported model run by onnxruntime (CUDA provider first when available)."""

    backend = "onnxruntime"

    def __init__(self, path: Path, device: str = "cpu", threads: int | None = None):
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types for a bad file
            raise ConfigError(f"SOURCE: {path} cannot be loaded by onnxruntime ({str(err).splitlines()[0]}); "
                              "export it with gradgroup-export.") from None
        names = [i.name for i in self.session.get_inputs()]
        if names != ["image"] or "logits" not in [o.name for o in self.session.get_outputs()]:
            raise ConfigError(f"SOURCE: {path} has inputs {names}; expected one input 'image' (float32 NCHW, "
                              "normalized) and an output 'logits', as gradgroup-export writes.")
        shape = self.session.get_inputs()[0].shape
        # A static H, W in the graph is the size the model must be fed; dynamic axes are names (str).
        self.input_hw = tuple(shape[2:]) if all(isinstance(s, int) for s in shape[2:]) else None

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        out = self.session.run(["logits"], {"image": np.ascontiguousarray(images.numpy(), dtype=np.float32)})[0]
        return torch.from_numpy(out)
