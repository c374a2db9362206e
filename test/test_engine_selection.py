"""create_engine: back-end names, options, and `auto`'s fallbacks (TensorRT and CUDA are truly absent here)."""
from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch
from engine_fakes import tiny_net

from dsr_ros.engine import BACKENDS, EngineUnavailable, create_engine
from dsr_ros.engine.tensorrt_backend import tensorrt_missing
from dsr_ros.engine.torch_backend import TorchEngine

needs_no_trt = pytest.mark.skipif(tensorrt_missing("cuda") is None, reason="TensorRT is usable here; fallback not triggered")


def test_backends_listed() -> None:
    assert set(BACKENDS) == {"auto", "torch", "tensorrt", "onnxruntime"}


def test_unknown_backend_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="auto, torch, tensorrt, onnxruntime"):
        create_engine(tiny_net(), backend="openvino")


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(TypeError, match="bogus"):
        create_engine(tiny_net(), backend="torch", bogus=1)
    with pytest.raises(TypeError, match="cache_dir"):
        create_engine(tiny_net(), backend="torch", cache_dir="/tmp")


def test_auto_on_cpu_picks_fastest_cpu_backend_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = create_engine(tiny_net(scale=4), backend="auto", device="cpu")
    assert isinstance(engine, TorchEngine) and engine.channels_last
    assert caplog.records == []


def test_auto_on_cpu_at_x8_prefers_onnxruntime(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed: auto would use torch")
    monkeypatch.setenv("DSR_ROS_CACHE", str(tmp_path))
    engine = create_engine(tiny_net(scale=8), backend="auto", device="cpu")
    assert engine.name == "onnxruntime" and engine.device == "cpu"


def test_auto_on_cpu_falls_back_to_torch_without_onnxruntime(monkeypatch, caplog) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = create_engine(tiny_net(scale=8), backend="auto", device="cpu")
    assert engine.name == "torch"
    (record,) = caplog.records
    assert record.getMessage().startswith("backend onnxruntime on cpu unavailable: onnxruntime is not installed")
    assert record.getMessage().endswith("falling back to torch on cpu (fp32)")


@needs_no_trt
@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present: torch on cuda would not fall back to CPU")
def test_auto_on_cuda_falls_back_with_one_line_per_step(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = create_engine(tiny_net(), backend="auto", device="cuda", precision="fp16")
    assert engine.name == "torch" and engine.device == "cpu" and engine.precision == "fp32"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("backend tensorrt on cuda unavailable") and "falling back to torch on cuda" in messages[0]
    assert "CUDA" in messages[0]
    assert messages[1].startswith("backend torch on cuda unavailable") and "falling back to torch on cpu (fp32)" in messages[1]
    out = engine.infer(np.random.rand(1, 1, 5, 7).astype(np.float32))
    assert out.shape == (1, 1, 10, 14)


@needs_no_trt
def test_explicit_tensorrt_says_what_is_missing() -> None:
    with pytest.raises(EngineUnavailable, match="CUDA|torch-tensorrt"):
        create_engine(tiny_net(), backend="tensorrt", device="cuda")
    with pytest.raises(EngineUnavailable, match="needs a CUDA device, got device 'cpu'"):
        create_engine(tiny_net(), backend="tensorrt", device="cpu")


def test_tensorrt_missing_names_torch_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    """With CUDA present (faked) but no torch_tensorrt module, the message names the package."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "torch_tensorrt", None)
    assert "torch-tensorrt is not installed" in tensorrt_missing("cuda")


def test_auto_device_resolves_to_cpu_without_gpu() -> None:
    engine = create_engine(tiny_net(), backend="torch", device="auto")
    assert engine.device == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_torch_options_reach_the_engine_and_agree() -> None:
    net = tiny_net()
    x = np.random.default_rng(1).random((2, 1, 9, 11), dtype=np.float32)
    plain = create_engine(tiny_net(), backend="torch", channels_last=False).infer(x)
    nhwc = create_engine(net, backend="torch", channels_last=True).infer(x)
    assert plain.shape == (2, 1, 18, 22)
    np.testing.assert_allclose(nhwc, plain, rtol=1e-5, atol=1e-6)


def test_fp16_on_cpu_is_refused_explicitly() -> None:
    with pytest.raises(ValueError, match="fp16"):
        create_engine(tiny_net(), backend="torch", device="cpu", precision="fp16")
