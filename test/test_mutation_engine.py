"""dsr_ros.engine back-end selection at its edges: the cases `make mutation` showed the older tests did not pin.

onnxruntime runs a small hand-built ONNX graph (nearest-neighbour ×s, not DSRNet) handed over as `onnx_path`,
so no test pays for an ONNX export and its output shows which graph ran; TensorRT is the stand-in toolkit
of engine_fakes on CPU.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_fakes import FakeToolkit, tiny_net

from dsr_ros import engine as engines
from dsr_ros.engine import EngineUnavailable, create_engine
from dsr_ros.engine.background import BackgroundEngine
from dsr_ros.engine.cache import ShapeRange
from dsr_ros.engine.tensorrt_backend import TensorRTEngine
from dsr_ros.engine.torch_backend import TorchEngine

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

FRAME = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)


def nearest_onnx(path: Path, scale: int) -> Path:
    """An ONNX file with DSRNet's input/output names that repeats every pixel scale × scale times."""
    from onnx import TensorProto, helper

    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1.0, 1.0, float(scale), float(scale)])
    node = helper.make_node("Resize", ["lr", "", "scales"], ["hr"], mode="nearest")
    graph = helper.make_graph(
        [node], "nearest", [helper.make_tensor_value_info("lr", TensorProto.FLOAT, ["n", 1, "h", "w"])],
        [helper.make_tensor_value_info("hr", TensorProto.FLOAT, ["n", 1, "H", "W"])], initializer=[scales])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def repeated(x: np.ndarray, scale: int) -> np.ndarray:
    """What nearest_onnx computes."""
    return x.repeat(scale, axis=2).repeat(scale, axis=3)


# --- devices -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_is_device_accepts_the_documented_names(device: str) -> None:
    """Every name in DEVICES passes the one device check."""
    assert engines.is_device(device)


@pytest.mark.parametrize("device", ["", "gpu", "CPU", "cuda:", "cuda:x", "cuda0", "cpu:0", " cpu", "autocuda"])
def test_is_device_refuses_anything_else(device: str) -> None:
    """Near misses of the documented names are refused, the whole string must match."""
    assert not engines.is_device(device)


