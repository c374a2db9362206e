"""Real data sets end to end: reproducible training crops, masked losses, the NYU recipe, `dsr eval --dataset`."""
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from dataset_files import scenes, write_middlebury_2014, write_nyu, write_pair_folder, write_rgb_png

from dsr_ros.cli import main
from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.train import distill
from dsr_ros.train.data import batch_source, dataset_batch, random_crop
from dsr_ros.train.datasets import Sample
from dsr_ros.train.datasets.folder import PairFolder
from dsr_ros.train.datasets.middlebury import Middlebury
from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
from dsr_ros.train.evaluate import classical_upsample, evaluate
from dsr_ros.train.paper_units import NYU_CROP, middlebury_disparity, nyu_cm
from dsr_ros.train.recipe import RecipeError, load_recipe, recipe_from_dict
from dsr_ros.train.trainer import train
from dsr_ros.weights import card_for, save_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_x2(tmp_path_factory):
    torch.manual_seed(0)
    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1))
    return save_model(tmp_path_factory.mktemp("m") / "tiny_x2.safetensors", net, card_for(net))


@pytest.fixture(scope="module")
def nyu(tmp_path_factory):
    """A 480×640 NYU-format file of 3 images with a few invalid pixels, and an index file naming all three."""
    root = tmp_path_factory.mktemp("nyu")
    rgb, depth = scenes(3, 480, 640)
    depth[:, 200:210, 300:320] = 0.0
    write_nyu(root / "nyu_depth_v2_labeled.mat", rgb, depth)
    (root / "all.txt").write_text("0\n1\n2\n")
    return root, rgb, depth


def holey_folder(root: Path) -> PairFolder:
    """Two 40×48 pairs: one with a NaN block, one almost entirely invalid."""
    _, depth = scenes(2, 40, 48, first_seed=5)
    depth[0, 8:24, 10:30] = np.nan
    depth[1, :, 4:] = np.nan
    write_pair_folder(root, list(depth))
    return PairFolder(root)


def table_rows(out: str) -> dict[str, dict[str, float]]:
    """{degradation: {column header: value}} from the Markdown table `dsr eval` prints."""
    summary = out.split("where the error is")[0]  # the RMSE table; the breakdown follows it
    lines = [line for line in summary.splitlines() if line.startswith("|")]
    headers = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = {h: float(c.rstrip("×")) for h, c in zip(headers[1:], cells[1:], strict=True)}
    return rows


def test_dataset_batches_are_reproducible_per_step_and_skip_invalid_crops(tmp_path):
    data = holey_folder(tmp_path)
    a = dataset_batch(data, 1, 3, 6, 16, 2, ["bicubic", "sensor"])
    b = dataset_batch(data, 1, 3, 6, 16, 2, ["bicubic", "sensor"])
    for name in ("lr", "hr", "rgb", "reference"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0, equal_nan=True)
    assert a.lr.shape == (6, 1, 8, 8) and a.hr.shape == (6, 1, 16, 16) and a.rgb.shape == (6, 3, 16, 16)
    assert not torch.equal(torch.nan_to_num(a.hr), torch.nan_to_num(dataset_batch(data, 1, 4, 6, 16, 2, ["bicubic"]).hr))
    valid = torch.stack([torch.isfinite(dataset_batch(data, 0, k, 4, 16, 2, ["bicubic"]).hr).float().mean((1, 2, 3))
                         for k in range(5)])
    assert (valid >= 0.5).all() and (valid < 1).any(), "crops keep NaN ground truth but never mostly-invalid ones"
    assert torch.isfinite(a.lr).all()


def test_dataset_batch_fails_on_data_without_valid_crops(tmp_path):
    write_pair_folder(tmp_path, [np.full((20, 20), np.nan)])
    with pytest.raises(ValueError, match="no 16x16 crop with 50% valid depth"):
        dataset_batch(PairFolder(tmp_path), 0, 0, 1, 16, 2, ["bicubic"])


def test_random_crop_moves_rgb_and_depth_together_and_flips_left_right():
    depth = np.arange(30 * 40, dtype=np.float32).reshape(30, 40)
    sample = Sample(rgb=np.stack([depth, -depth, depth * 0], axis=2), depth=depth, name="ramp")
    rng = np.random.default_rng(0)
    flipped = []
    for _ in range(12):
        rgb, d = random_crop(sample, 8, rng)
        np.testing.assert_array_equal(rgb[..., 0], d)
        assert (np.diff(d, axis=0) == 40).all(), "never upside down"
        flipped.append(bool(d[0, 0] > d[0, 1]))
    assert any(flipped) and not all(flipped)


