"""The one interface every inference back end implements (numpy in, numpy out)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class EngineUnavailable(RuntimeError):
    """A back end cannot run here (library or device missing); the message says what."""


class InferenceEngine(ABC):
    """Runs DSRNet on a batch of normalised LR depth: float32 N×1×h×w → N×1×(s·h)×(s·w)."""

    name: str = "abstract"
    device: str = "cpu"
    precision: str = "fp32"
    #: The Upsampler pads height and width up to a multiple of this before `infer`.
    pad_multiple: int = 1

    def __init__(self, scale: int) -> None:
        self.scale = scale

    @abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Super-resolve a float32 N×1×h×w array; returns float32 N×1×(s·h)×(s·w)."""