def test_auto_device_is_cuda_when_torch_sees_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """`auto` becomes `cuda` with a GPU and `cpu` without; named devices pass through unchanged."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert engines.resolve_auto_device("auto") == "cuda"
    assert engines.resolve_auto_device("cuda:1") == "cuda:1" and engines.resolve_auto_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert engines.resolve_auto_device("auto") == "cpu"
    assert engines.resolve_auto_device("cuda") == "cuda"


# --- the order `auto` tries ----------------------------------------------------------------------------

def test_auto_candidates_on_cuda_keep_device_and_precision_then_cpu_fp32() -> None:
    """On a GPU: TensorRT, PyTorch there with the asked precision, then the CPU order in fp32."""
    assert engines.auto_candidates("cuda:1", "fp16", 8) == [
        ("tensorrt", "cuda:1", "fp16"), ("torch", "cuda:1", "fp16"),
        ("onnxruntime", "cpu", "fp32"), ("torch", "cpu", "fp32")]
    assert engines.auto_candidates("cpu", "fp16", 2) == [("torch", "cpu", "fp32"), ("onnxruntime", "cpu", "fp32")]


def test_auto_candidates_at_x16_put_torch_first_for_its_two_x4_stages() -> None:
    """×16 ships as a cascade of ×4 stages, where torch beat onnxruntime (BENCHMARKS.md); ×8 keeps onnxruntime first."""
    assert engines.auto_candidates("cpu", "fp32", 16) == [("torch", "cpu", "fp32"), ("onnxruntime", "cpu", "fp32")]
    assert engines.auto_candidates("cpu", "fp32", 8) == [("onnxruntime", "cpu", "fp32"), ("torch", "cpu", "fp32")]


@pytest.mark.parametrize("scale", [1, 3, 32])
def test_auto_candidates_for_an_unmeasured_scale_use_the_x4_order(scale: int) -> None:
    """A scale BENCHMARKS.md did not measure gets the ×4 preference rather than failing."""
    assert engines.auto_candidates("cpu", "fp32", scale) == [("torch", "cpu", "fp32"), ("onnxruntime", "cpu", "fp32")]


# --- options reach the back end they belong to ------------------------------------------------------

def test_torch_options_are_passed_to_the_torch_engine() -> None:
    """channels_last=False overrides the CPU default (True) when given through create_engine."""
    default = create_engine(tiny_net(), backend="torch", device="cpu")
    plain = create_engine(tiny_net(), backend="torch", device="cpu", channels_last=False)
    assert isinstance(plain, TorchEngine) and default.channels_last and not plain.channels_last


def test_onnxruntime_runs_the_given_graph_with_the_given_threads(tmp_path: Path) -> None:
    """onnx_path and threads reach OnnxRuntimeEngine: the session runs that file with that many threads."""
    path = nearest_onnx(tmp_path / "nearest.onnx", 2)
    engine = create_engine(tiny_net(), backend="onnxruntime", device="cpu", precision="fp32",
                           onnx_path=path, threads=1, cache_dir=tmp_path / "cache")
    assert engine.name == "onnxruntime" and engine.device == "cpu" and engine.precision == "fp32"
    assert engine.onnx_path == path
    assert engine.session.get_session_options().intra_op_num_threads == 1
    np.testing.assert_array_equal(engine.infer(FRAME), repeated(FRAME, 2))
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir()), "nothing exported"


def test_onnxruntime_gets_the_asked_precision(tmp_path: Path) -> None:
    """fp16 reaches onnxruntime, which refuses it on CPU (it is not silently run as fp32)."""
    path = nearest_onnx(tmp_path / "nearest.onnx", 2)
    with pytest.raises(ValueError, match="onnxruntime on CPU runs fp32 only"):
        create_engine(tiny_net(), backend="onnxruntime", device="cpu", precision="fp16", onnx_path=path,
                      cache_dir=tmp_path)


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="onnxruntime-gpu here")
def test_onnxruntime_gets_the_asked_device(tmp_path: Path) -> None:
    """A CUDA device reaches onnxruntime, which says it needs onnxruntime-gpu (it does not run on CPU)."""
    path = nearest_onnx(tmp_path / "nearest.onnx", 2)
    with pytest.raises(EngineUnavailable, match="device 'cuda' needs onnxruntime-gpu"):
        create_engine(tiny_net(), backend="onnxruntime", device="cuda", onnx_path=path, cache_dir=tmp_path)


def test_auto_at_x8_on_cpu_uses_onnxruntime_with_its_options(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """auto at ×8 on CPU picks onnxruntime first, silently, and hands it the onnxruntime options."""
    path = nearest_onnx(tmp_path / "nearest.onnx", 8)
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = create_engine(tiny_net(scale=8), backend="auto", device="cpu", onnx_path=path, threads=1,
                               cache_dir=tmp_path / "cache")
    assert engine.name == "onnxruntime" and engine.onnx_path == path
    np.testing.assert_array_equal(engine.infer(FRAME), repeated(FRAME, 8))
    assert caplog.records == []


def test_create_engine_defaults_to_auto_on_cpu_in_fp32(tmp_path: Path) -> None:
    """Without backend, device or precision: `auto` on the CPU in fp32 (so onnxruntime first at ×8)."""
    path = nearest_onnx(tmp_path / "nearest.onnx", 8)
    engine = create_engine(tiny_net(scale=8), onnx_path=path, cache_dir=tmp_path / "cache")
    assert (engine.name, engine.device, engine.precision) == ("onnxruntime", "cpu", "fp32")
    assert engine.onnx_path == path


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present: torch on cuda would not fall back to CPU")
def test_auto_on_cuda_reaches_the_last_candidate_when_all_others_fail(monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """At ×8 on a missing GPU without onnxruntime: TensorRT, torch on cuda and onnxruntime fail, torch on CPU serves."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = create_engine(tiny_net(scale=8), backend="auto", device="cuda", precision="fp16")
    assert (engine.name, engine.device, engine.precision) == ("torch", "cpu", "fp32")
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" unavailable")[0] for m in messages] == [
        "backend tensorrt on cuda", "backend torch on cuda", "backend onnxruntime on cpu"]
    assert messages[-1].endswith("falling back to torch on cpu (fp32)")
    assert engine.infer(FRAME).shape == (1, 1, 24, 32)