def _real_recipe(tmp_path, **data):
    return recipe_from_dict({
        "model": {"variant": "lite", "scale": 2, "features": 4, "shallow": 4, "units": 1},
        "data": {"patch": 16, "batch_size": 4, **data},
        "train": {"steps": 3, "warmup_steps": 1, "checkpoint_every": 3, "log_every": 1, "threads": 1},
        "output": {"dir": str(tmp_path / "run"), "export": ""},
    })


def test_supervised_training_masks_invalid_ground_truth(tmp_path):
    holey_folder(tmp_path / "pairs")
    recipe = _real_recipe(tmp_path, source="folder", path=str(tmp_path / "pairs"))
    batches = batch_source(recipe)
    assert any(torch.isnan(batches(recipe.train.seed, k, 4).hr).any() for k in range(3))
    result = train(recipe, progress=False)
    assert np.isfinite(result.first_loss) and np.isfinite(result.last_loss)
    assert result.card.training["data"].startswith("folder training data (2 images)")


def test_recipe_data_source_errors_name_the_key(tmp_path):
    with pytest.raises(RecipeError, match="data.source must be one of .*'kitti'"):
        _real_recipe(tmp_path, source="kitti")
    with pytest.raises(RecipeError, match="data.path is required with data.source 'nyu'"):
        _real_recipe(tmp_path, source="nyu")
    with pytest.raises(RecipeError, match="data.split is only for data.source 'nyu'"):
        _real_recipe(tmp_path, source="folder", path="x", split="s.txt")
    with pytest.raises(RecipeError, match="data.path '.*missing' .*no rgb"):
        batch_source(_real_recipe(tmp_path, source="folder", path=str(tmp_path / "missing")))


def test_nyu_recipe_runs_two_steps_on_a_nyu_format_file(nyu, tmp_path):
    root, _, _ = nyu
    r = load_recipe(ROOT / "config" / "train" / "nyu_lite_x4.yaml")
    assert r.data.source == "nyu" and r.distill.enabled and r.model.scale == 4
    r.data = dataclasses.replace(r.data, path=str(root / "nyu_depth_v2_labeled.mat"), split=str(root / "all.txt"))
    r.train = dataclasses.replace(r.train, steps=2, threads=1)
    r.distill = dataclasses.replace(r.distill, stage1_steps=1)
    r.output = dataclasses.replace(r.output, dir=str(tmp_path / "run"))
    result = distill.train_two_stage(r, progress=False)
    assert result.steps == 2 and np.isfinite(result.last_loss)
    assert [x["round"] for x in result.card.training["roles"]] == [0]
    assert result.card.training["data"].startswith("nyu training data (3 images, split ")


def test_nyu_cm_scores_only_the_standard_crop():
    depth = np.full((480, 640), 2.5)
    cm = nyu_cm(depth, Sample(rgb=np.zeros((1, 1, 3)), depth=depth, name="n"))
    assert np.isfinite(cm).sum() == 426 * 560 and (cm[NYU_CROP] == 250).all()
    assert np.isnan(cm[44, 300]) and np.isnan(cm[471, 300]) and np.isnan(cm[200, 40]) and np.isnan(cm[200, 601])
    with pytest.raises(ValueError, match="480x640"):
        nyu_cm(depth[:240], Sample(rgb=np.zeros((1, 1, 3)), depth=depth, name="n"))


def _middlebury(root: Path) -> None:
    """A 2014 scene and a 2005 Third-size scene whose disparities come from procedural depth."""
    _, depth = scenes(2, 370, 40, first_seed=9)
    disp14 = 193.001 * 3997.684 / 1000 / depth[0, :64] - 131.111
    disp14[:3, :3] = np.inf
    write_middlebury_2014(root / "Adirondack", disp14)
    (root / "Art").mkdir()
    disp05 = np.clip(np.round(3740 / 3 * 0.160 / depth[1]), 1, 255).astype(np.uint8)
    disp05[:4, :4] = 0
    cv2.imwrite(str(root / "Art" / "disp1.png"), disp05)
    write_rgb_png(root / "Art" / "view1.png", 370, 40)


def test_middlebury_disparity_inverts_the_loaders_depth(tmp_path):
    _middlebury(tmp_path)
    for sample in Middlebury(tmp_path):
        np.testing.assert_allclose(middlebury_disparity(sample.depth, sample), sample.disparity, rtol=1e-5)


