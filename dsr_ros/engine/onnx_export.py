"""DSRNet → ONNX with dynamic batch, height and width (for onnxruntime and for `trtexec` users).

The graph has one input `lr` (float32 N×1×h×w, normalised depth) and one output `hr`
(float32 N×1×(s·h)×(s·w)). N, h and w are symbolic (`batch`, `height`, `width`); `trtexec`
users pick concrete ranges with `--minShapes=lr:1x1x60x80 --optShapes=... --maxShapes=...`.
Exported with torch's dynamo-based exporter (the supported one since torch 2.9), opset 18
by default, and checked with `onnx.checker` before it is written.
"""
from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import torch

from dsr_ros.atomic import write_atomic
from dsr_ros.net import DSRNet

log = logging.getLogger("dsr_ros")
DEFAULT_OPSET = 18
INPUT_NAME, OUTPUT_NAME = "lr", "hr"
MAX_SIDE = 8192  # upper bound torch.export needs for symbolic sizes; far above any depth camera
MAX_BATCH = 64


def export_onnx(model: DSRNet, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write `model` as a checked ONNX file with dynamic N, h, w; atomic (temp file + rename)."""
    import onnx

    path = Path(path)
    model = copy.deepcopy(model).eval().to("cpu", torch.float32)
    example = torch.rand(1, model.config.in_channels, 24, 32)
    dims = {
        0: torch.export.Dim("batch", min=1, max=MAX_BATCH),
        2: torch.export.Dim("height", min=1, max=MAX_SIDE),
        3: torch.export.Dim("width", min=1, max=MAX_SIDE),
    }
    registry_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)  # silences "torchvision is not installed. Skipping torchvision::nms" etc.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's FutureWarnings are about torch internals, not us
            program = torch.onnx.export(
                model, (example,), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=opset,
                dynamo=True, dynamic_shapes={INPUT_NAME: dims}, verbose=False,
            )
    finally:
        registry_log.setLevel(level)

    def save_checked(tmp: Path) -> None:
        program.save(str(tmp))
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)

    write_atomic(path, save_checked)
    log.info("exported ONNX (opset %d, dynamic batch/height/width) to %s", opset, path)
    return path
