"""The `dsr` error contract: bad arguments and unreadable inputs are one `dsr: error:` line and exit status 2."""
import ast
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from ros_helpers import TS, image_msg, scene_mm
from rosbags.rosbag2 import StoragePlugin, Writer

from dsr_ros.cli import SUBCOMMANDS, main
from dsr_ros.engine.torch_backend import TorchEngine
from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.ros.params import ConfigError, validate
from dsr_ros.train.recipe import RecipeError, recipe_from_dict
from dsr_ros.weights import card_for, save_model

PACKAGE = Path(__file__).resolve().parent.parent / "dsr_ros"
IMAGE, DEPTH = "sensor_msgs/msg/Image", "/camera/depth/image_raw"


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    """The single stderr line of a failed command; fails the test on a traceback, usage block or second line."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dsr: error: "), lines
    return lines[0]


def exit_status(argv: list[str]) -> int:
    """`dsr ARGV`'s exit status whether it returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture(scope="module")
def weights_x2(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1))
    return save_model(tmp_path_factory.mktemp("w") / "tiny_x2.safetensors", net, card_for(net))


@pytest.fixture(params=["truncated", "garbage"])
def broken_bag(request, tmp_path) -> Path:
    """An mcap bag cut off halfway, or one whose data file is not mcap at all."""
    path = tmp_path / "bag"
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(DEPTH, IMAGE, typestore=TS)
        for i in range(5):
            writer.write(conn, i, TS.serialize_cdr(image_msg(scene_mm(12, 9)), IMAGE))
    data = next(path.glob("*.mcap"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2] if request.param == "truncated" else b"junk" * 64)
    return path


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_bad_argument_is_one_line_for_every_subcommand(command, capsys):
    assert exit_status([command, "--no-such-option"]) == 2
    line = one_error_line(capsys)  # a missing required argument is reported first where there is one
    assert "--no-such-option" in line or "required" in line


def test_missing_argument_prints_no_usage_block(capsys):
    assert exit_status(["upsample"]) == 2
    assert one_error_line(capsys) == "dsr: error: the following arguments are required: input, output"


def test_upsample_rejects_a_device_the_node_rejects(tmp_path, capsys):
    assert exit_status(["upsample", "in.png", "out.png", "--device", "gpu"]) == 2
    assert "'gpu'" in one_error_line(capsys)
    with pytest.raises(ConfigError, match="'device'"):
        validate({"device": "gpu"})


def test_corrupt_bag_in_dsr_bag(broken_bag, tmp_path, weights_x2, capsys):
    argv = ["bag", str(broken_bag), str(tmp_path / "out"), "--depth-topic", DEPTH, "--model", str(weights_x2), "--quiet"]
    assert exit_status(argv) == 2
    assert str(broken_bag) in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_corrupt_bag_in_dsr_profile(broken_bag, weights_x2, capsys):
    argv = ["profile", "--scale", "2", "--model", str(weights_x2), "--bag", str(broken_bag), "--depth-topic", DEPTH,
            "--backend", "torch", "--warmup", "0", "--iterations", "1"]
    assert exit_status(argv) == 2
    assert str(broken_bag) in one_error_line(capsys)


@pytest.mark.parametrize(("section", "key", "value"), [
    ("train", "steps", "twelve"), ("train", "lr", "fast"), ("distill", "lam", [1]), ("model", "variant", "huge"),
    ("output", "tensorboard", "yes"), ("data", "degradations", "bicubic"), ("train", "steps", 12.5),
])
def test_recipe_value_of_the_wrong_type_names_the_key(section, key, value, tmp_path, capsys):
    with pytest.raises(RecipeError, match=rf"{section}\.{key}"):
        recipe_from_dict({section: {key: value}})
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({section: {key: value}}))
    assert exit_status(["train", "--config", str(recipe)]) == 2
    assert f"{section}.{key}" in one_error_line(capsys)


def test_recipe_numeric_string_is_a_float():
    """YAML 1.1 reads `lr: 1e-3` as the string '1e-3'; a float field takes it as the number it spells."""
    assert yaml.safe_load("lr: 1e-3") == {"lr": "1e-3"}
    assert recipe_from_dict(yaml.safe_load("train:\n  lr: 1e-3\n")).train.lr == 0.001


def test_resume_of_a_finished_run_says_so(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "model": {"scale": 2, "features": 4, "shallow": 4, "units": 1}, "data": {"patch": 16, "batch_size": 2},
        "train": {"steps": 2, "warmup_steps": 1, "checkpoint_every": 1}, "eval": {"scenes": 1, "size": 16},
        "output": {"dir": str(tmp_path / "run"), "tensorboard": False}}))
    assert main(["train", "--config", str(recipe)]) == 0
    assert "after 2 steps" in capsys.readouterr().out
    assert main(["train", "--config", str(recipe), "--resume"]) == 0
    out = capsys.readouterr().out
    assert "run already complete: 2 steps" in out and "nan" not in out


def test_export_onnx_takes_the_scale_from_the_card(tmp_path, weights_x2, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--onnx", str(out), "--model", str(weights_x2)]) == 0
    assert "×2" in capsys.readouterr().out and out.stat().st_size > 0


def test_torch_engine_leaves_the_callers_model_alone():
    model = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    engine = TorchEngine(model, channels_last=True)
    assert model.training and engine.model is not model
    assert all(p.is_contiguous() for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert engine.infer(np.full((1, 1, 4, 4), 0.5, np.float32)).shape == (1, 1, 8, 8)


def test_no_module_outside_cli_imports_argparse():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            if any(name and name.split(".")[0] == "argparse" for name in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


@pytest.mark.parametrize("command", ["eval", "upsample"])
def test_variant_base_is_not_offered_where_weights_are_needed(command, capsys):
    """No `base` weights ship, so commands that run a trained model accept only --variant lite."""
    assert exit_status([command, "--variant", "base"]) == 2
    assert "invalid choice: 'base'" in capsys.readouterr().err


def test_variant_base_stays_available_untrained_for_latency_work(capsys):
    """`dsr profile --untrained --variant base` parses: timing a network needs no weights."""
    from dsr_ros.cli import build_parser

    args = build_parser().parse_args(["profile", "--untrained", "--variant", "base", "--scale", "4"])
    assert args.variant == "base" and args.untrained
