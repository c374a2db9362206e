"""dsr_ros.train.data for `make mutation`: batch assembly from tiny sources, fast enough for the selection.

Expected values follow from the module's contract: batch k comes from a generator seeded by (seed, k);
lr and hr are log ratios to one reference, the median of the valid LR depths; a crop is an aligned
rgb/depth window mirrored left-right half the time; a real crop needs half its pixels valid, and a
batch item gives up after CROP_TRIES draws. Depth ramps make every crop tell where it came from.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_files import scenes, write_nyu, write_pair_folder

from dsr_ros.depth import LogDepth
from dsr_ros.train import data as td
from dsr_ros.train.datasets import Sample
from dsr_ros.train.datasets.folder import PairFolder
from dsr_ros.train.degrade import nearest
from dsr_ros.train.recipe import DataSection, ModelSection, Recipe, RecipeError
from dsr_ros.train.scene_pool import ScenePool, pool_folder
from dsr_ros.train.scenes3d import scene3d_for_seed


def position_sample(h: int, w: int, name: str = "ramp") -> Sample:
    """Depth 1 + 0.01·x + 0.1·y m (every pixel distinct); rgb channels x/w, y/h, 0.5: both encode the place."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.dstack([xx / w, yy / h, np.full_like(xx, 0.5)]).astype(np.float32)
    return Sample(rgb=rgb, depth=(1.0 + 0.01 * xx + 0.1 * yy).astype(np.float32), name=name)


def where_from(sample: Sample, rgb: np.ndarray, depth: np.ndarray) -> tuple[int, int, bool]:
    """(y, x, mirrored) of a crop of a position_sample, after checking rgb and depth are that same window."""
    mirrored = bool(depth[0, 0] > depth[0, -1])
    if mirrored:
        rgb, depth = rgb[:, ::-1], depth[:, ::-1]
    y, x = np.unravel_index(int(np.abs(sample.depth - depth[0, 0]).argmin()), sample.depth.shape)
    p, q = depth.shape
    np.testing.assert_allclose(depth, sample.depth[y : y + p, x : x + q], atol=1e-5)
    np.testing.assert_array_equal(rgb, sample.rgb[y : y + p, x : x + q])
    return int(y), int(x), mirrored


class Counted(list):
    """A list data set that records which indices were read."""

    def __init__(self, samples: list[Sample]) -> None:
        super().__init__(samples)
        self.reads: list[int] = []

    def __getitem__(self, index: int) -> Sample:
        self.reads.append(index)
        return super().__getitem__(index)


