"""The `dsr` command end to end on real files: PNG, .npy, .pfm, folders, eval, and clear errors."""
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dsr_ros.cli import main
from dsr_ros.depth_files import read_depth, read_pfm, write_pfm
from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.weights import card_for, save_model


@pytest.fixture(scope="module")
def model_x2(tmp_path_factory):
    torch.manual_seed(0)
    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1))
    return save_model(tmp_path_factory.mktemp("m") / "tiny_x2.safetensors", net, card_for(net))


def depth_mm(h=6, w=9):
    d = np.random.default_rng(1).integers(500, 4000, (h, w)).astype(np.uint16)
    d[0, 0] = 0
    return d


def test_png_in_png_out(tmp_path, model_x2, capsys):
    cv2.imwrite(str(tmp_path / "in.png"), depth_mm())
    assert main(["upsample", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--scale", "2",
                 "--model", str(model_x2)]) == 0
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (12, 18)
    assert (out[:2, :2] == 0).all() and (out[2:, 2:] > 0).all()
    assert "upsampled 1 file(s) x2" in capsys.readouterr().out


def test_self_ensemble_option_writes_the_upsamplers_mirrored_average(tmp_path, model_x2):
    from dsr_ros.upsampler import Upsampler

    cv2.imwrite(str(tmp_path / "in.png"), depth_mm())
    assert main(["upsample", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--model", str(model_x2),
                 "--self-ensemble", "4"]) == 0
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    expected = Upsampler.from_file(model_x2, backend="torch", self_ensemble=4).upsample(depth_mm())
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert np.abs(out.astype(int) - Upsampler.from_file(model_x2, backend="torch").upsample(depth_mm())).max() > 5


def test_npy_and_pfm(tmp_path, model_x2):
    metres = depth_mm().astype(np.float32) / 1000
    metres[metres == 0] = np.nan
    np.save(tmp_path / "in.npy", metres)
    assert main(["upsample", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--model", str(model_x2),
                 "--scale", "2"]) == 0
    out = np.load(tmp_path / "out.npy")
    assert out.dtype == np.float32 and out.shape == (12, 18) and np.isnan(out[:2, :2]).all()
    write_pfm(tmp_path / "in.pfm", np.nan_to_num(metres, nan=np.inf))
    assert main(["upsample", str(tmp_path / "in.pfm"), str(tmp_path / "out.pfm"), "--model", str(model_x2),
                 "--scale", "2"]) == 0
    pfm = read_pfm(tmp_path / "out.pfm")
    assert pfm.shape == (12, 18) and np.isinf(pfm[0, 0]) and np.isfinite(pfm[2:, 2:]).all()
    np.testing.assert_allclose(pfm[2:, 2:], out[2:, 2:], atol=1e-5)


def test_pfm_orientation_round_trip(tmp_path):
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_pfm(tmp_path / "v.pfm", values)
    np.testing.assert_array_equal(read_depth(tmp_path / "v.pfm"), values)


def test_folder_with_progress(tmp_path, model_x2):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"f{i}.png"), depth_mm())
    (src / "notes.txt").write_text("ignored")
    assert main(["upsample", str(src), str(tmp_path / "dst"), "--model", str(model_x2), "--scale", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["f0.png", "f1.png", "f2.png"]


@pytest.mark.parametrize("setup,argv_tail,message", [
    (lambda p: None, ["missing.png", "o.png"], "no such file"),
    (lambda p: (p / "rgb.png").write_bytes(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()),
     ["rgb.png", "o.png"], "16-bit single-channel"),
    (lambda p: (p / "bad.npy").write_bytes(b"garbage"), ["bad.npy", "o.npy"], "not a readable .npy"),
    (lambda p: (p / "x.tif").write_bytes(b"x"), ["x.tif", "o.png"], "unsupported depth file type"),
])
def test_bad_files_give_one_clear_line(tmp_path, model_x2, capsys, monkeypatch, setup, argv_tail, message):
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    assert main(["upsample", *argv_tail, "--model", str(model_x2), "--scale", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dsr: error:") and message in err[0]


def test_model_scale_mismatch_and_bad_arguments(tmp_path, model_x2, capsys):
    cv2.imwrite(str(tmp_path / "in.png"), depth_mm())
    assert main(["upsample", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--scale", "4",
                 "--model", str(model_x2)]) == 2
    assert "expected x4, found x2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["upsample", "a", "b", "--scale", "3"])
    assert exc.value.code == 2
    assert main(["train", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "recipe not found" in capsys.readouterr().err


def test_train_runs_the_smoke_recipe_end_to_end(tmp_path, capsys):
    from dsr_ros.weights import load_model

    smoke = Path(__file__).resolve().parent.parent / "config" / "train" / "smoke.yaml"
    out = tmp_path / "smoke.safetensors"
    assert main(["train", "--config", str(smoke), "--output-dir", str(tmp_path / "run"), "--export", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"stage 2: DSRNet taught \d+ of \d+ rounds, DENet \d+; median held-back MAE", text)
    assert "| x4 degradation | bicubic | bilinear | DSRNet |" in text and f"wrote {out}" in text
    _, card = load_model(out, expected_scale=4)
    assert card.training["roles"] and (tmp_path / "run" / "tensorboard").is_dir()


def test_eval_prints_rmse_table(model_x2, capsys):
    assert main(["eval", "--model", str(model_x2), "--scale", "2", "--scenes", "2", "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "| x2 degradation | bicubic | bilinear | DSRNet |" in out
    summary, breakdown = out.split("where the error is")
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "degradation" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["bicubic", "bicubic_aliased", "nearest", "stereo", "tof"]
    assert all(float(v) > 0 for v in rows[0].split("|")[2:5])
    assert "| edge-band RMSE | smooth RMSE | beside truth holes: RMSE (pixels) | off > 5 % |" in breakdown
    assert breakdown.count("| DSRNet |") == 5


def test_model_file_without_scale_uses_the_card(tmp_path, model_x2):
    np.save(tmp_path / "in.npy", depth_mm())
    assert main(["upsample", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--model", str(model_x2)]) == 0
    assert np.load(tmp_path / "out.npy").shape == (12, 18)
