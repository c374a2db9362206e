"""TensorRT back end through torch-tensorrt's dynamo IR, with a persistent engine cache.

Compiling takes seconds on a desktop GPU and minutes on a Jetson, so engines are saved (as
torch-tensorrt exported programs) in an `EngineCache` and loaded on the next start. FP16 is
obtained the portable way: the graph itself is made half (model and inputs), and the output
dtype is asserted, because the `enabled_precisions` flag changed meaning across releases.
"""
from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from dsr_ros.engine.base import EngineUnavailable, InferenceEngine
from dsr_ros.engine.cache import EngineCache, ShapeRange, model_fingerprint
from dsr_ros.net import DSRNet

log = logging.getLogger("dsr_ros")
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16}


class TensorRTToolkit(Protocol):
    """The calls into torch-tensorrt the engine needs (a stand-in replaces it in tests without a GPU)."""

    def versions(self) -> dict[str, str]: ...

    def device_name(self, device: torch.device) -> str: ...

    def compile(self, model: torch.nn.Module, shapes: ShapeRange, dtype: torch.dtype) -> torch.nn.Module: ...

    def save(self, module: torch.nn.Module, path: Path, shapes: ShapeRange, dtype: torch.dtype,
             device: torch.device) -> None: ...

    def load(self, path: Path) -> torch.nn.Module: ...


def tensorrt_missing(device: str) -> str | None:
    """Why TensorRT cannot run on `device` here (what exactly is missing), or None when it can."""
    if not str(device).startswith("cuda"):
        return f"TensorRT needs a CUDA device, got device {device!r}"
    if not torch.cuda.is_available():
        return f"TensorRT needs CUDA, but torch {torch.__version__} sees no CUDA GPU"
    try:
        import torch_tensorrt  # noqa: F401
    except ImportError as exc:
        return f"torch-tensorrt is not installed ({exc}); install the torch-tensorrt build matching torch {torch.__version__}"
    return None


def precision_kwargs(torch_tensorrt_version: str, dtype: torch.dtype) -> dict[str, Any]:
    """Extra compile arguments for fp16 on this torch-tensorrt release.

    The half graph alone carries the precision from 2.10 on (2.10–2.12 reject `enabled_precisions`
    under their default explicit typing; 2.13+ ignores it); up to 2.9 the builder must also be
    allowed FP16 kernels with `enabled_precisions`.
    """
    major_minor = tuple(int(part) for part in re.findall(r"\d+", torch_tensorrt_version)[:2])
    if dtype == torch.float16 and major_minor < (2, 10):
        return {"enabled_precisions": {torch.float16}}
    return {}


class TorchTensorRT:
    """The real toolkit: torch_tensorrt.compile(ir="dynamo"), torch_tensorrt.save and torch_tensorrt.load."""

    def __init__(self) -> None:
        import torch_tensorrt

        self.trt = torch_tensorrt

    def versions(self) -> dict[str, str]:
        try:
            import tensorrt

            tensorrt_version = str(tensorrt.__version__)
        except ImportError:
            tensorrt_version = "unknown"
        return {"torch": torch.__version__, "torch_tensorrt": str(self.trt.__version__), "tensorrt": tensorrt_version}

    def device_name(self, device: torch.device) -> str:
        major, minor = torch.cuda.get_device_capability(device)
        return f"{torch.cuda.get_device_name(device)} sm_{major}{minor}"

    def _inputs(self, shapes: ShapeRange, dtype: torch.dtype) -> list[Any]:
        if shapes.is_static:
            return [self.trt.Input(shape=shapes.opt, dtype=dtype)]
        # named after DSRNet.forward's argument, so `save` can infer dynamic_shapes={"lr": ...} from it
        return [self.trt.Input(min_shape=shapes.min, opt_shape=shapes.opt, max_shape=shapes.max, dtype=dtype,
                               name="lr")]

    def compile(self, model: torch.nn.Module, shapes: ShapeRange, dtype: torch.dtype) -> torch.nn.Module:
        extra = precision_kwargs(str(self.trt.__version__), dtype)
        return self.trt.compile(model, ir="dynamo", arg_inputs=self._inputs(shapes, dtype), min_block_size=1, **extra)

    def save(self, module: torch.nn.Module, path: Path, shapes: ShapeRange, dtype: torch.dtype,
             device: torch.device) -> None:
        if shapes.is_static:
            example: list[Any] = [torch.zeros(shapes.opt, dtype=dtype, device=device)]
        else:
            example = self._inputs(shapes, dtype)  # dynamic: torch-tensorrt infers the Dims from min/opt/max
        self.trt.save(module, str(path), output_format="exported_program", arg_inputs=example, retrace=True)

    def load(self, path: Path) -> torch.nn.Module:
        return self.trt.load(str(path)).module()


