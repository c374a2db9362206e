"""ONNX export and the onnxruntime back end: parity with PyTorch, dynamic sizes, caching."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from engine_fakes import tiny_net

from dsr_ros.engine import create_engine
from dsr_ros.engine.onnx_backend import OnnxRuntimeEngine, providers_for
from dsr_ros.engine.onnx_export import export_onnx

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'dsr_ros[onnx]')")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'dsr_ros[onnx]')")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    net = tiny_net(scale=4, seed=5)
    return net, export_onnx(net, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def test_export_has_dynamic_batch_height_width(exported) -> None:
    _, path = exported
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert model.graph.input[0].name == "lr" and model.graph.output[0].name == "hr"
    assert dims == ["batch", 1, "height", "width"]
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) == 18


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 1, 7, 13), (2, 1, 17, 9), (1, 1, 31, 45)])
def test_onnxruntime_matches_pytorch_fp32(exported, shape: tuple[int, ...]) -> None:
    net, path = exported
    x = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    out = OnnxRuntimeEngine(net, onnx_path=path).infer(x)
    assert out.shape == (shape[0], 1, shape[2] * 4, shape[3] * 4) and out.dtype == np.float32
    rel = np.abs(out - ref).max() / np.abs(ref).max()
    assert rel < 1e-4


def test_backend_exports_once_into_cache(tmp_path: Path) -> None:
    net = tiny_net(seed=2)
    engine = create_engine(net, backend="onnxruntime", cache_dir=tmp_path)
    assert engine.onnx_path.parent == tmp_path and engine.onnx_path.suffix == ".onnx"
    stamp = engine.onnx_path.stat().st_mtime_ns
    again = create_engine(net, backend="onnxruntime", cache_dir=tmp_path)
    assert again.onnx_path == engine.onnx_path and engine.onnx_path.stat().st_mtime_ns == stamp
    x = np.random.default_rng(0).random((1, 1, 5, 6), dtype=np.float32)
    np.testing.assert_allclose(again.infer(x), engine.infer(x))


def test_provider_choice() -> None:
    assert providers_for("cpu", "fp32", Path("/c"), ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="fp32 only"):
        providers_for("cpu", "fp16", Path("/c"), ["CPUExecutionProvider"])
    gpu = providers_for("cuda:1", "fp16", Path("/c"), ["TensorrtExecutionProvider", "CUDAExecutionProvider"])
    name, options = gpu[0]
    assert name == "TensorrtExecutionProvider" and options["trt_fp16_enable"] and options["device_id"] == 1
    assert options["trt_engine_cache_enable"] and options["trt_engine_cache_path"] == "/c/onnxruntime_trt"
    assert gpu[1][0] == "CUDAExecutionProvider" and gpu[-1] == "CPUExecutionProvider"
    with pytest.raises(Exception, match="onnxruntime-gpu"):
        providers_for("cuda", "fp32", Path("/c"), ["CPUExecutionProvider"])


def test_corrupt_cached_onnx_is_reexported(tmp_path: Path) -> None:
    net = tiny_net(seed=2)
    path = create_engine(net, backend="onnxruntime", cache_dir=tmp_path).onnx_path
    path.write_bytes(b"not onnx at all")
    engine = create_engine(net, backend="onnxruntime", cache_dir=tmp_path)
    assert engine.onnx_path == path and engine.infer(np.ones((1, 1, 3, 3), np.float32)).shape == (1, 1, 6, 6)


def test_a_cascade_exports_and_matches_pytorch(tmp_path: Path) -> None:
    """x16 ships as two x4 stages: the ONNX file holds the whole chain, and onnxruntime agrees with torch."""
    from dsr_ros.net import DSRNetConfig, build_dsrnet

    torch.manual_seed(3)
    net = build_dsrnet(DSRNetConfig(scale=16, cascade=2, features=4, shallow=4, units=1)).eval()
    engine = create_engine(net, backend="onnxruntime", cache_dir=tmp_path)
    x = np.random.default_rng(1).random((1, 1, 3, 5), dtype=np.float32)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    out = engine.infer(x)
    assert out.shape == (1, 1, 48, 80)
    assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-4


def test_a_mask_input_network_exports_with_two_channels_and_matches_pytorch(tmp_path: Path) -> None:
    """With model.mask_input the engine input is N×2×h×w (log depth, validity); the file must take that."""
    from dsr_ros.net import DSRNetConfig, build_dsrnet

    torch.manual_seed(4)
    net = build_dsrnet(DSRNetConfig(scale=4, mask_input=True, features=4, shallow=4, units=1)).eval()
    torch.nn.init.normal_(net.mask_conv.weight)  # trained, so the mask matters
    engine = create_engine(net, backend="onnxruntime", cache_dir=tmp_path)
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.random((1, 1, 6, 7), dtype=np.float32),
                        (rng.random((1, 1, 6, 7)) > 0.3).astype(np.float32)], axis=1)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    out = engine.infer(x)
    assert out.shape == (1, 1, 24, 28)
    assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-4