def test_eval_nyu_reports_cm_on_the_crop_only(nyu, model_x2, tmp_path, capsys):
    _, rgb, depth = nyu
    noisy = depth[:1].copy()
    noisy[0, :30] = np.where(np.indices((30, 640)).sum(0) % 2, 0.5, 6.0)  # huge errors, all above the crop
    write_nyu(tmp_path / "clean.mat", rgb[:1], depth[:1])
    write_nyu(tmp_path / "noisy.mat", rgb[:1], noisy)
    (tmp_path / "first.txt").write_text("0\n")
    tables = {}
    for name in ("clean", "noisy"):
        assert main(["eval", "--dataset", "nyu", "--path", str(tmp_path / f"{name}.mat"), "--split",
                     str(tmp_path / "first.txt"), "--model", str(model_x2), "--scale", "2"]) == 0
        out = capsys.readouterr().out
        assert "rows 45:471 and cols 41:601" in out
        tables[name] = table_rows(out)
    for kind in ("bicubic", "bicubic_aliased"):
        clean, noisy = tables["clean"][kind], tables["noisy"][kind]
        assert all(np.isfinite(v) and v > 0 for v in clean.values())
        assert noisy["bicubic"] > 3 * clean["bicubic"], "the mm column scores the whole frame"
        for method in ("bicubic", "bilinear"):
            assert noisy[f"{method} (cm)"] == pytest.approx(clean[f"{method} (cm)"], rel=1e-3)


def test_eval_middlebury_in_disparity_and_folder_in_mm(tmp_path, model_x2, capsys):
    _middlebury(tmp_path / "mb")
    assert main(["eval", "--dataset", "middlebury", "--path", str(tmp_path / "mb"), "--model", str(model_x2),
                 "--scale", "2"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert set(rows) == set(EVAL_DEGRADATIONS)
    for row in rows.values():
        assert {"bicubic (disp)", "bilinear (disp)", "DSRNet (disp)"} <= set(row)
        assert all(np.isfinite(v) and v > 0 for v in row.values())
    holey_folder(tmp_path / "pairs")
    assert main(["eval", "--dataset", "folder", "--path", str(tmp_path / "pairs"), "--model", str(model_x2),
                 "--scale", "2"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert all(set(row) == {"bicubic", "bilinear", "DSRNet", "bicubic ÷ DSRNet"} for row in rows.values())
    assert all(np.isfinite(v) and v > 0 for row in rows.values() for v in row.values())


def test_eval_dataset_errors_are_one_line(tmp_path, model_x2, capsys):
    assert main(["eval", "--dataset", "nyu", "--model", str(model_x2), "--scale", "2"]) == 2
    assert "--path is required" in capsys.readouterr().err
    assert main(["eval", "--dataset", "folder", "--path", str(tmp_path), "--split", "s.txt", "--model", str(model_x2),
                 "--scale", "2"]) == 2
    assert "only used with NYU" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["bicubic", "bicubic_aliased", "nearest", "sensor"])
def test_degrading_ground_truth_with_holes_keeps_holes_local(kind):
    _, depth = scenes(1, 32, 32, first_seed=2)
    hr = depth[0].copy()
    hr[8:16, 8:16] = np.nan  # exactly LR block (2..3, 2..3) at x4
    hr[0, 0] = np.nan  # one pixel does not blank its block
    lr = degrade(hr, 4, kind, np.random.default_rng(0))
    assert np.isnan(lr[2:4, 2:4]).all()
    clean = degrade(depth[0], 4, kind, np.random.default_rng(0))
    outside = np.ones((8, 8), bool)
    outside[2:4, 2:4] = False
    assert np.isfinite(lr[outside]).sum() == np.isfinite(clean[outside]).sum()


class _BicubicWithBlindSpot:
    """A stand-in model: bicubic, but predicting nothing (NaN) in the left half of the frame."""

    scale = 2
    rgb_guided = False  # depth only, as the Upsampler it stands in for says
    input_kinds = ()  # and never told its input kind

    def upsample(self, lr):
        out = classical_upsample(lr, 2, cv2.INTER_CUBIC)
        out[:, : out.shape[1] // 2] = np.nan
        return out


def test_all_methods_are_scored_on_the_same_pixels():
    table = evaluate(_BicubicWithBlindSpot(), [d for d in scenes(2, 32, 48, first_seed=3)[1]], ("bicubic",))
    assert table["bicubic"]["model"] == pytest.approx(table["bicubic"]["bicubic"], rel=1e-9)
    assert table["bicubic"]["bilinear"] != pytest.approx(table["bicubic"]["bicubic"], rel=1e-3)
