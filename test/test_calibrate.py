"""Residual calibration: α scales how far the output leaves bicubic, chosen on synthetic frames for RMSE."""
import pytest
import torch
import torch.nn.functional as F

from dsr_ros.cli import main
from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.train.calibrate import CALIBRATION_SEED, calibrate, scale_residual
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.train.promote import HELDOUT
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import card_for, load_model, read_card, save_model


def tiny(scale: int = 4, cascade: int = 1, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_dsrnet(DSRNetConfig(scale=scale, cascade=cascade, features=4, shallow=4, units=1)).eval()


def test_alpha_blends_the_network_with_bicubic_exactly():
    net = tiny()
    lr = torch.randn(1, 1, 6, 7) * 0.3
    with torch.no_grad():
        base = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
        full = net(lr)
        torch.testing.assert_close(scale_residual(net, 0.0)(lr), base)
        torch.testing.assert_close(scale_residual(net, 0.7)(lr), base + 0.7 * (full - base), rtol=0, atol=1e-6)
        torch.testing.assert_close(scale_residual(net, 1.0)(lr), full)
    assert net(lr).equal(full)  # the original is left alone


def test_every_stage_of_a_cascade_is_scaled():
    net = tiny(16, 2)
    scaled = scale_residual(net, 0.5)
    for before, after in zip(net.stages, scaled.stages, strict=True):
        torch.testing.assert_close(after.reconstruct[0].weight, 0.5 * before.reconstruct[0].weight)
        torch.testing.assert_close(after.shallow[0].weight, before.shallow[0].weight)


def test_calibration_picks_the_alpha_with_the_lowest_mean_ratio_on_its_own_frames():
    net = tiny(seed=3)
    card = card_for(net)
    best, ratios = calibrate(net, card, scenes=2, size=64, alphas=(0.0, 0.5, 1.0))
    assert set(ratios) == {0.0, 0.5, 1.0} and best == min(ratios, key=lambda a: ratios[a]["mean"])
    assert ratios[0.0]["bicubic_aliased"] == pytest.approx(1.0, abs=0.05)  # α = 0: bicubic (on log depth)
    frames = heldout_scenes(2, 64, CALIBRATION_SEED)
    direct = evaluate(Upsampler.from_model(scale_residual(net, 0.5), card, backend="torch"), frames)
    assert ratios[0.5]["tof"] == pytest.approx(direct["tof"]["model"] / direct["tof"]["bicubic"])
    assert CALIBRATION_SEED != HELDOUT["seed"]  # never the frames promotion checks on


def test_a_specialist_is_calibrated_under_its_own_kind_only():
    net = tiny(seed=3)
    best, ratios = calibrate(net, card_for(net, specialist_kind="tof"), scenes=2, size=64, alphas=(0.5, 1.0))
    assert set(ratios[0.5]) == {"tof", "mean"} and ratios[0.5]["mean"] == ratios[0.5]["tof"]
    assert best == min(ratios, key=lambda a: ratios[a]["tof"])


def test_cli_writes_the_scaled_model_with_its_calibration_on_the_card(tmp_path, capsys):
    net = tiny(seed=4)
    source = save_model(tmp_path / "m.safetensors", net, card_for(net, training={"steps": 3}))
    out = tmp_path / "cal.safetensors"
    assert main(["calibrate", str(source), "--out", str(out), "--scenes", "1", "--size", "64",
                 "--alphas", "0.6", "1.0"]) == 0
    printed = capsys.readouterr().out
    calibration = read_card(out).training["calibration"]
    assert read_card(out).training["steps"] == 3 and set(calibration["ratios"]) == {"0.6", "1"}
    alpha = calibration["alpha"]
    assert f"| {alpha:g} (chosen) |" in printed and calibration["command"].startswith("dsr calibrate ")
    loaded, _ = load_model(out)
    torch.testing.assert_close(loaded.reconstruct[0].weight, alpha * net.reconstruct[0].weight)
    assert main(["calibrate", str(source), "--out", str(out), "--alphas", "0"]) == 2
    assert "--alphas" in capsys.readouterr().err