def test_auto_accepts_options_of_a_back_end_it_does_not_pick(tmp_path: Path) -> None:
    """auto takes any back end's options; the one it builds (torch at ×4 on CPU) gets only its own."""
    engine = create_engine(tiny_net(scale=4), backend="auto", device="cpu", channels_last=False,
                           toolkit=FakeToolkit(), onnx_path=tmp_path / "never.onnx", threads=1)
    assert isinstance(engine, TorchEngine) and not engine.channels_last
    with pytest.raises(TypeError, match=r"unknown engine options for backend 'auto': bogus, other"):
        create_engine(tiny_net(), backend="auto", other=1, bogus=2, threads=1)


def test_auto_warns_that_fp16_needs_cuda_and_runs_fp32(caplog: pytest.LogCaptureFixture) -> None:
    """fp16 with auto on CPU is not an error: one warning, then fp32 on the CPU."""
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = create_engine(tiny_net(scale=4), backend="auto", device="cpu", precision="fp16")
    assert engine.precision == "fp32" and engine.device == "cpu"
    assert [r.getMessage() for r in caplog.records] == ["precision fp16 needs a CUDA device; running fp32 on cpu"]


def test_auto_with_fp32_on_cpu_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    """The precision warning is only for a precision other than fp32."""
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        create_engine(tiny_net(scale=2), backend="auto", device="cpu", precision="fp32")
    assert caplog.records == []


# --- TensorRT: fixed shapes build in place, otherwise behind PyTorch ------------------------------------

def test_tensorrt_with_fixed_shapes_is_built_in_place(tmp_path: Path) -> None:
    """With `shapes` the TensorRT engine itself is returned, built for those shapes, with the asked precision."""
    toolkit = FakeToolkit()
    engine = create_engine(tiny_net(), backend="tensorrt", device="cpu", precision="fp32", toolkit=toolkit,
                           cache_dir=tmp_path, shapes=ShapeRange.static(FRAME.shape), progress_interval_s=60.0)
    assert type(engine) is TensorRTEngine and engine.precision == "fp32" and engine.device == "cpu"
    assert engine.progress_interval_s == 60.0 and engine.cache.root == tmp_path
    assert toolkit.compiled == [("1x1x3x4", torch.float32)]
    np.testing.assert_allclose(engine.infer(FRAME), create_engine(tiny_net(), backend="torch").infer(FRAME),
                               rtol=1e-5, atol=1e-6)


def test_tensorrt_without_shapes_serves_with_torch_on_the_same_device_meanwhile(tmp_path: Path) -> None:
    """Without `shapes`: a BackgroundEngine whose fallback is PyTorch on that device and precision."""
    toolkit = FakeToolkit()
    engine = create_engine(tiny_net(), backend="tensorrt", device="cpu", precision="fp32", toolkit=toolkit,
                           cache_dir=tmp_path)
    assert isinstance(engine, BackgroundEngine) and isinstance(engine.target, TensorRTEngine)
    assert engine.target.toolkit is toolkit and engine.target.cache.root == tmp_path
    fallback = engine.fallback
    assert isinstance(fallback, TorchEngine) and fallback.device == "cpu" and fallback.precision == "fp32"
    assert toolkit.compiled == [], "nothing is built before the first frame"
