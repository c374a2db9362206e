"""The shipped models: complete cards, better than bicubic under every degradation, and they drive the demo and README."""
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from dsr_ros.cli import main
from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
from dsr_ros.train.evaluate import classical_upsample, evaluate, heldout_scenes
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import read_card, shipped_model_path, shipped_specialists

ROOT = Path(__file__).resolve().parents[1]
SCALES = (2, 4, 8, 16)


@pytest.mark.parametrize("scale", SCALES)
def test_shipped_model_card_is_complete(scale):
    card = read_card(shipped_model_path(scale))
    assert card.architecture == "DSRNet" and card.scale == scale and card.variant == "lite"
    assert card.normalisation == {"mode": "log_median"}
    training = card.training
    assert training["command"].startswith("dsr train --config config/train/")
    recipe = ROOT / training["recipe"]["path"]
    assert recipe.is_file() and "models/" not in recipe.read_text().split("output:")[1]  # recipes write to runs/
    assert training["steps"] == training["recipe"]["train"]["steps"] and training["wall_seconds"] > 0
    curve = training["validation"]["curve"]
    assert len(curve) >= 2 and curve[-1]["step"] == training["steps"]
    promotion = card.metrics["promotion"]
    told = ("", "_untold") if card.input_kinds else ("",)  # a model told its input kind won told and untold
    for where in (f"{place}{mode}" for place in ("heldout_synthetic", "validation") for mode in told):
        table = promotion[where]["table"]
        assert set(table) == set(EVAL_DEGRADATIONS)
        for kind, rows in table.items():
            assert rows["model"]["rmse"] < rows["bicubic"]["rmse"], f"x{scale} {where} {kind}"
    assert shipped_model_path(scale).stat().st_size < 5_000_000


@pytest.mark.parametrize("scale", SCALES)
def test_shipped_model_beats_bicubic_under_every_degradation(scale):
    up = Upsampler.from_pretrained(scale=scale, backend="torch")
    scenes = heldout_scenes(3, 128 if scale < 16 else 256, seed=1_000_000)
    for tell in (True, False) if up.input_kinds else (True,):  # told each degradation (specialists too), and untold
        for kind, row in evaluate(up, scenes, tell_kind=tell).items():
            assert row["model"] < row["bicubic"], f"x{scale} {kind} (told: {tell}): {row}"


@pytest.mark.parametrize("scale", SCALES)
def test_shipped_specialists_beat_bicubic_and_the_general_model_under_their_kind(scale):
    for kind, path in shipped_specialists(scale).items():
        card = read_card(path)
        assert card.specialist_kind == kind and not card.input_kinds and card.training["recipe"]["data"]["degradations"] == [kind]
        assert card.training["validation"]["curve"][-1]["step"] == card.training["steps"]
        for where in ("heldout_synthetic", "validation"):
            rows = card.metrics["promotion"][where]["table"][kind]
            assert rows["model"]["rmse"] < min(rows["bicubic"]["rmse"], rows["general"]["rmse"]), f"x{scale} {kind} {where}"


@pytest.mark.parametrize("scale", SCALES)
def test_sensor_holes_never_make_the_model_worse_than_bicubic(scale):
    """A frame with stereo-like holes: the model's error stays below bicubic's on the same frame."""
    up = Upsampler.from_pretrained(scale=scale, backend="torch")
    hr = scene3d_for_seed(1_000_050, 256, 256).depth
    for kind in ("stereo", "tof"):
        lr = degrade(hr, scale, kind, np.random.default_rng(3))
        assert np.isnan(lr).any()
        model, bicubic = up.upsample(lr), classical_upsample(lr, scale, cv2.INTER_CUBIC)
        scored = np.isfinite(hr) & np.isfinite(model) & np.isfinite(bicubic)
        rmse = {name: np.sqrt(np.mean((img[scored] - hr[scored]) ** 2)) for name, img in (("model", model), ("bicubic", bicubic))}
        assert rmse["model"] < rmse["bicubic"], f"x{scale} {kind}: {rmse}"


@pytest.mark.parametrize("scale", SCALES)
def test_far_pixel_leaves_the_shipped_output_unchanged(scale):
    up = Upsampler.from_pretrained(scale=scale, backend="torch")
    lr = degrade(scene3d_for_seed(1_000_060, 40 * scale, 40 * scale).depth, scale, "bicubic_aliased")
    far = lr.copy()
    far[0, 0] = 9.0
    for kind in (None, *up.input_kinds):  # the kind planes never see depth, nor do specialists see a far pixel
        up.input_kind = kind
        diff_mm = np.abs(up.upsample(far) - up.upsample(lr))[16 * scale :, 16 * scale :] * 1000
        assert np.nanpercentile(diff_mm, 99) <= 1.0, f"x{scale} told {kind}"


def test_demo_writes_picture_and_table(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert "per-frame time" in out and "| bicubic_aliased |" in out and "| stereo |" in out


def test_readme_python_example_runs_as_written(capsys):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Python API\n\n```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("(480, 640) uint16 4 lite")
    assert lines[1] == "(1, 480, 640)"