@contextmanager
def progress_log(what: str, interval_s: float) -> Iterator[None]:
    """Log the start, a heartbeat every `interval_s` while it runs, and the duration of a long step."""
    start = time.monotonic()
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(interval_s):
            log.info("still %s (%.0f s so far)", what, time.monotonic() - start)

    log.info("%s; this takes seconds on a desktop GPU and can take minutes on a Jetson", what)
    thread = threading.Thread(target=heartbeat, name="dsr-trt-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    log.info("finished %s in %.1f s", what, time.monotonic() - start)


#: Largest tolerated max |TensorRT − PyTorch fp32| relative to the output range, per precision.
PARITY_TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2}
PARITY_FRAMES = 3  # inputs per checked shape


class EngineRejected(EngineUnavailable):
    """A built engine disagreed with PyTorch fp32 beyond the tolerance; it was neither cached nor used."""


def parity_inputs(shape: tuple[int, ...], count: int = PARITY_FRAMES, seed: int = 0, kinds: int = 0) -> list[np.ndarray]:
    """Normalised-depth-like inputs (log ratios with edges and slopes), the kind the engine will see.

    A second depth channel (a network that takes the validity mask) is a mask with a few per cent holes;
    the last `kinds` channels are input-kind planes, each frame told another kind and the last one none.
    """
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(count):
        slope = rng.normal(0, 0.3, 2).astype(np.float32)
        step = np.where(xx > rng.integers(0, w), rng.normal(0, 0.5), 0.0).astype(np.float32)
        frame = slope[0] * yy / h + slope[1] * xx / w + step + rng.normal(0, 0.01, (h, w)).astype(np.float32)
        channels = [frame] if c - kinds == 1 else [frame, (rng.random((h, w)) > 0.03).astype(np.float32)]
        told = np.zeros((kinds, h, w), np.float32)
        if kinds and i < count - 1:
            told[i % kinds] = 1.0
        out.append(np.broadcast_to(np.concatenate([np.stack(channels), told]), (n, c, h, w)).astype(np.float32))
    return out


def parity_error(engine_out: np.ndarray, model: DSRNet, x: np.ndarray) -> float:
    """max |engine − PyTorch fp32| / max |PyTorch fp32| on the same input."""
    with torch.inference_mode():
        ref = copy.deepcopy(model).float().cpu()(torch.from_numpy(x)).numpy()
    return float(np.abs(engine_out - ref).max() / max(np.abs(ref).max(), 1e-12))


