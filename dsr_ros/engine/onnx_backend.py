"""onnxruntime back end: CPU here; CUDA and TensorRT execution providers where onnxruntime-gpu has them.

The model is exported to ONNX once (dynamic N, h, w) and kept in the engine cache, keyed by
the weights and opset, so later starts skip the export.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from dsr_ros.engine.base import EngineUnavailable, InferenceEngine
from dsr_ros.engine.cache import EngineCache, model_fingerprint
from dsr_ros.engine.onnx_export import DEFAULT_OPSET, INPUT_NAME, OUTPUT_NAME, export_onnx
from dsr_ros.net import DSRNet


def onnxruntime_missing() -> str | None:
    """Why onnxruntime cannot be used here, or None."""
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401 - the dynamo ONNX exporter needs it
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install 'dsr_ros[onnx]' or onnxruntime onnxscript onnx)"
    return None


def providers_for(device: str, precision: str, cache_dir: Path, available: list[str]) -> list[Any]:
    """The execution providers (with options) to ask for, best first; fails naming what is missing."""
    if device == "cpu":
        if precision != "fp32":
            raise ValueError("onnxruntime on CPU runs fp32 only; use precision 'fp32'")
        return ["CPUExecutionProvider"]
    index = torch.device(device).index or 0
    chosen: list[Any] = []
    if "TensorrtExecutionProvider" in available:
        chosen.append(("TensorrtExecutionProvider", {
            "device_id": index,
            "trt_fp16_enable": precision == "fp16",
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache_dir / "onnxruntime_trt"),
        }))
    elif precision == "fp16":
        raise EngineUnavailable(f"fp16 with onnxruntime needs TensorrtExecutionProvider; this onnxruntime has {available}")
    if "CUDAExecutionProvider" in available:
        chosen.append(("CUDAExecutionProvider", {"device_id": index}))
    if not chosen:
        raise EngineUnavailable(f"device {device!r} needs onnxruntime-gpu (CUDA/TensorRT providers); found {available}")
    return [*chosen, "CPUExecutionProvider"]


def _checked(path: Path) -> Path:
    """`path` if it holds a valid ONNX model (a cached file may be truncated or corrupt)."""
    import onnx

    onnx.checker.check_model(str(path))
    return path


class OnnxRuntimeEngine(InferenceEngine):
    """DSRNet exported to ONNX and run by an onnxruntime InferenceSession."""

    name = "onnxruntime"

    def __init__(
        self,
        model: DSRNet,
        device: str = "cpu",
        precision: str = "fp32",
        onnx_path: str | Path | None = None,
        cache_dir: str | Path | None = None,
        threads: int | None = None,
        opset: int = DEFAULT_OPSET,
    ) -> None:
        super().__init__(model.scale)
        missing = onnxruntime_missing()
        if missing:
            raise EngineUnavailable(missing)
        import onnxruntime as ort

        self.device = str(device)
        self.precision = precision
        self.cache = EngineCache(cache_dir, suffix=".onnx")
        self.providers = providers_for(self.device, precision, self.cache.root, ort.get_available_providers())
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads if threads is not None else torch.get_num_threads()

        if onnx_path is None:
            fields = {"kind": "onnx", "model": model_fingerprint(model), "opset": str(opset), "torch": torch.__version__}
            stem = f"dsrnet_x{model.scale}_opset{opset}"
            self.cache.get_or_build(fields, build=lambda: model, save=lambda m, path: export_onnx(m, path, opset),
                                    load=_checked, stem=stem)
            onnx_path = self.cache.path_for(fields, stem)
        self.onnx_path = Path(onnx_path)
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=self.providers)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