def metres(log_ratio: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
    """A batch item's log ratio back to metres."""
    return np.exp(log_ratio.numpy().astype(np.float64)) * float(reference)


def test_batch_to_moves_all_four_tensors_unchanged() -> None:
    """Batch.to returns a Batch with the same lr, hr, rgb and reference on the target device."""
    b = td.Batch(torch.rand(2, 1, 3, 3), torch.rand(2, 1, 6, 6), torch.rand(2, 3, 6, 6), torch.tensor([1.0, 2.0]))
    moved = b.to(torch.device("cpu"))
    assert isinstance(moved, td.Batch)
    for name in ("lr", "hr", "rgb", "reference"):
        assert torch.equal(getattr(moved, name), getattr(b, name)) and getattr(moved, name).device.type == "cpu"
    meta = b.to(torch.device("meta"))  # a device the tensors are not on yet: each of the four goes there
    assert [t.device.type for t in (meta.lr, meta.hr, meta.rgb, meta.reference)] == ["meta"] * 4
    assert meta.hr.shape == b.hr.shape and meta.rgb.dtype == b.rgb.dtype


def test_make_pair_encodes_both_sides_relative_to_the_lr_median() -> None:
    """make_pair: lr is the degraded frame, both log ratios use the median of the valid LR depths."""
    hr = position_sample(8, 12).depth
    lr_log, hr_log, norm = td.make_pair(hr, 2, "nearest", np.random.default_rng(0))
    lr = nearest(hr, 2)
    assert norm.reference == pytest.approx(float(np.median(lr)))
    assert lr_log.shape == (4, 6) and hr_log.shape == (8, 12)
    np.testing.assert_allclose(lr_log, np.log(lr / norm.reference), atol=1e-6)
    np.testing.assert_allclose(hr_log, np.log(hr / norm.reference), atol=1e-6)


def test_make_pair_keeps_invalid_ground_truth_as_nan_and_fills_lr_holes_quietly() -> None:
    """Non-positive HR depth: NaN in the hr target, a filled LR input, and no numpy warning about it."""
    hr = np.full((8, 8), 2.0, np.float32)
    hr[:2, :2] = -1.0  # one whole LR pixel (block 0, 0) of invalid readings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr_log, hr_log, norm = td.make_pair(hr, 2, "nearest", np.random.default_rng(0))
    assert norm.reference == 2.0
    assert np.isnan(hr_log[:2, :2]).all() and np.isfinite(hr_log[2:]).all()
    np.testing.assert_allclose(lr_log, 0.0)  # the hole got its neighbour's log ratio, log(2 / 2)


def test_item_draws_its_degradation_from_the_list_and_puts_channels_first() -> None:
    """_item: the degradation comes from `degradations`; rgb goes H×W×C → C×H×W."""
    s = position_sample(8, 12)
    lr, hr, rgb, norm = td._item(s.rgb, s.depth, 2, ["nearest"], np.random.default_rng(1))
    np.testing.assert_allclose(np.exp(lr) * norm.reference, nearest(s.depth, 2), rtol=1e-6)
    np.testing.assert_allclose(np.exp(hr) * norm.reference, s.depth, rtol=1e-6)
    assert rgb.shape == (3, 8, 12)
    np.testing.assert_array_equal(rgb, s.rgb.transpose(2, 0, 1))
    # with two kinds both are drawn over a few items (nearest reproduces block centres exactly, bicubic not)
    rng = np.random.default_rng(2)
    kinds = set()
    for _ in range(12):
        lr, _, _, norm = td._item(s.rgb, s.depth, 2, ["nearest", "bicubic"], rng)
        kinds.add(bool(np.allclose(np.exp(lr) * norm.reference, nearest(s.depth, 2), rtol=1e-6)))
    assert kinds == {True, False}


def test_stack_builds_n1hw_log_ratios_float32_rgb_and_references() -> None:
    """_stack: lr N×1×h×w, hr N×1×H×W, rgb N×3×H×W float32 (contiguous), one reference per sample."""
    items = [(np.full((2, 3), k, np.float32), np.full((4, 6), -k, np.float32), np.full((3, 4, 6), k / 4, np.float64)[
        :, :, ::-1], LogDepth(1.5 + k)) for k in range(3)]
    b = td._stack(items)
    assert b.lr.shape == (3, 1, 2, 3) and b.hr.shape == (3, 1, 4, 6) and b.rgb.shape == (3, 3, 4, 6)
    assert b.rgb.dtype == torch.float32 and b.rgb.is_contiguous()
    assert b.lr[:, 0, 0, 0].tolist() == [0.0, 1.0, 2.0] and b.hr[:, 0, 0, 0].tolist() == [0.0, -1.0, -2.0]
    assert b.rgb[:, 0, 0, 0].tolist() == [0.0, 0.25, 0.5]
    assert b.reference.tolist() == [1.5, 2.5, 3.5]


def test_synthetic_batch_is_reproducible_per_seed_and_step_with_paired_lr_and_hr() -> None:
    """synthetic_batch: (seed, step) fixes the batch; lr is the nearest-sampled hr on the same reference."""
    b = td.synthetic_batch(3, 5, 2, 16, 4, ["nearest"])
    assert b.lr.shape == (2, 1, 4, 4) and b.hr.shape == (2, 1, 16, 16) and b.rgb.shape == (2, 3, 16, 16)
    assert b.reference.shape == (2,) and b.rgb.dtype == torch.float32
    again = td.synthetic_batch(3, 5, 2, 16, 4, ["nearest"])
    for name in ("lr", "hr", "rgb", "reference"):
        assert torch.equal(getattr(b, name), getattr(again, name))
    assert not torch.equal(td.synthetic_batch(3, 6, 2, 16, 4, ["nearest"]).hr, b.hr)
    assert not torch.equal(td.synthetic_batch(4, 5, 2, 16, 4, ["nearest"]).hr, b.hr)
    assert not torch.equal(b.hr[0], b.hr[1])  # each item is its own scene
    for i in range(2):
        hr, lr = metres(b.hr[i, 0], b.reference[i]), metres(b.lr[i, 0], b.reference[i])
        assert np.isfinite(hr).all() and 0.19 < hr.min() and hr.max() < 20.1  # render_scene clips to 0.2-20 m
        np.testing.assert_allclose(lr, nearest(hr, 4), rtol=1e-5)
        assert float(b.reference[i]) == pytest.approx(float(np.median(lr)), rel=1e-5)
        assert 0.0 <= float(b.rgb[i].min()) and float(b.rgb[i].max()) <= 1.0 and float(b.rgb[i].std()) > 0.01


def test_random_crop_is_an_aligned_window_anywhere_mirrored_half_the_time() -> None:
    """random_crop: every position occurs, rgb and depth share the window and the flip, about half mirrored."""
    s = position_sample(7, 9)
    seen, flips = set(), 0
    rng = np.random.default_rng(0)
    for _ in range(400):
        rgb, depth = td.random_crop(s, 4, rng)
        assert rgb.shape == (4, 4, 3) and depth.shape == (4, 4)
        assert rgb.flags.c_contiguous and depth.flags.c_contiguous
        y, x, mirrored = where_from(s, rgb, depth)
        seen.add((y, x))
        flips += mirrored
    assert seen == {(y, x) for y in range(4) for x in range(6)}
    assert 140 < flips < 260


def test_random_crop_of_exactly_patch_size_is_the_whole_sample() -> None:
    """A sample as large as the patch has one crop position: the whole frame (maybe mirrored)."""
    s = position_sample(5, 5)
    for seed in range(8):
        assert where_from(s, *td.random_crop(s, 5, np.random.default_rng(seed)))[:2] == (0, 0)


@pytest.mark.parametrize(("h", "w"), [(4, 9), (9, 4)])
def test_random_crop_rejects_a_sample_smaller_than_the_patch_in_either_side(h: int, w: int) -> None:
    """Either side under the patch is an error naming the sample, its size and data.patch."""
    with pytest.raises(ValueError) as err:
        td.random_crop(position_sample(h, w, "tiny"), 5, np.random.default_rng(0))
    assert str(err.value) == f"tiny: {w}x{h} is smaller than data.patch 5"


def test_dataset_batch_crops_every_sample_reproducibly() -> None:
    """dataset_batch: samples drawn from the whole data set; (seed, step) fixes the batch, another step differs."""
    samples = [replace(position_sample(6, 6), depth=position_sample(6, 6).depth + k) for k in range(3)]
    dataset = Counted(samples)
    b = td.dataset_batch(dataset, 1, 2, 24, 4, 2, ["nearest"])
    assert b.lr.shape == (24, 1, 2, 2) and b.hr.shape == (24, 1, 4, 4) and b.rgb.shape == (24, 3, 4, 4)
    assert sorted(set(dataset.reads)) == [0, 1, 2] and len(dataset.reads) == 24  # all valid: one draw each
    for i, k in enumerate(dataset.reads):
        hr = metres(b.hr[i, 0], b.reference[i]) - k  # back to the position ramp of sample k
        rgb = b.rgb[i].numpy().transpose(1, 2, 0)
        where_from(samples[0], rgb, hr)
    again = td.dataset_batch(Counted(samples), 1, 2, 24, 4, 2, ["nearest"])
    assert torch.equal(again.hr, b.hr) and torch.equal(again.rgb, b.rgb)
    assert not torch.equal(td.dataset_batch(Counted(samples), 1, 3, 24, 4, 2, ["nearest"]).hr, b.hr)


def test_dataset_batch_accepts_a_crop_exactly_half_valid() -> None:
    """MIN_VALID is inclusive: a crop with exactly half its ground truth valid is used."""
    s = position_sample(4, 4)
    s.depth[:, :2] = np.nan
    b = td.dataset_batch([s], 0, 0, 2, 4, 2, ["nearest"])
    assert np.isnan(b.hr.numpy()).mean() == 0.5


def test_dataset_batch_redraws_invalid_crops_and_gives_up_after_crop_tries() -> None:
    """Mostly invalid crops are redrawn; after CROP_TRIES draws of nothing usable the error says so."""
    bad = position_sample(8, 8, "bad")
    bad.depth[:, :5] = np.nan  # at most 3 of 8 columns valid in any 8x8 crop
    good = Counted([bad, position_sample(8, 8, "good")])
    b = td.dataset_batch(good, 0, 0, 6, 8, 2, ["nearest"])
    assert np.isfinite(b.hr.numpy()).all()  # only the good sample made it into the batch
    assert good.reads.count(1) == 6 and good.reads.count(0) > 0
    only_bad = Counted([bad])
    with pytest.raises(ValueError) as err:
        td.dataset_batch(only_bad, 0, 0, 2, 8, 2, ["nearest"])
    assert str(err.value) == "no 8x8 crop with 50% valid depth in 20 tries"
    assert len(only_bad.reads) == td.CROP_TRIES == 20


def test_batch_source_serves_synthetic_or_dataset_batches_with_its_patch_scale_and_kinds() -> None:
    """BatchSource(seed, step, n) is synthetic_batch without a data set, dataset_batch with one."""
    data = DataSection(patch=12, degradations=["nearest"])
    synthetic = td.BatchSource(data, 3)(7, 1, 2)
    expected = td.synthetic_batch(7, 1, 2, 12, 3, ["nearest"])
    assert synthetic.lr.shape == (2, 1, 4, 4)
    assert torch.equal(synthetic.hr, expected.hr) and torch.equal(synthetic.lr, expected.lr)
    samples = [position_sample(16, 16)]
    real = td.BatchSource(data, 3, samples)(7, 1, 2)
    expected = td.dataset_batch(samples, 7, 1, 2, 12, 3, ["nearest"])
    assert real.lr.shape == (2, 1, 4, 4)
    assert torch.equal(real.hr, expected.hr) and torch.equal(real.lr, expected.lr)
    assert not torch.equal(td.BatchSource(replace(data, degradations=["bicubic"]), 3, samples)(7, 1, 2).lr, real.lr)


def test_batch_source_descriptions_for_the_model_card() -> None:
    """The description names the source, its size and the crop settings."""
    assert td.BatchSource(DataSection(), 4).description == "synthetic procedural scenes (dsr_ros.train.synthetic)"
    pool = DataSection(source="synthetic3d", scenes=3, scene_size=64, pool_seed=10, patch=32)
    assert td.BatchSource(pool, 4, [None] * 3).description == (
        "synthetic v2 3D scenes (dsr_ros.train.scenes3d): pool of 3 at 64px, seeds 10..12; "
        "random 32px crops, left-right flips")
    nyu = DataSection(source="nyu", split="splits.mat", patch=48)
    assert td.BatchSource(nyu, 4, [None] * 5).description == (
        "nyu training data (5 images, split splits.mat): random 48px crops, left-right flips")
    folder = DataSection(source="folder", patch=24)
    assert td.BatchSource(folder, 4, [None] * 2).description == (
        "folder training data (2 images): random 24px crops, left-right flips")


def test_batch_source_for_a_synthetic_recipe_has_no_data_set() -> None:
    """data.source synthetic: no data set, the recipe's data section and model scale."""
    recipe = Recipe(model=ModelSection(scale=2), data=DataSection(source="synthetic", patch=8))
    source = td.batch_source(recipe)
    assert source.dataset is None and source.scale == 2 and source.data is recipe.data


def test_batch_source_renders_the_synthetic3d_pool_into_the_cache(tmp_path: Path) -> None:
    """data.source synthetic3d: a pool of data.scenes scenes of data.scene_size from data.pool_seed in data.cache."""
    data = DataSection(source="synthetic3d", scenes=2, scene_size=24, pool_seed=5, cache=str(tmp_path), workers=1)
    source = td.batch_source(Recipe(model=ModelSection(scale=2), data=data))
    assert isinstance(source.dataset, ScenePool) and source.scale == 2 and source.data is data
    assert source.dataset.folder == pool_folder(tmp_path, 2, 24, 5)
    assert len(source.dataset) == 2
    for i in range(2):
        np.testing.assert_array_equal(source.dataset[i].depth, scene3d_for_seed(5 + i, 24, 24).depth)


def test_batch_source_opens_the_training_split_of_a_real_data_set(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """data.source nyu: the train split (default or data.split's indices); folder: every pair."""
    monkeypatch.setattr("dsr_ros.train.datasets.nyu.TRAIN_COUNT", 3)
    write_nyu(tmp_path / "nyu.mat", *scenes(4, 8, 8))
    pool = {"cache": str(tmp_path / "pool"), "scenes": 1, "scene_size": 8}  # a pool here would be the wrong source
    recipe = Recipe(model=ModelSection(scale=2), data=DataSection(source="nyu", path=str(tmp_path / "nyu.mat"), **pool))
    source = td.batch_source(recipe)
    assert len(source.dataset) == 3 and source.scale == 2 and source.data is recipe.data  # 3 train, 1 test
    (tmp_path / "split.txt").write_text("1\n3\n")
    split = td.batch_source(replace(recipe, data=replace(recipe.data, split=str(tmp_path / "split.txt"))))
    assert split.dataset.indices == [1, 3]
    write_pair_folder(tmp_path / "pairs", [np.full((8, 8), 2.0), np.full((8, 8), 3.0)])
    folder = td.batch_source(Recipe(data=DataSection(source="folder", path=str(tmp_path / "pairs"), **pool)))
    assert isinstance(folder.dataset, PairFolder) and len(folder.dataset) == 2 and folder.scale == 4


def test_batch_source_turns_data_set_errors_into_a_recipe_error_naming_path_and_source(tmp_path: Path) -> None:
    """A missing folder or a split file for a non-NYU source is a RecipeError naming data.path and data.source."""
    missing = str(tmp_path / "nothing")
    pool = {"cache": str(tmp_path / "pool"), "scenes": 1, "scene_size": 8}  # a pool here would be the wrong source
    with pytest.raises(RecipeError) as err:
        td.batch_source(Recipe(data=DataSection(source="folder", path=missing, **pool)))
    assert str(err.value) == (f"data.path {missing!r} (data.source 'folder'): {missing}: "
                              "no rgb/*.png with depth/*.png|npy")
    assert err.value.__cause__ is None and err.value.__suppress_context__
    write_pair_folder(tmp_path / "pairs", [np.full((8, 8), 2.0)])
    with pytest.raises(RecipeError, match="a split file is only used with NYU v2, not 'folder'"):
        td.batch_source(Recipe(data=DataSection(source="folder", path=str(tmp_path / "pairs"), split="s.txt", **pool)))


def test_item_degrades_with_the_callers_generator() -> None:
    """_item passes its generator on: a sensor model gives different frames for different generators."""
    s = position_sample(16, 16)
    a = td._item(s.rgb, s.depth, 2, ["tof"], np.random.default_rng(1))[0]
    b = td._item(s.rgb, s.depth, 2, ["tof"], np.random.default_rng(2))[0]
    assert not np.array_equal(a, b)
