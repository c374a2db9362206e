"""Serve with a ready back end while a compiled one (TensorRT) is prepared on a background thread.

No frame waits on a compile: until the compiled engine for the current input shape is loaded or
built and verified, frames go to the fallback (PyTorch on the same device). A build that fails
falls back for good, with one log line, and is never retried per frame; a new input shape starts
one new preparation.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from dsr_ros.engine.base import InferenceEngine
from dsr_ros.engine.tensorrt_backend import TensorRTEngine

log = logging.getLogger("dsr_ros")


class BackgroundEngine(InferenceEngine):
    """`target` once it is ready for the input shape, `fallback` until then (or for good after a failure)."""

    def __init__(self, target: TensorRTEngine, fallback: InferenceEngine) -> None:
        super().__init__(target.scale)
        self.target, self.fallback = target, fallback
        self.device, self.precision = target.device, target.precision
        self.pad_multiple = max(target.pad_multiple, fallback.pad_multiple)
        self.failed: str | None = None  # why the target was given up, once it was
        self._lock = threading.Lock()
        self._building: tuple[int, ...] | None = None
        self._ready_shape: tuple[int, ...] | None = None
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        if self._ready_shape is not None:
            return self.target.name
        state = "failed" if self.failed else "preparing"
        return f"{self.fallback.name} (while {self.target.name} {state})"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        shape = tuple(batch.shape)
        with self._lock:
            use_target = self._ready_shape is not None and self.target.ready_for(shape)
            if not use_target and self.failed is None and self._building is None:
                self._start(shape)
        return (self.target if use_target else self.fallback).infer(batch)

    def _start(self, shape: tuple[int, ...]) -> None:
        """Begin preparing the target for `shape` (called with the lock held)."""
        self._building, self._ready_shape = shape, None
        self._thread = threading.Thread(target=self._prepare, args=(shape,), name="dsr-engine-build", daemon=True)
        self._thread.start()

    def _prepare(self, shape: tuple[int, ...]) -> None:
        try:
            self.target.prepare(self.target.shapes_for(shape))
        except Exception as exc:  # noqa: BLE001 - any failure of the build means "stay on the fallback"
            with self._lock:
                self.failed, self._building = f"{type(exc).__name__}: {exc}", None
            log.warning("%s engine for input %s failed (%s); serving with %s on %s from now on",
                        self.target.name, shape, self.failed, self.fallback.name, self.fallback.device)
            return
        with self._lock:
            self._ready_shape, self._building = shape, None
        log.info("%s engine ready for input %s (%s); switching from %s", self.target.name, shape,
                 self.target.engine_path, self.fallback.name)

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Wait for a preparation in progress; True when the target serves now (for tests and benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return self._ready_shape is not None
