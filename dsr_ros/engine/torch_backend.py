"""Plain PyTorch back end: CPU or CUDA, fp32 or fp16, under inference_mode.

Optional speed-ups, each measured in BENCHMARKS.md: channels-last memory format (on by
default on CPU, where it was 1.5–3× faster than contiguous NCHW here), `torch.compile` (off by
default: a further 0.9–2× on CPU in steady state, but 10–30 s of compiling per input size at
start-up and a C++ compiler at run time), and on CUDA reused device/pinned host buffers per
input shape plus optional CUDA graph replay (unmeasured here: no GPU in this environment).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

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


@dataclass
class _CudaBuffers:
    """Per-shape reusable memory: pinned host staging, device input, and (with graphs) a captured graph."""

    host_in: torch.Tensor
    host_out: torch.Tensor
    device_in: torch.Tensor
    graph: torch.cuda.CUDAGraph | None = None
    device_out: torch.Tensor | None = None


class TorchEngine(InferenceEngine):
    """Eager (or torch.compile'd) PyTorch inference; fp16 only on CUDA (CPU half convolutions are slow)."""

    name = "torch"

    def __init__(
        self,
        model: DSRNet,
        device: str = "cpu",
        precision: str = "fp32",
        channels_last: bool | None = None,
        compile: bool = False,
        cuda_graphs: bool = False,
    ) -> None:
        super().__init__(model.scale)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.torch_device = resolve_device(device)
        on_cuda = self.torch_device.type == "cuda"
        if precision == "fp16" and not on_cuda:
            raise ValueError("precision 'fp16' needs a CUDA device; use 'fp32' on CPU")
        if cuda_graphs and not on_cuda:
            raise ValueError("cuda_graphs needs a CUDA device")
        self.device = str(self.torch_device)
        self.precision = precision
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.channels_last = (not on_cuda) if channels_last is None else channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.cuda_graphs = cuda_graphs
        self.compiled = compile
        # A copy: converting device, dtype or memory format in place would change the caller's model.
        self.model = copy.deepcopy(model).eval().to(self.torch_device, self.dtype, memory_format=self.memory_format)
        self.forward = torch.compile(self.model, dynamic=False) if compile else self.model
        self._buffers: dict[tuple[int, ...], _CudaBuffers] = {}

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.torch_device.type == "cuda":
            return self._infer_cuda(batch)
        x = torch.from_numpy(batch).contiguous(memory_format=self.memory_format)
        return self.forward(x).contiguous().numpy()

    def _infer_cuda(self, batch: np.ndarray) -> np.ndarray:
        """One pinned host→device copy, the network (or its graph replay), one device→host copy."""
        buffers = self._buffers.get(batch.shape) or self._allocate(batch.shape)
        buffers.host_in.numpy()[...] = batch
        buffers.device_in.copy_(buffers.host_in, non_blocking=True)
        if buffers.graph is not None:
            buffers.graph.replay()
            out = buffers.device_out
        else:
            out = self._run(buffers.device_in)
        buffers.host_out.copy_(out, non_blocking=True)
        torch.cuda.current_stream(self.torch_device).synchronize()
        return buffers.host_out.numpy().copy()  # a copy: the pinned buffer is reused by the next frame

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x.to(self.dtype).contiguous(memory_format=self.memory_format)).float()

    def _allocate(self, shape: tuple[int, ...]) -> _CudaBuffers:
        n, _, h, w = shape  # one depth channel out, whatever comes in (the validity mask beside depth)
        out_shape = (n, 1, h * self.scale, w * self.scale)
        buffers = _CudaBuffers(
            host_in=torch.empty(shape, dtype=torch.float32, pin_memory=True),
            host_out=torch.empty(out_shape, dtype=torch.float32, pin_memory=True),
            device_in=torch.zeros(shape, dtype=torch.float32, device=self.torch_device),
        )
        if self.cuda_graphs:
            side = torch.cuda.Stream(self.torch_device)
            side.wait_stream(torch.cuda.current_stream(self.torch_device))
            with torch.cuda.stream(side):
                for _ in range(3):  # warm up on a side stream, as graph capture requires
                    self._run(buffers.device_in)
            torch.cuda.current_stream(self.torch_device).wait_stream(side)
            buffers.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(buffers.graph):
                buffers.device_out = self._run(buffers.device_in)
        self._buffers[shape] = buffers
        return buffers
