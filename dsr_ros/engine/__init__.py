"""Inference back ends behind one interface, chosen by name (`auto` picks the best available)."""
from __future__ import annotations

from dsr_ros.engine.base import EngineUnavailable, InferenceEngine
from dsr_ros.net import DSRNet

BACKENDS = ("auto", "torch")


def create_engine(
    model: DSRNet, backend: str = "auto", device: str = "cpu", precision: str = "fp32", **options: object
) -> InferenceEngine:
    """Build the named back end for a model; fails naming the allowed back ends."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if options:
        raise TypeError(f"unknown engine options: {', '.join(sorted(options))}")
    from dsr_ros.engine.torch_backend import TorchEngine

    return TorchEngine(model, device=device, precision=precision)


__all__ = ["BACKENDS", "EngineUnavailable", "InferenceEngine", "create_engine"]
