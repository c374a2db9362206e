"""TensorRT back end: cache keys, invalidation, corrupt-file recovery, locking and atomic writes.

torch-tensorrt cannot run without an NVIDIA GPU, so everything around it is tested with a
stand-in toolkit (tests/engine_fakes.FakeToolkit) on CPU; the real compile is tested only where
torch_tensorrt is installed.
"""
from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_fakes import FakeToolkit, tiny_net

from dsr_ros.engine.cache import EngineCache, ShapeRange, cache_key, model_fingerprint
from dsr_ros.engine.tensorrt_backend import TensorRTEngine, precision_kwargs


def make(tmp_path: Path, toolkit: FakeToolkit | None = None, **kw) -> TensorRTEngine:
    kw.setdefault("precision", "fp32")
    return TensorRTEngine(kw.pop("model", tiny_net()), device="cpu", cache_dir=tmp_path,
                          toolkit=toolkit or FakeToolkit(), **kw)


def test_builds_once_then_loads_from_cache(tmp_path: Path) -> None:
    first = FakeToolkit()
    engine = make(tmp_path, first, shapes=ShapeRange.static((1, 1, 6, 8)))
    assert first.compiled == [("1x1x6x8", torch.float32)] and engine.engine_path.exists()
    second = FakeToolkit()
    again = make(tmp_path, second, shapes=ShapeRange.static((1, 1, 6, 8)))
    assert second.compiled == [] and second.loaded == [engine.engine_path]
    x = np.random.default_rng(0).random((1, 1, 6, 8), dtype=np.float32)
    np.testing.assert_allclose(again.infer(x), engine.infer(x), rtol=1e-6)


@pytest.mark.parametrize("change", ["weights", "shape", "precision", "gpu", "tensorrt", "torch_tensorrt", "torch"])
def test_every_key_component_changes_the_cache_file(tmp_path: Path, change: str) -> None:
    base = make(tmp_path, shapes=ShapeRange.static((1, 1, 6, 8)))
    versions = FakeToolkit().versions()
    kw: dict = {"shapes": ShapeRange.static((1, 1, 6, 8))}
    toolkit = FakeToolkit()
    if change == "weights":
        kw["model"] = tiny_net(seed=1)
    elif change == "shape":
        kw["shapes"] = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 6, 8), (1, 1, 12, 16))
    elif change == "precision":
        kw["precision"] = "fp16"
    elif change == "gpu":
        toolkit = FakeToolkit(gpu="Orin sm_87 (other)")
    else:
        toolkit = FakeToolkit(versions={**versions, change: versions[change] + ".post1"})
    other = make(tmp_path, toolkit, **kw)
    assert toolkit.compiled, "a changed key must rebuild, not load the old engine"
    assert other.engine_path != base.engine_path and base.engine_path.exists()


def test_cache_key_is_order_independent_and_sensitive() -> None:
    a = {"model": "m", "shape": "1x1x6x8", "precision": "fp16"}
    assert cache_key(a) == cache_key(dict(reversed(list(a.items()))))
    assert cache_key(a) != cache_key({**a, "shape": "1x1x6x9"})


def test_fingerprint_tracks_weights_not_identity() -> None:
    assert model_fingerprint(tiny_net(seed=3)) == model_fingerprint(tiny_net(seed=3))
    net = tiny_net(seed=3)
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] += 1e-3
    assert model_fingerprint(net) != model_fingerprint(tiny_net(seed=3))


def test_corrupt_cache_file_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = make(tmp_path, shapes=ShapeRange.static((1, 1, 6, 8))).engine_path
    path.write_bytes(b"\x00garbage, not an engine" * 10)
    toolkit = FakeToolkit()
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = make(tmp_path, toolkit, shapes=ShapeRange.static((1, 1, 6, 8)))
    assert toolkit.compiled == [("1x1x6x8", torch.float32)]
    assert any("content hash mismatch" in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records)
    assert FakeToolkit().load(engine.engine_path) is not None  # the rebuilt file is valid again


def test_truncated_cache_file_is_rebuilt(tmp_path: Path) -> None:
    path = make(tmp_path, shapes=ShapeRange.static((1, 1, 6, 8))).engine_path
    path.write_bytes(path.read_bytes()[:100])
    toolkit = FakeToolkit()
    make(tmp_path, toolkit, shapes=ShapeRange.static((1, 1, 6, 8)))
    assert toolkit.compiled


