"""The validation curve of a run: rows every N steps into validation.csv, the card and validation.png, across a resume."""
import cv2
import numpy as np
import pytest
from dataset_files import write_pair_folder

from dsr_ros.train.curve_plot import PNG, plot_curves, ratio_series
from dsr_ros.train.recipe import recipe_from_dict
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.train.trainer import train
from dsr_ros.train.validation import CSV, Validation, read_curve, write_row

STEPS, EVERY = 8, 4


def recipe(out_dir):
    return recipe_from_dict({
        "name": "curve",
        "model": {"variant": "lite", "scale": 2, "features": 4, "shallow": 4, "units": 1},
        "data": {"patch": 16, "batch_size": 2},
        "train": {"steps": STEPS, "lr": 3e-3, "warmup_steps": 2, "checkpoint_every": EVERY, "log_every": 4, "seed": 5},
        "eval": {"scenes": 1, "size": 32},
        "output": {"dir": str(out_dir), "export": ""},
    })


@pytest.fixture(scope="module")
def validation(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    write_pair_folder(root, [scene3d_for_seed(seed, 48, 64).depth for seed in (11, 12)])
    return Validation.from_folder(root, EVERY)


def test_rows_land_in_the_csv_the_card_and_a_picture(tmp_path, validation):
    result = train(recipe(tmp_path / "run"), progress=False, validation=validation)
    rows = read_curve(tmp_path / "run")
    assert [r["step"] for r in rows] == [EVERY, STEPS]
    assert result.card.training["validation"]["curve"] == rows
    for row in rows:  # scored on the folder: a finite RMSE per degradation, and bicubic's beside it
        for kind in ("bicubic", "bicubic_aliased"):
            assert 0 < row[kind] < 10_000 and 0 < row[f"bicubic {kind}"] < 10_000
    picture = cv2.imread(str(tmp_path / "run" / PNG))
    assert picture is not None and picture.shape[0] > 200 and picture.shape[1] > 400
    assert picture.std() > 10, "a drawn figure, not a blank canvas"


def test_a_resumed_run_keeps_the_rows_before_its_checkpoint_and_drops_a_killed_runs_later_ones(tmp_path, validation):
    whole = train(recipe(tmp_path / "whole"), progress=False, validation=validation)
    out = tmp_path / "split"
    train(recipe(out), progress=False, validation=validation, stop_at=EVERY)
    write_row(out, {**read_curve(out)[0], "step": STEPS, "bicubic": -1.0})  # a row a killed run left past its checkpoint
    resumed = train(recipe(out), resume=True, progress=False, validation=validation)
    assert read_curve(out) == read_curve(tmp_path / "whole")
    assert resumed.card.training["validation"]["curve"] == whole.card.training["validation"]["curve"]
    assert (out / CSV).read_text().count("\n") == 1 + 2  # header and one row per validation step


def test_ratio_series_divides_by_bicubic_on_the_same_scenes():
    rows = [{"step": 100, "bicubic": 40.0, "bicubic bicubic": 80.0, "bicubic_aliased": 90.0, "bicubic bicubic_aliased": 90.0},
            {"step": 200, "bicubic": 30.0, "bicubic bicubic": 60.0, "bicubic_aliased": 45.0, "bicubic bicubic_aliased": 90.0}]
    assert ratio_series(rows, "bicubic") == ([100, 200], [0.5, 0.5])
    assert ratio_series(rows, "bicubic_aliased") == ([100, 200], [1.0, 0.5])


def test_the_picture_shows_the_curves_it_is_given(tmp_path):
    row = {"bicubic bicubic": 80.0, "bicubic bicubic_aliased": 90.0}
    rows = [{"step": s, "bicubic": 80.0 - s / 10, "bicubic_aliased": 90.0 - s / 20, **row} for s in (100, 200, 300)]
    drawn = cv2.imread(str(plot_curves({"run": rows}, tmp_path / "one.png")))
    other = cv2.imread(str(plot_curves({"run": rows[:1] + [{**rows[1], "bicubic": 20.0}] + rows[2:]}, tmp_path / "two.png")))
    empty = cv2.imread(str(plot_curves({"run": []}, tmp_path / "none.png")))
    assert drawn.shape == other.shape == empty.shape
    assert np.abs(drawn.astype(int) - other.astype(int)).sum() > 0, "a different point draws a different line"
    assert np.abs(drawn.astype(int) - empty.astype(int)).sum() > 0
