"""Plain PyTorch back end: CPU or CUDA, fp32 or fp16, under inference_mode."""
from __future__ import annotations

import numpy as np
import torch

from dsr_ros.engine.base import EngineUnavailable, InferenceEngine
from dsr_ros.net import DSRNet

PRECISIONS = ("fp32", "fp16")


def resolve_device(device: str) -> torch.device:
    """A torch device from a string, failing clearly when CUDA is asked for but absent."""
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise EngineUnavailable(f"device {device!r} requested but torch {torch.__version__} sees no CUDA GPU")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return resolved


class TorchEngine(InferenceEngine):
    """Eager PyTorch inference; fp16 only on CUDA (CPU half convolutions are slow)."""

    name = "torch"

    def __init__(self, model: DSRNet, device: str = "cpu", precision: str = "fp32") -> None:
        super().__init__(model.scale)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.torch_device = resolve_device(device)
        if precision == "fp16" and self.torch_device.type != "cuda":
            raise ValueError("precision 'fp16' needs a CUDA device; use 'fp32' on CPU")
        self.device = str(self.torch_device)
        self.precision = precision
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.model = model.eval().to(self.torch_device, self.dtype)

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.torch_device, self.dtype)
        return self.model(x).float().cpu().numpy()