def test_lazy_build_on_first_frame_and_rebuild_outside_range(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    toolkit = FakeToolkit()
    engine = make(tmp_path, toolkit, shapes=ShapeRange.ranged((1, 1, 4, 4), (1, 1, 6, 8), (1, 1, 8, 8)))
    engine.infer(np.zeros((1, 1, 5, 7), np.float32))  # inside the range: no rebuild
    assert len(toolkit.compiled) == 1
    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        out = engine.infer(np.zeros((1, 1, 9, 9), np.float32))
    assert out.shape == (1, 1, 18, 18) and toolkit.compiled[-1][0] == "1x1x9x9"
    assert any("outside the engine's range" in r.getMessage() for r in caplog.records)
    lazy = make(tmp_path / "lazy", FakeToolkit())
    assert lazy.shapes is None
    lazy.infer(np.zeros((1, 1, 3, 5), np.float32))
    assert lazy.shapes == ShapeRange.static((1, 1, 3, 5))


class _SilentlyFp32(torch.nn.Module):
    """An 'engine' that ignores the half graph and computes in fp32 (what a precision bug looks like)."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.config = net, net.config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float())


def test_fp16_graph_is_half_and_output_dtype_checked(tmp_path: Path) -> None:
    toolkit = FakeToolkit()
    engine = make(tmp_path, toolkit, precision="fp16")
    assert next(engine.model.parameters()).dtype == torch.float16
    engine.toolkit.compile = lambda model, shapes, dtype: _SilentlyFp32(tiny_net())
    with pytest.raises(RuntimeError, match="returned torch.float32 for a fp16 graph"):
        engine.infer(np.zeros((1, 1, 4, 4), np.float32))


def test_progress_is_logged_while_compiling(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    toolkit = FakeToolkit()
    slow_compile = toolkit.compile

    def compile_slowly(model, shapes, dtype):
        import time

        time.sleep(0.25)
        return slow_compile(model, shapes, dtype)

    toolkit.compile = compile_slowly
    with caplog.at_level(logging.INFO, logger="dsr_ros"):
        make(tmp_path, toolkit, shapes=ShapeRange.static((1, 1, 4, 4)), progress_interval_s=0.05)
    text = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("compiling TensorRT fp32 engine for input 1x1x4x4") for m in text)
    assert any(m.startswith("still compiling") for m in text)
    assert any(m.startswith("finished compiling") for m in text)


def _build_in_child(root: str, marker: str) -> None:
    def build() -> str:
        with open(marker, "a") as handle:
            handle.write("built\n")
        import time

        time.sleep(0.3)
        return "engine"

    EngineCache(root).get_or_build({"k": "v"}, build, lambda e, p: p.write_text(e), lambda p: p.read_text())


def test_two_processes_starting_together_build_once(tmp_path: Path) -> None:
    marker = str(tmp_path / "builds.txt")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_build_in_child, args=(str(tmp_path), marker)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert Path(marker).read_text() == "built\n"
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("builds"))
    assert files == [f"engine-{cache_key({'k': 'v'})}{s}" for s in (".ep", ".ep.lock", ".json")]


@pytest.mark.parametrize(("version", "expected"), [
    ("2.8.0", {"enabled_precisions": {torch.float16}}),   # Jetson AI Lab wheels: the flag is needed
    ("2.9.0+cu128", {"enabled_precisions": {torch.float16}}),
    ("2.10.0", {}),                                        # the flag would raise under explicit typing
    ("2.13.0a0", {}),                                      # the flag is ignored; the half graph decides
])
def test_fp16_compile_arguments_follow_the_release(version: str, expected: dict) -> None:
    assert precision_kwargs(version, torch.float16) == expected
    assert precision_kwargs(version, torch.float32) == {}


def test_shape_range_validation() -> None:
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeRange.ranged((1, 1, 8, 8), (1, 1, 4, 4), (1, 1, 16, 16))
    with pytest.raises(ValueError, match="N×C×H×W"):
        ShapeRange.static((1, 4, 4))
    r = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 6, 8), (2, 1, 8, 8))
    assert r.contains((2, 1, 5, 8)) and not r.contains((1, 1, 3, 8)) and not r.is_static


def test_real_torch_tensorrt_compile_matches_pytorch(tmp_path: Path) -> None:
    pytest.importorskip("torch_tensorrt", reason="torch-tensorrt is not installed here (needs an NVIDIA GPU)")
    if not torch.cuda.is_available():
        pytest.skip("torch-tensorrt is installed but there is no CUDA GPU")
    net = tiny_net()
    x = np.random.default_rng(0).random((1, 1, 12, 16), dtype=np.float32)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    for precision, tol in (("fp32", 1e-4), ("fp16", 2e-2)):
        engine = TensorRTEngine(net, device="cuda", precision=precision, cache_dir=tmp_path,
                                shapes=ShapeRange.static(x.shape))
        out = engine.infer(x)
        assert np.abs(out - ref).max() / np.abs(ref).max() < tol
        reloaded = TensorRTEngine(net, device="cuda", precision=precision, cache_dir=tmp_path,
                                  shapes=ShapeRange.static(x.shape))
        np.testing.assert_allclose(reloaded.infer(x), out, rtol=1e-3, atol=1e-3)
