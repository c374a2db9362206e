"""Upsampler: depth array in, depth array out.

The one place that knows the order (mirror) → normalise → fill → pad → infer → crop → (average the mirrors) →
denormalise → restore invalid. Normalisation is `depth.LogDepth` (log ratio to the frame's median), the same
object the training data uses for its targets. It speaks numpy only; the engine hides torch, TensorRT or onnxruntime.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from dsr_ros import depth as dp
from dsr_ros.colour import guide_input
from dsr_ros.engine import InferenceEngine, create_engine
from dsr_ros.net.guide import guide_channels
from dsr_ros.net.input_kind import UNKNOWN_KIND, kind_planes
from dsr_ros.profiling import StageTimer
from dsr_ros.self_ensemble import check_copies, merged_output, mirrored_batch
from dsr_ros.weights import ModelCard, card_for, load_model, shipped_model_path, shipped_specialists

#: Builds a specialist's engine and card when it is first told its kind (weights loaded, engine compiled).
SpecialistLoader = Callable[[], tuple[InferenceEngine, ModelCard]]


class Upsampler:
    """Super-resolves depth frames by the model's scale, keeping units and invalid pixels.

    Told an input kind for which it holds a specialist (a network trained on that kind alone), it runs the
    specialist instead of the general network; `engine` and `model_card` are always those of the network in use.
    """

    def __init__(
        self,
        engine: InferenceEngine,
        model_card: ModelCard,
        fill_holes: bool = False,
        depth_range: tuple[float, float] | None = None,
        self_ensemble: int = 1,
        input_kind: str | None = None,
        specialists: Mapping[str, SpecialistLoader] | None = None,
    ) -> None:
        if depth_range is not None and not (0 <= depth_range[0] < depth_range[1]):
            raise ValueError(f"depth_range must be (near, far) metres with 0 <= near < far, got {depth_range}")
        check_copies(self_ensemble)
        if self_ensemble > 1 and model_card.rgb_guided:
            raise ValueError("self_ensemble mirrors the depth input only: an RGB-guided model runs with 1 copy")
        self.engine = engine
        self.model_card = model_card
        self._general = (engine, model_card)
        self._specialists = dict(specialists or {})
        self._loaded: dict[str, tuple[InferenceEngine, ModelCard]] = {}
        self.fill_holes = fill_holes
        self.depth_range = depth_range
        self.self_ensemble = self_ensemble  # mirrored copies averaged per frame (self_ensemble.py)
        self.input_kind = input_kind
        self._zero_frame = np.zeros((0, 0), np.float32)

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
        """Load the shipped model for a scale (variant `lite` unless named), with its shipped specialists (each
        loaded only when told its kind)."""
        path = shipped_model_path(scale, variant)
        options = {"device": device, "backend": backend, "precision": precision, "expected_scale": scale}
        # A specialist is built as the general model is: same device, back end, precision and engine options.
        build = {**options, "engine_options": kwargs.get("engine_options", {})}
        specialists = {kind: partial(_load_specialist, file, build) for kind, file in shipped_specialists(scale, variant).items()}
        return cls.from_file(path, specialists=specialists, **options, **kwargs)

    @property
    def input_kinds(self) -> tuple[str, ...]:
        """The input kinds the upsampler can be told: its general card's and its specialists'; empty: none."""
        return tuple(dict.fromkeys((*self._general[1].input_kinds, *self._specialists)))

    @property
    def specialist_kinds(self) -> tuple[str, ...]:
        """The input kinds for which a specialist network runs instead of the general one."""
        return tuple(self._specialists)

    @property
    def input_kind(self) -> str | None:
        """How the LR depth was made, as the model was trained to be told (net/input_kind.py); None: unknown."""
        return self._input_kind

    @input_kind.setter
    def input_kind(self, kind: str | None) -> None:
        """A kind from `input_kinds`, or None / "unknown" (all-zero planes); a ValueError naming them otherwise.

        A kind with a specialist switches to that network (loaded on first use); any other switches back.
        """
        kinds = self.input_kinds
        kind = None if kind == UNKNOWN_KIND else kind
        if kind is not None and kind not in kinds:
            told = f"one of {list(kinds)} or unknown" if kinds else "unknown: this model is not told its input kind"
            raise ValueError(f"input_kind must be {told}, got {kind!r}")
        self.engine, self.model_card = self._specialist(kind) if kind in self._specialists else self._general
        self._input_kind = kind

    def _specialist(self, kind: str) -> tuple[InferenceEngine, ModelCard]:
        """The engine and card of the specialist for `kind`, loaded once; fails if it cannot stand in for the general."""
        if kind not in self._loaded:
            engine, card = self._specialists[kind]()
            general = self._general[1]
            if card.scale != general.scale or card.specialist_kind != kind:
                raise ValueError(f"the specialist for {kind!r} is a x{card.scale} one for {card.specialist_kind!r}, "
                                 f"not x{general.scale} for {kind!r}")
            if self.self_ensemble > 1 and card.rgb_guided:
                raise ValueError("self_ensemble mirrors the depth input only: an RGB-guided model runs with 1 copy")
            self._loaded[kind] = engine, card
        return self._loaded[kind]

    @property
    def rgb_guided(self) -> bool:
        """Whether `upsample` needs the registered colour image of each frame (`rgb=`)."""
        return self.model_card.rgb_guided

    def upsample(self, depth: np.ndarray, timer: StageTimer | None = None, rgb: np.ndarray | None = None) -> np.ndarray:
        """HxW or NxHxW uint16 (mm) / float32 (m) → (s·H)x(s·W), same dtype, invalid kept invalid.

        An RGB-guided model also takes `rgb`: the colour image registered to the depth (HxWx3 or NxHxWx3,
        uint8 or unit float, any size: it is resized to the output's), which a depth-only model refuses.
        """
        depth = np.asarray(depth)
        dp.check_depth_dtype(depth)
        if depth.ndim not in (2, 3) or min(depth.shape[-2:], default=0) < 1:
            raise ValueError(f"depth must be HxW or NxHxW with H, W >= 1, got shape {depth.shape}")
        frames = depth[None] if depth.ndim == 2 else depth
        if frames.shape[0] == 0:
            raise ValueError("depth batch is empty")

        colour = self._colour(rgb, frames.shape[0])
        copies = self.self_ensemble
        with timer.stage("preprocess") if timer else nullcontext():
            # Mirrored before the hole fill: each copy fills its holes in its own orientation (ties go
            # another way), which makes the average mirror-equivariant and measurably better than one fill.
            inputs = frames if copies == 1 else mirrored_batch(frames[:, None], copies)[:, 0]
            batch, valid, norms = self._preprocess(inputs, colour)
            padded = self._pad(batch)
        with timer.stage("infer") if timer else nullcontext():
            raw = self.engine.infer(padded)
        with timer.stage("postprocess") if timer else nullcontext():
            if copies > 1:
                n, h, w, s = *frames.shape, self.scale
                # Each copy is relative to its own reference (the median of a strided sample, which a
                # mirror can move): restate every copy relative to its frame's first-copy reference.
                log_refs = np.log(np.array([norm.reference for norm in norms], np.float32))
                shift = (log_refs - np.tile(log_refs[:n], copies))[:, None, None, None]
                raw, valid, norms = merged_output(raw[..., : h * s, : w * s] + shift, copies), valid[:n], norms[:n]
            out = self._postprocess(raw, valid, norms, frames.shape[-2:], depth.dtype)
        return out[0] if depth.ndim == 2 else out

    def _colour(self, rgb: np.ndarray | None, frames: int) -> list[np.ndarray] | None:
        """One colour image per frame for a guided model, None for a depth-only one; fails on a mismatch."""
        if not self.rgb_guided:
            if rgb is not None:
                raise ValueError("this model is depth-only: it takes no colour image (rgb)")
            return None
        if rgb is None:
            raise ValueError("this model is RGB-guided: pass the colour image registered to the depth (rgb=)")
        rgb = np.asarray(rgb)
        images = [rgb] if rgb.ndim == 3 else list(rgb)
        if rgb.ndim not in (3, 4) or len(images) != frames:
            raise ValueError(f"rgb must be HxWx3 or NxHxWx3 with one image per depth frame ({frames}), got shape {rgb.shape}")
        return images

    def _preprocess(self, frames: np.ndarray, colour: list[np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, list[dp.LogDepth]]:
        """Log-ratio input with holes filled (and the validity mask beside it if the model takes one, the input
        kind's planes if it is told one, then the packed colour image for a guided model); readings outside
        `depth_range` count as holes."""
        valid = ~dp.invalid_mask(frames)
        metres = frames.astype(np.float32)
        if frames.dtype == np.uint16:
            metres *= np.float32(1e-3)
        if self.depth_range is not None:
            near, far = self.depth_range
            if frames.dtype == np.uint16:  # in the sensor's millimetres: float32 makes 3000 mm 3.0000002 m
                valid &= (frames >= near * 1000.0) & (frames <= far * 1000.0)
            else:
                with np.errstate(invalid="ignore"):
                    valid &= (metres >= near) & (metres <= far)
        mask = self.model_card.mask_input
        depth_channels = 2 if mask else 1
        kinds = self.model_card.input_kinds
        colour_start = depth_channels + len(kinds)
        channels = colour_start + (guide_channels(self.scale) if colour is not None else 0)
        batch = np.empty((frames.shape[0], channels, *frames.shape[-2:]), dtype=np.float32)
        norms = []
        for i in range(frames.shape[0]):
            batch[i, 0], norm = dp.encode_frame(metres[i], valid[i])
            norms.append(norm)
            if colour is not None:
                batch[i, colour_start:] = guide_input(colour[i], frames.shape[-2:], self.scale)
        if mask:
            batch[:, 1] = valid
        if kinds:
            batch[:, depth_channels:colour_start] = kind_planes(kinds, self.input_kind, frames.shape[-2:])
        return batch, valid, norms

    def _zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 zero frame of this shape, kept across frames (the second operand of cv2.add)."""
        if self._zero_frame.shape != shape:
            self._zero_frame = np.zeros(shape, np.float32)
        return self._zero_frame

    def _pad(self, batch: np.ndarray) -> np.ndarray:
        multiple = max(1, int(self.engine.pad_multiple))
        h, w = batch.shape[-2:]
        pad_h, pad_w = (-h) % multiple, (-w) % multiple
        if pad_h == 0 and pad_w == 0:
            return batch
        return np.pad(batch, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="edge")

    def _postprocess(self, raw: np.ndarray, valid: np.ndarray, norms: list[dp.LogDepth],
                     size: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        """Engine output (owned, written in place) → depth in the input's units, holes restored.

        Each HR s×s block of an invalid LR pixel is invalid unless `fill_holes`; a frame without any
        valid pixel is all invalid either way. uint16: mm rounded, 0 where invalid or ≥ 65535 (the
        saturation sentinel is never written as a reading); float32: metres, NaN where invalid.
        """
        s = self.scale
        h, w = size
        if not raw.flags.writeable:
            raw = raw.copy()
        out = np.empty((raw.shape[0], h * s, w * s), dtype)
        millimetres = dtype == np.uint16
        for i, norm in enumerate(norms):
            log_ratio = np.ascontiguousarray(raw[i, 0, : h * s, : w * s])  # a view unless padded
            values = torch.from_numpy(log_ratio)  # torch's vectorised exp is 2-3x numpy's on float32
            values.clamp_(-dp.MAX_LOG_RATIO, dp.MAX_LOG_RATIO).exp_()
            keep = valid[i] if not self.fill_holes else np.full_like(valid[i], valid[i].any())
            # One multiply for unit, reference and invalid blocks: each LR pixel's factor over its s×s
            # block, repeated along the width first so the broadcast's inner loop runs along whole rows.
            factor = keep * np.float32(norm.reference * (1000.0 if millimetres else 1.0))
            if not millimetres:
                factor[~keep] = np.nan
            rows = torch.from_numpy(np.repeat(factor, s, axis=1))[:, None, :]
            values.view(h, s, w * s).mul_(rows)
            if millimetres:
                # OpenCV's saturating conversion rounds half to even like np.rint, maps NaN to 0 and
                # anything beyond 65535 to 65535, the sentinel, which then becomes 0 (invalid) too.
                frame = out[i]
                cv2.add(log_ratio, self._zeros(log_ratio.shape), dst=frame, dtype=cv2.CV_16U)
                frame[frame == dp.SATURATED_MM] = 0
            else:
                out[i] = log_ratio
        return out


def _load_specialist(path: Path, options: dict) -> tuple[InferenceEngine, ModelCard]:
    """A shipped specialist's engine and card, built with the general model's device, back end and precision."""
    upsampler = Upsampler.from_file(path, **options)
    return upsampler.engine, upsampler.model_card