class TensorRTEngine(InferenceEngine):
    """DSRNet compiled by torch-tensorrt for one shape or a min/opt/max range, cached on disk.

    Every engine built is parity-checked against PyTorch fp32 before it is cached or used. Without
    `shapes`, the engine for the first input shape is a cached one whose range covers it (e.g. from
    `dsr compile --max-height`), else one built for that static shape.
    """

    name = "tensorrt"

    def __init__(
        self,
        model: DSRNet,
        device: str = "cuda",
        precision: str = "fp16",
        shapes: ShapeRange | None = None,
        cache_dir: str | Path | None = None,
        toolkit: TensorRTToolkit | None = None,
        progress_interval_s: float = 15.0,
    ) -> None:
        super().__init__(model.scale)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        if toolkit is None:
            missing = tensorrt_missing(device)
            if missing:
                raise EngineUnavailable(missing)
            toolkit = TorchTensorRT()
        self.toolkit = toolkit
        self.torch_device = torch.device(device)
        self.device = str(self.torch_device)
        self.precision = precision
        self.dtype = PRECISIONS[precision]
        self.cache = EngineCache(cache_dir)
        self.progress_interval_s = progress_interval_s
        self.fingerprint = model_fingerprint(model)
        self.model = copy.deepcopy(model).eval().to(self.torch_device, self.dtype)
        self.reference = copy.deepcopy(model).eval().float().cpu()  # the fp32 PyTorch every engine must match
        self.shapes: ShapeRange | None = None
        self.engine_path: Path | None = None
        self.parity: float | None = None  # relative error of the last engine built (None: loaded from cache)
        self._compiled: torch.nn.Module | None = None
        if shapes is not None:
            self.prepare(shapes)

    def key_fields(self, shapes: ShapeRange) -> dict[str, str]:
        """Everything an engine file depends on; any change means a different cache file."""
        return {
            "model": self.fingerprint,
            "shape": shapes.tag(),
            "shape_range": json.dumps(shapes.to_list()),
            "precision": self.precision,
            "gpu": self.toolkit.device_name(self.torch_device),
            **self.toolkit.versions(),
        }

    def _stem(self, shapes: ShapeRange) -> str:
        return f"dsrnet_x{self.scale}_{shapes.tag()}_{self.precision}"

    def shapes_for(self, shape: tuple[int, ...]) -> ShapeRange:
        """The range to prepare for an input shape: a cached engine's range that covers it, else that shape."""
        wanted = ShapeRange.static(shape)
        fields = self.key_fields(wanted)
        stem_prefix = f"dsrnet_x{self.scale}_*"
        return self.cache.covering(fields, shape, stem=stem_prefix) or wanted

    def prepare(self, shapes: ShapeRange) -> Path:
        """Load the engine for `shapes` from the cache, or build, verify and save it (EngineRejected if wrong)."""
        fields = self.key_fields(shapes)
        stem = self._stem(shapes)
        self.parity = None
        compiled = self.cache.get_or_build(
            fields,
            build=lambda: self._build(shapes),
            save=lambda module, path: self.toolkit.save(module, path, shapes, self.dtype, self.torch_device),
            load=self.toolkit.load,
            stem=stem,
            verify=lambda module: self._verify(module, shapes),
        )
        self._compiled, self.shapes = compiled, shapes
        self.engine_path = self.cache.path_for(fields, stem)
        return self.engine_path

    def _run(self, module: torch.nn.Module, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.torch_device, self.dtype)
        y = module(x)
        if isinstance(y, (tuple, list)):
            y = y[0]
        if y.dtype != self.dtype:
            raise RuntimeError(f"TensorRT engine returned {y.dtype} for a {self.precision} graph ({self.engine_path})")
        return y.float().cpu().numpy()

    @torch.inference_mode()
    def _verify(self, module: torch.nn.Module, shapes: ShapeRange) -> None:
        """Parity with PyTorch fp32 at the range's opt and max shapes; EngineRejected beyond the tolerance."""
        worst = 0.0
        config = getattr(self.model, "config", None)  # a DSRNet's; a plain module has no input kinds
        kinds = len(config.input_kinds) if config is not None else 0
        for shape in dict.fromkeys((shapes.opt, shapes.max)):
            for x in parity_inputs(shape, kinds=kinds):
                ref = self.reference(torch.from_numpy(x)).numpy()
                out = self._run(module, x)
                if out.shape != ref.shape:
                    raise EngineRejected(f"engine output {out.shape} for input {x.shape}; PyTorch gives {ref.shape}")
                worst = max(worst, float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-12)))
        tolerance = PARITY_TOLERANCE[self.precision]
        if not worst <= tolerance:
            raise EngineRejected(f"TensorRT {self.precision} engine for {shapes.tag()} differs from PyTorch fp32 by "
                                 f"{worst:.2e} (tolerance {tolerance:.0e}); not cached, not used")
        self.parity = worst

    def _build(self, shapes: ShapeRange) -> torch.nn.Module:
        what = f"compiling TensorRT {self.precision} engine for input {shapes.tag()} ×{self.scale}"
        with progress_log(what, self.progress_interval_s), torch.inference_mode(False):
            return self.toolkit.compile(self.model, shapes, self.dtype)

    def ready_for(self, shape: tuple[int, ...]) -> bool:
        return self._compiled is not None and self.shapes is not None and self.shapes.contains(shape)

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Run the engine; an input outside its range first prepares one (synchronously: see BackgroundEngine)."""
        if not self.ready_for(batch.shape):
            if self.shapes is not None:
                log.warning("input %s is outside the engine's range %s; preparing one", batch.shape, self.shapes.tag())
            self.prepare(self.shapes_for(batch.shape))
        return self._run(self._compiled, batch)
