"""`dsr export`, `dsr compile` and `dsr profile` end to end on tiny sizes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from cli_harness import run_subcommand
from engine_fakes import tiny_net

from dsr_ros.cli import compile as compile_cli
from dsr_ros.cli import export as export_cli
from dsr_ros.cli import profile as profile_cli
from dsr_ros.cli.common import CliError
from dsr_ros.engine.tensorrt_backend import tensorrt_missing
from dsr_ros.profiling.report import STAT_KEYS, count_macs
from dsr_ros.weights import card_for, save_model


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep exported/compiled engines out of the user's ~/.cache."""
    monkeypatch.setenv("DSR_ROS_CACHE", str(tmp_path / "engine_cache"))


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    net = tiny_net(scale=2, seed=4)
    return save_model(tmp_path / "tiny_x2.safetensors", net, card_for(net))


def check_entry(entry: dict, backend: str, h: int, w: int) -> None:
    assert entry["backend"] == backend and entry["device"] == "cpu" and entry["input"] == [h, w]
    assert entry["fps"] > 0
    assert list(entry["stages"]) == ["decode", "preprocess", "infer", "postprocess", "encode"]
    for stats in entry["stages"].values():
        assert list(stats) == list(STAT_KEYS)
        assert 0 <= stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"] <= stats["max_ms"]


def test_export_onnx_end_to_end(tmp_path: Path, weights: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "sub" / "tiny.onnx"
    assert run_subcommand(export_cli, ["export", "--onnx", str(out), "--scale", "2", "--model", str(weights)]) == 0
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    assert f"wrote {out}" in capsys.readouterr().out
    import onnxruntime as ort

    x = np.random.default_rng(0).random((1, 1, 11, 7), dtype=np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"lr": x})[0]
    with torch.inference_mode():
        ref = tiny_net(scale=2, seed=4)(torch.from_numpy(x)).numpy()
    assert np.abs(got - ref).max() / np.abs(ref).max() < 1e-4


def test_export_rejects_wrong_scale_and_missing_mode(tmp_path: Path, weights: Path) -> None:
    with pytest.raises(CliError, match="scale mismatch"):
        run_subcommand(export_cli, ["export", "--onnx", str(tmp_path / "x.onnx"), "--scale", "4", "--model", str(weights)])
    with pytest.raises(SystemExit):
        run_subcommand(export_cli, ["export", "--scale", "2", "--model", str(weights)])


def test_profile_single_json_schema_and_plot(tmp_path: Path, weights: Path) -> None:
    argv = ["profile", "--scale", "2", "--model", str(weights), "--height", "12", "--width", "16", "--backend", "torch",
            "--warmup", "1", "--iterations", "6", "--json", str(tmp_path / "p.json"), "--plot", str(tmp_path / "p.png")]
    assert run_subcommand(profile_cli, argv) == 0
    entry = json.loads((tmp_path / "p.json").read_text())
    check_entry(entry, "torch", 12, 16)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_compare_reports_ratio_vs_eager_torch(tmp_path: Path, weights: Path, capsys) -> None:
    argv = ["profile", "--scale", "2", "--model", str(weights), "--height", "10", "--width", "14", "--warmup", "1",
            "--iterations", "4", "--compare", "torch,onnxruntime", "--encoding", "32FC1", "--json", str(tmp_path / "c.json")]
    assert run_subcommand(profile_cli, argv) == 0
    entries = json.loads((tmp_path / "c.json").read_text())
    assert [e["backend"] for e in entries] == ["torch:eager", "torch", "onnxruntime"]
    for entry in entries:
        check_entry(entry, entry["backend"], 10, 14)
    assert entries[0]["ratio_vs_torch"] == 1.0 and all(e["ratio_vs_torch"] > 0 for e in entries)
    assert "x the latency of torch:eager" in capsys.readouterr().out


def test_profile_times_self_ensemble_counts_in_one_run(tmp_path: Path, weights: Path, capsys) -> None:
    argv = ["profile", "--scale", "2", "--model", str(weights), "--height", "10", "--width", "14", "--warmup", "1",
            "--iterations", "4", "--backend", "torch", "--self-ensemble", "1,4", "--json", str(tmp_path / "e.json")]
    assert run_subcommand(profile_cli, argv) == 0
    entries = json.loads((tmp_path / "e.json").read_text())
    assert [e["backend"] for e in entries] == ["torch", "torch x4 mirrored"]
    assert entries[0]["ratio_vs_first"] == 1.0 and entries[1]["ratio_vs_first"] > 0
    assert "x the latency of torch\n" in capsys.readouterr().out
    for bad in ("3", "1,x"):
        with pytest.raises(CliError, match="--self-ensemble"):
            run_subcommand(profile_cli, [*argv[:-4], "--self-ensemble", bad])


def test_profile_bad_backend_spec_is_a_cli_error(weights: Path) -> None:
    with pytest.raises(CliError, match="unknown back end 'tensorflow'"):
        run_subcommand(profile_cli, ["profile", "--scale", "2", "--model", str(weights), "--backend", "tensorflow"])
    with pytest.raises(CliError, match="unknown option 'turbo'"):
        run_subcommand(profile_cli, ["profile", "--scale", "2", "--model", str(weights), "--backend", "torch:turbo"])


def test_mac_count_matches_hand_count_for_one_conv() -> None:
    conv = torch.nn.Conv2d(1, 3, 3, padding=1)
    assert count_macs(conv, 5, 7) == 5 * 7 * 3 * 9


@pytest.mark.skipif(tensorrt_missing("cuda") is None, reason="TensorRT is usable here; the error path is not")
def test_compile_without_tensorrt_says_what_is_missing(weights: Path) -> None:
    with pytest.raises(CliError, match="cannot compile a TensorRT engine: .*(CUDA|torch-tensorrt)"):
        run_subcommand(compile_cli, ["compile", "--scale", "2", "--model", str(weights), "--height", "8", "--width", "8"])


def test_compile_range_arguments_are_validated(weights: Path) -> None:
    with pytest.raises(CliError, match="max-height"):
        run_subcommand(compile_cli, ["compile", "--scale", "2", "--model", str(weights), "--height", "8", "--width",
                                     "8", "--max-height", "4"])


def test_compile_shapes_carry_the_models_input_channels() -> None:
    import argparse

    from dsr_ros.cli.compile import shapes_from_args

    args = argparse.Namespace(height=120, width=160, max_height=None, max_width=None)
    assert shapes_from_args(args).opt == (1, 1, 120, 160)
    assert shapes_from_args(args, channels=2).opt == (1, 2, 120, 160)  # a mask_input model: depth and validity
    ranged = shapes_from_args(argparse.Namespace(height=120, width=160, max_height=240, max_width=None), channels=2)
    assert (ranged.min, ranged.max) == ((1, 2, 1, 1), (1, 2, 240, 160))
