"""Inference back ends behind one interface, chosen by name (`auto` picks the best available).

`auto` on a CUDA device tries TensorRT, then PyTorch on the GPU, then the best CPU back end;
TensorRT engines are prepared in the background while PyTorch serves (engine/background.py);
on CPU it uses the back end measured fastest here (see BENCHMARKS.md). Every fallback logs
one line on the `dsr_ros` logger saying what was missing. An explicitly named back end never
falls back: it fails with that message instead.
"""
from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dsr_ros.engine.base import EngineUnavailable, InferenceEngine

if TYPE_CHECKING:  # torch loads only when an engine is built: ROS parameters import BACKENDS without it
    from dsr_ros.net import DSRNet

log = logging.getLogger("dsr_ros")

BACKENDS = ("auto", "torch", "tensorrt", "onnxruntime")
#: Devices every front end (node parameter, `dsr` option) accepts, checked by `is_device` before any engine is built.
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
DEVICES = "'auto', 'cpu', 'cuda' or 'cuda:N'"
#: CPU back ends per scale, fastest first as measured in BENCHMARKS.md: at ×2/×4 torch (channels-last) beat
#: onnxruntime 1.0–1.7×; at ×8 onnxruntime won 1.0–1.4× on all but the smallest input (stride-8 transposed convs).
#: ×16 ships as two ×4 stages (net/cascade.py), where torch won 1.6× (311 against 505 ms at 40x30).
CPU_PREFERENCE: dict[int, tuple[str, ...]] = {2: ("torch", "onnxruntime"), 4: ("torch", "onnxruntime"),
                                             8: ("onnxruntime", "torch"), 16: ("torch", "onnxruntime")}


@dataclass(frozen=True)
class _Backend:
    """How to build one back end, and which `create_engine` options it understands."""

    factory: Callable[..., InferenceEngine]
    options: frozenset[str]


def _torch(model: DSRNet, device: str, precision: str, **options: object) -> InferenceEngine:
    from dsr_ros.engine.torch_backend import TorchEngine

    return TorchEngine(model, device=device, precision=precision, **options)


def _tensorrt(model: DSRNet, device: str, precision: str, **options: object) -> InferenceEngine:
    from dsr_ros.engine.tensorrt_backend import TensorRTEngine

    return TensorRTEngine(model, device=device, precision=precision, **options)


def _onnxruntime(model: DSRNet, device: str, precision: str, **options: object) -> InferenceEngine:
    from dsr_ros.engine.onnx_backend import OnnxRuntimeEngine

    return OnnxRuntimeEngine(model, device=device, precision=precision, **options)


REGISTRY: dict[str, _Backend] = {
    "torch": _Backend(_torch, frozenset({"channels_last", "compile", "cuda_graphs"})),
    "tensorrt": _Backend(_tensorrt, frozenset({"shapes", "cache_dir", "toolkit", "progress_interval_s"})),
    "onnxruntime": _Backend(_onnxruntime, frozenset({"onnx_path", "cache_dir", "threads", "opset"})),
}


def is_device(device: str) -> bool:
    """Whether `device` names one of DEVICES (the one device check of the node and the `dsr` command)."""
    return DEVICE_PATTERN.fullmatch(device) is not None


def resolve_auto_device(device: str) -> str:
    """`auto` → `cuda` when torch sees a GPU, else `cpu`; anything else unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_candidates(device: str, precision: str, scale: int) -> list[tuple[str, str, str]]:
    """(back end, device, precision) to try in order for `auto`."""
    cpu = [(name, "cpu", "fp32") for name in CPU_PREFERENCE.get(scale, CPU_PREFERENCE[4])]
    if device.startswith("cuda"):
        return [("tensorrt", device, precision), ("torch", device, precision), *cpu]
    return cpu


def _build(backend: str, model: DSRNet, device: str, precision: str, options: dict[str, object]) -> InferenceEngine:
    """One back end; TensorRT without fixed `shapes` is prepared in the background behind PyTorch on its device."""
    spec = REGISTRY[backend]
    engine = spec.factory(model, device, precision, **{k: v for k, v in options.items() if k in spec.options})
    if backend == "tensorrt" and "shapes" not in options:
        from dsr_ros.engine.background import BackgroundEngine

        engine = BackgroundEngine(engine, _build("torch", model, device, precision, options))
    return engine


def create_engine(
    model: DSRNet, backend: str = "auto", device: str = "cpu", precision: str = "fp32", **options: object
) -> InferenceEngine:
    """Build the named back end for a model (`auto`: the best that works here, logging each fallback)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    candidates = list(REGISTRY) if backend == "auto" else [backend]
    unknown = set(options) - set().union(*(REGISTRY[name].options for name in candidates))
    if unknown:
        raise TypeError(f"unknown engine options for backend {backend!r}: {', '.join(sorted(unknown))}")
    device = resolve_auto_device(device)
    if backend != "auto":
        return _build(backend, model, device, precision, options)
    if not device.startswith("cuda") and precision != "fp32":
        log.warning("precision %s needs a CUDA device; running fp32 on %s", precision, device)
    attempts = auto_candidates(device, precision, model.scale)
    for (name, dev, prec), (next_name, next_dev, next_prec) in itertools.pairwise(attempts):
        try:
            return _build(name, model, dev, prec, options)
        except EngineUnavailable as exc:
            log.warning("backend %s on %s unavailable: %s; falling back to %s on %s (%s)",
                        name, dev, exc, next_name, next_dev, next_prec)
    name, dev, prec = attempts[-1]
    return _build(name, model, dev, prec, options)

__all__ = ["BACKENDS", "CPU_PREFERENCE", "DEVICES", "is_device", "EngineUnavailable", "InferenceEngine", "create_engine"]
