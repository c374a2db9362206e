"""Engines fail safe: no frame waits on a compile, a failed or wrong build falls back once and is never cached,
cache entries are checked against their recorded content hash, and `dsr compile` engines are what the node uses.

torch-tensorrt cannot run here; the stand-in toolkit (engine_fakes.FakeToolkit) plays it.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_fakes import FakeToolkit, tiny_net

from dsr_ros.engine import create_engine
from dsr_ros.engine.background import BackgroundEngine
from dsr_ros.engine.cache import ShapeRange
from dsr_ros.engine.tensorrt_backend import EngineRejected, TensorRTEngine

FRAME = np.zeros((1, 1, 6, 8), np.float32)


class FailingToolkit(FakeToolkit):
    """Constructs fine, then every compile fails (what an out-of-memory builder on a Jetson looks like)."""

    def compile(self, model, shapes, dtype):
        self.compiled.append((shapes.tag(), dtype))
        raise RuntimeError("builder ran out of memory")


class BlockingToolkit(FakeToolkit):
    """A compile that takes until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def compile(self, model, shapes, dtype):
        assert self.release.wait(30.0)
        return super().compile(model, shapes, dtype)


class WrongToolkit(FakeToolkit):
    """'Compiles' a subtly different network: the engine a miscompiling TensorRT release gives."""

    def compile(self, model, shapes, dtype):
        super().compile(model, shapes, dtype)
        wrong = tiny_net(scale=model.scale, seed=99).to(dtype)
        return wrong


def background(tmp_path: Path, toolkit: FakeToolkit, model=None) -> BackgroundEngine:
    engine = create_engine(model or tiny_net(), backend="tensorrt", device="cpu", precision="fp32",
                           toolkit=toolkit, cache_dir=tmp_path)
    assert isinstance(engine, BackgroundEngine)
    return engine


def test_a_build_failing_after_construction_falls_back_once(tmp_path, caplog):
    toolkit = FailingToolkit()
    engine = background(tmp_path, toolkit)
    reference = create_engine(tiny_net(), backend="torch", device="cpu")
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        outputs = [engine.infer(FRAME + i) for i in range(3)]
        engine.wait_ready(10.0)
        outputs += [engine.infer(FRAME + i) for i in range(3)]
    assert len(toolkit.compiled) == 1, "a failed build must not be retried per frame"
    for i, out in enumerate(outputs):
        np.testing.assert_allclose(out, reference.infer(FRAME + i % 3), rtol=1e-5, atol=1e-6)
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and "out of memory" in failures[0].getMessage()
    assert engine.failed and engine.name.startswith("torch")
    assert not list(tmp_path.glob("*.ep"))


def test_no_frame_waits_on_a_compile_and_the_engine_switches_when_verified(tmp_path):
    toolkit = BlockingToolkit()
    engine = background(tmp_path, toolkit)
    for _ in range(5):  # the build is blocked: every frame is served by PyTorch meanwhile
        assert engine.infer(FRAME).shape == (1, 1, 12, 16)
    assert engine.name == "torch (while tensorrt preparing)"
    toolkit.release.set()
    assert engine.wait_ready(10.0)
    assert engine.infer(FRAME).shape == (1, 1, 12, 16) and engine.name == "tensorrt"
    assert toolkit.compiled == [("1x1x6x8", torch.float32)]
    # another input size: PyTorch again while that engine is prepared, then TensorRT
    bigger = np.zeros((1, 1, 7, 9), np.float32)
    assert engine.infer(bigger).shape == (1, 1, 14, 18)
    assert engine.wait_ready(10.0) and engine.target.shapes == ShapeRange.static(bigger.shape)


def test_a_wrong_engine_is_rejected_and_never_cached(tmp_path):
    with pytest.raises(EngineRejected, match="differs from PyTorch fp32"):
        TensorRTEngine(tiny_net(), device="cpu", precision="fp32", shapes=ShapeRange.static(FRAME.shape),
                       cache_dir=tmp_path, toolkit=WrongToolkit())
    assert not list(tmp_path.glob("*.ep")) and not list(tmp_path.glob("*.json"))
    engine = background(tmp_path, WrongToolkit())  # in the node: fall back, serve correct depth
    engine.infer(FRAME)
    engine.wait_ready(10.0)
    assert engine.failed and "differs from PyTorch" in engine.failed
    assert not list(tmp_path.glob("*.ep"))


def test_a_correct_engine_is_verified_before_it_is_cached(tmp_path):
    engine = TensorRTEngine(tiny_net(), device="cpu", precision="fp32", shapes=ShapeRange.static(FRAME.shape),
                            cache_dir=tmp_path, toolkit=FakeToolkit())
    assert engine.parity is not None and engine.parity <= 1e-3
    record = json.loads(engine.engine_path.with_suffix(".json").read_text())
    assert record["fields"]["shape"] == "1x1x6x8" and len(record["sha256"]) == 64


@pytest.mark.parametrize("tamper", ["content", "record", "no_record"])
def test_cache_entries_are_checked_against_their_content_hash(tmp_path, tamper, caplog):
    shapes = ShapeRange.static(FRAME.shape)
    path = TensorRTEngine(tiny_net(), device="cpu", precision="fp32", shapes=shapes, cache_dir=tmp_path,
                          toolkit=FakeToolkit()).engine_path
    record_path = path.with_suffix(".json")
    if tamper == "content":  # still a loadable file, but not the bytes that were verified
        other = tmp_path / "other"
        path.write_bytes(TensorRTEngine(tiny_net(seed=5), device="cpu", precision="fp32", shapes=shapes,
                                        cache_dir=other, toolkit=FakeToolkit()).engine_path.read_bytes())
    elif tamper == "record":
        record = json.loads(record_path.read_text())
        record["fields"]["precision"] = "fp16"
        record_path.write_text(json.dumps(record))
    else:
        record_path.unlink()
    toolkit = FakeToolkit()
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = TensorRTEngine(tiny_net(), device="cpu", precision="fp32", shapes=shapes, cache_dir=tmp_path,
                                toolkit=toolkit)
    assert toolkit.loaded == [] and toolkit.compiled, "a tampered entry must be rebuilt, never loaded"
    assert any("rebuilding" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(engine.infer(FRAME), create_engine(tiny_net(), backend="torch").infer(FRAME),
                               rtol=1e-5, atol=1e-6)


def test_the_node_uses_a_range_engine_built_ahead_by_dsr_compile(tmp_path):
    ahead = FakeToolkit()
    TensorRTEngine(tiny_net(), device="cpu", precision="fp32", cache_dir=tmp_path, toolkit=ahead,
                   shapes=ShapeRange.ranged((1, 1, 1, 1), (1, 1, 6, 8), (1, 1, 12, 16)))
    assert len(ahead.compiled) == 1
    later = FakeToolkit()
    engine = background(tmp_path, later)
    engine.infer(np.zeros((1, 1, 10, 12), np.float32))
    assert engine.wait_ready(10.0)
    assert later.compiled == [] and len(later.loaded) == 1, "the cached range engine covers 10x12"


def test_dsr_compile_and_the_node_agree_on_precision():
    import argparse

    from dsr_ros.cli import compile as compile_cli
    from dsr_ros.ros.params import SPECS

    parser = argparse.ArgumentParser()
    compile_cli.register(parser.add_subparsers())
    args = parser.parse_args(["compile", "--scale", "4", "--height", "60", "--width", "80"])
    assert args.precision == SPECS["precision"].default == "fp32"
