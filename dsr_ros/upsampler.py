"""Upsampler: depth array in, depth array out.

The one place that knows the order normalise → fill → pad → infer → crop → denormalise →
restore invalid. Normalisation is `depth.LogDepth` (log ratio to the frame's median), the same
object the training data uses for its targets. It speaks numpy only; the engine hides torch, TensorRT or onnxruntime.
"""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from dsr_ros import depth as dp
from dsr_ros.engine import InferenceEngine, create_engine
from dsr_ros.profiling import StageTimer
from dsr_ros.weights import ModelCard, card_for, load_model, shipped_model_path


class Upsampler:
    """Super-resolves depth frames by the model's scale, keeping units and invalid pixels."""

    def __init__(
        self,
        engine: InferenceEngine,
        model_card: ModelCard,
        fill_holes: bool = False,
        depth_range: tuple[float, float] | None = None,
    ) -> None:
        if depth_range is not None and not (0 <= depth_range[0] < depth_range[1]):
            raise ValueError(f"depth_range must be (near, far) metres with 0 <= near < far, got {depth_range}")
        self.engine = engine
        self.model_card = model_card
        self.fill_holes = fill_holes
        self.depth_range = depth_range

    @property
    def scale(self) -> int:
        return self.model_card.scale

    @classmethod
    def from_model(cls, model, card: ModelCard | None = None, device: str = "cpu", backend: str = "torch",
                   precision: str = "fp32", **kwargs) -> Upsampler:
        """Wrap an in-memory DSRNet (freshly trained or built for tests)."""
        engine_options = kwargs.pop("engine_options", {})
        engine = create_engine(model, backend=backend, device=device, precision=precision, **engine_options)
        return cls(engine, card or card_for(model), **kwargs)

    @classmethod
    def from_file(cls, path: str | Path, device: str = "cpu", backend: str = "auto", precision: str = "fp32",
                  expected_scale: int | None = None, **kwargs) -> Upsampler:
        """Load any dsr_ros weight file (safetensors + model card)."""
        model, card = load_model(path, expected_scale=expected_scale)
        return cls.from_model(model, card, device=device, backend=backend, precision=precision, **kwargs)

    @classmethod
    def from_pretrained(cls, scale: int = 4, device: str = "cpu", variant: str | None = None, backend: str = "auto",
                        precision: str = "fp32", **kwargs) -> Upsampler:
        """Load the shipped model for a scale (variant `lite` unless named)."""
        path = shipped_model_path(scale, variant)
        return cls.from_file(path, device=device, backend=backend, precision=precision, expected_scale=scale, **kwargs)

    def upsample(self, depth: np.ndarray, timer: StageTimer | None = None) -> np.ndarray:
        """HxW or NxHxW uint16 (mm) / float32 (m) → (s·H)x(s·W), same dtype, invalid kept invalid."""
        depth = np.asarray(depth)
        dp.check_depth_dtype(depth)
        if depth.ndim not in (2, 3) or min(depth.shape[-2:], default=0) < 1:
            raise ValueError(f"depth must be HxW or NxHxW with H, W >= 1, got shape {depth.shape}")
        frames = depth[None] if depth.ndim == 2 else depth
        if frames.shape[0] == 0:
            raise ValueError("depth batch is empty")

        with timer.stage("preprocess") if timer else nullcontext():
            batch, valid, norms = self._preprocess(frames)
            padded = self._pad(batch)
        with timer.stage("infer") if timer else nullcontext():
            raw = self.engine.infer(padded)
        with timer.stage("postprocess") if timer else nullcontext():
            out = self._postprocess(raw, valid, norms, frames.shape[-2:], depth.dtype)
        return out[0] if depth.ndim == 2 else out

    def _preprocess(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[dp.LogDepth]]:
        """Log-ratio input with holes filled; readings outside `depth_range` count as holes."""
        metres = dp.to_metres(frames)
        valid = dp.in_range(metres, self.depth_range)
        batch = np.empty((frames.shape[0], 1, *frames.shape[-2:]), dtype=np.float32)
        norms = []
        for i in range(frames.shape[0]):
            batch[i, 0], norm = dp.encode_frame(metres[i], valid[i])
            norms.append(norm)
        return batch, valid, norms

    def _pad(self, batch: np.ndarray) -> np.ndarray:
        multiple = max(1, int(self.engine.pad_multiple))
        h, w = batch.shape[-2:]
        pad_h, pad_w = (-h) % multiple, (-w) % multiple
        if pad_h == 0 and pad_w == 0:
            return batch
        return np.pad(batch, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="edge")

    def _postprocess(self, raw: np.ndarray, valid: np.ndarray, norms: list[dp.LogDepth],
                     size: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        s = self.scale
        out_h, out_w = size[0] * s, size[1] * s
        log_ratio = raw[:, 0, :out_h, :out_w]
        metres = np.empty_like(log_ratio)
        for i, norm in enumerate(norms):
            metres[i] = norm.decode(log_ratio[i])
        no_depth = ~valid.reshape(valid.shape[0], -1).any(axis=1)
        if self.fill_holes:
            metres[no_depth] = np.nan
        else:
            metres[~dp.upsample_mask(valid, s)] = np.nan
        return dp.from_metres(metres, dtype)
