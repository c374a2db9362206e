"""Synthetic scenes, degradations, recipes, and the trainer: loss falls, resume is exact, NaN stops."""
import pathlib

import numpy as np
import pytest
import torch

from dsr_ros.train import trainer as trainer_module
from dsr_ros.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from dsr_ros.train.data import BatchSource, synthetic_batch
from dsr_ros.train.degrade import DEGRADATIONS, degrade
from dsr_ros.train.recipe import RecipeError, load_recipe, recipe_from_dict
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.train.synthetic import scene_for_seed
from dsr_ros.train.trainer import TrainingError, train


def tiny_recipe(tmp_path, steps=30, **train_overrides):
    return recipe_from_dict({
        "name": "tiny",
        "model": {"variant": "lite", "scale": 2, "features": 4, "shallow": 4, "units": 1},
        "data": {"patch": 16, "batch_size": 4},
        "train": {"steps": steps, "lr": 3e-3, "warmup_steps": 2, "checkpoint_every": 5, "log_every": 5,
                  "seed": 3, **train_overrides},
        "eval": {"scenes": 2, "size": 32},
        "output": {"dir": str(tmp_path / "run"), "export": ""},
    })


def test_scenes_are_seeded_piecewise_smooth_and_rgb_is_not_depth():
    a, b = scene_for_seed(5, 64, 80), scene_for_seed(5, 64, 80)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert not np.array_equal(a.depth, scene_for_seed(6, 64, 80).depth)
    assert a.depth.shape == (64, 80) and a.rgb.shape == (64, 80, 3)
    assert np.isfinite(a.depth).all() and a.depth.min() > 0
    jumps = np.abs(np.diff(a.depth, axis=1)) > 0.05
    assert 0 < jumps.mean() < 0.2, "occlusion edges exist but most of the scene is smooth"


@pytest.mark.parametrize("kind", DEGRADATIONS)
def test_degradations_shape_and_holes(kind):
    hr = scene3d_for_seed(1, 128, 128).depth
    lr = degrade(hr, 4, kind, np.random.default_rng(0))
    assert lr.shape == (32, 32) and lr.dtype == np.float32
    assert np.isfinite(lr).mean() > 0.8
    assert np.nanmean(np.abs(lr - hr[2::4, 2::4])) < 0.25


def test_aliased_and_antialiased_bicubic_differ():
    hr = scene_for_seed(2, 64, 64).depth
    assert not np.allclose(degrade(hr, 4, "bicubic"), degrade(hr, 4, "bicubic_aliased"))


def test_batches_are_reproducible_per_step():
    a = synthetic_batch(1, 7, 2, 16, 2, ["bicubic"])
    b = synthetic_batch(1, 7, 2, 16, 2, ["bicubic"])
    assert torch.equal(a.lr, b.lr) and torch.equal(a.hr, b.hr)
    assert a.lr.shape == (2, 1, 8, 8) and a.hr.shape == (2, 1, 16, 16) and a.rgb.shape == (2, 3, 16, 16)
    assert not torch.equal(a.lr, synthetic_batch(1, 8, 2, 16, 2, ["bicubic"]).lr)


def test_recipe_errors_name_the_key(tmp_path):
    with pytest.raises(RecipeError, match="model.scale must be one of"):
        recipe_from_dict({"model": {"scale": 3}})
    with pytest.raises(RecipeError, match=r"unknown key\(s\) \['lerning_rate'\]"):
        recipe_from_dict({"train": {"lerning_rate": 1}})
    with pytest.raises(RecipeError, match="data.degradations"):
        recipe_from_dict({"data": {"degradations": ["blur"]}})
    (tmp_path / "r.yaml").write_text("- not a mapping\n")
    with pytest.raises(RecipeError, match="mapping"):
        load_recipe(tmp_path / "r.yaml")


def test_shipped_recipes_load_and_write_to_runs_only():
    for name in ("lite3d_x2", "lite3d_x2_ft", "lite3d_x2_data", "lite3d_x2_data_wide", "lite3d_x4",
                 "lite3d_x4_data", "lite3d_x4_data_ftc", "lite3d_x4_data_wide", "lite3d_x8", "lite3d_x8_ft",
                 "lite3d_x8_data", "lite3d_x8_data_ft", "lite3d_x8_data_wide", "lite3d_x16_cascade_short", "lite3d_x2_mask",
                 "lite3d_x4_lrb4"):
        recipe = load_recipe(f"config/train/{name}.yaml")
        assert recipe.output.export == "" and recipe.output.dir == f"runs/{name}"
        assert recipe.model.variant == "lite" and recipe.data.source == "synthetic3d" and recipe.train.steps >= 400


def test_every_recipe_in_config_train_validates_and_writes_under_runs():
    recipes = sorted(pathlib.Path("config/train").glob("*.yaml"))
    assert len(recipes) > 20
    for path in recipes:
        recipe = load_recipe(path)
        assert recipe.name == path.stem and recipe.output.dir.startswith("runs/"), path


def test_short_training_lowers_the_loss(tmp_path):
    recipe = tiny_recipe(tmp_path, steps=60)
    held_out = synthetic_batch(99, 0, 16, 16, 2, ["bicubic"])
    torch.manual_seed(recipe.train.seed)
    untrained = trainer_module.build_model(recipe).eval()
    result = train(recipe, progress=False)
    with torch.no_grad():
        before = (untrained(held_out.lr) - held_out.hr).abs().mean().item()
        after = (result.model(held_out.lr) - held_out.hr).abs().mean().item()
    assert after < 0.8 * before, f"held-out L1 did not fall: {before:.4f} -> {after:.4f}"
    assert len(np.loadtxt(tmp_path / "run" / "log.csv", delimiter=",", skiprows=1)) == 12


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    full = train(tiny_recipe(tmp_path / "a", steps=12), progress=False)
    train(tiny_recipe(tmp_path / "b", steps=12), progress=False, stop_at=5)
    resumed = train(tiny_recipe(tmp_path / "b", steps=12), resume=True, progress=False)
    for key, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_nan_loss_stops_with_step_and_term(tmp_path, monkeypatch):
    real = BatchSource.__call__

    def poisoned(self, seed, step, batch_size):
        batch = real(self, seed, step, batch_size)
        if step == 3:
            batch.lr[:] = float("nan")  # NaN ground truth is masked out; a NaN input is not
        return batch

    monkeypatch.setattr(BatchSource, "__call__", poisoned)
    with pytest.raises(TrainingError, match="step 3: term 'l1'"):
        train(tiny_recipe(tmp_path, steps=6), progress=False)


def test_a_diverging_run_stops_with_step_and_advice_and_a_steady_one_does_not(tmp_path):
    # lr 1.0 reached over 30 warm-up steps: the first 5-step window is sane, the second has blown up
    with pytest.raises(TrainingError, match=r"the loss diverged by step 10: .* lower train.lr or set train.grad_clip"):
        train(tiny_recipe(tmp_path / "high", steps=40, lr=1.0, warmup_steps=30), progress=False)
    assert load_checkpoint(tmp_path / "high" / "run" / "checkpoint.safetensors")["step"] == 5  # the last sane state stays
    train(tiny_recipe(tmp_path / "off", steps=15, lr=1.0, warmup_steps=30, divergence=0.0), progress=False)
    result = train(tiny_recipe(tmp_path / "steady", steps=40), progress=False)
    assert result.steps == 40
    with pytest.raises(RecipeError, match=r"train.divergence must be 0 \(off\) or > 1"):
        tiny_recipe(tmp_path / "bad", divergence=0.5)


def test_checkpoint_round_trip_and_corruption(tmp_path):
    state = {"a": torch.arange(3), "nested": {"b": [torch.ones(2), 4, "x"], 1: (2.5, None)}, "step": 9}
    path = save_checkpoint(tmp_path / "c.safetensors", state)
    back = load_checkpoint(path)
    assert torch.equal(back["a"], state["a"]) and back["nested"][1] == (2.5, None) and back["step"] == 9
    assert torch.equal(back["nested"]["b"][0], torch.ones(2)) and back["nested"]["b"][1:] == [4, "x"]
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_init_from_starts_from_a_weight_file(tmp_path):
    from dsr_ros.weights import card_for, save_model

    first = train(tiny_recipe(tmp_path / "a", steps=5), progress=False)
    start = save_model(tmp_path / "start.safetensors", first.model, card_for(first.model))
    tuned = train(tiny_recipe(tmp_path / "b", steps=1, lr=1e-9, init_from=str(start)), progress=False)
    fresh = train(tiny_recipe(tmp_path / "c", steps=1, lr=1e-9), progress=False)
    for key, value in first.model.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[key], value, rtol=0, atol=1e-6)
    assert any(not torch.allclose(fresh.model.state_dict()[k], v) for k, v in first.model.state_dict().items())


def test_init_from_grows_a_network_by_identity_lr_blocks(tmp_path):
    from dsr_ros.weights import card_for, save_model

    first = train(tiny_recipe(tmp_path / "a", steps=5), progress=False)
    start = save_model(tmp_path / "start.safetensors", first.model, card_for(first.model))
    grown_recipe = tiny_recipe(tmp_path / "b", steps=1, lr=1e-9, init_from=str(start))
    grown_recipe.model.lr_blocks = 2
    grown = train(grown_recipe, progress=False).model
    assert grown.config.lr_blocks == 2 and len(grown.lr_body) == 2
    lr = torch.randn(2, 1, 6, 7) * 0.3
    with torch.no_grad():  # new blocks start as identities: the grown network computes the same depth
        torch.testing.assert_close(grown(lr), first.model(lr), rtol=0, atol=1e-5)
    wider = tiny_recipe(tmp_path / "c", steps=1, init_from=str(start))
    wider.model.features = 6
    with pytest.raises(TrainingError, match="does not fit the recipe's network"):
        train(wider, progress=False)


def test_card_commit_is_this_checkouts_and_marks_uncommitted_changes(tmp_path, monkeypatch):
    import subprocess

    commit = trainer_module.git_commit()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=trainer_module.Path(trainer_module.__file__).parents[2]).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=trainer_module.Path(trainer_module.__file__).parents[2]).stdout.strip()
    assert commit == (f"{head}+dirty" if dirty else head)
    # a copy of the package inside another repository (a site-packages install) has no commit of its own
    import shutil

    other = tmp_path / "other_repo"
    (other / "lib").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    shutil.copytree(trainer_module.Path(trainer_module.__file__).parents[1], other / "lib" / "dsr_ros" / "train")
    script = other / "lib" / "dsr_ros" / "train" / "trainer.py"
    monkeypatch.setattr(trainer_module, "__file__", str(script))
    assert trainer_module.git_commit() == "unknown"


def test_learning_rate_warms_up_then_decays_to_five_percent():
    recipe = recipe_from_dict({"train": {"steps": 1000, "warmup_steps": 10, "lr_schedule": "cosine"}})
    factors = [trainer_module.lr_factor(s, recipe) for s in (0, 9, 10, 500, 999, 5000)]
    assert factors[0] == pytest.approx(0.1) and factors[1] == pytest.approx(1.0) and factors[2] == pytest.approx(1.0)
    assert 0.4 < factors[3] < 0.6 and factors[4] == pytest.approx(0.05, abs=1e-3) and factors[5] == pytest.approx(0.05)
    constant = recipe_from_dict({"train": {"steps": 1000, "warmup_steps": 10, "lr_schedule": "constant"}})
    assert trainer_module.lr_factor(999, constant) == 1.0


def test_grad_clip_bounds_the_gradient_norm_each_step(tmp_path, monkeypatch):
    norms = []
    real_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    train(tiny_recipe(tmp_path / "clipped", steps=4, grad_clip=1e-4), progress=False)
    assert len(norms) == 4 and max(norms) <= 1e-4 * 1.001
    norms.clear()
    train(tiny_recipe(tmp_path / "free", steps=4), progress=False)
    assert max(norms) > 1e-3  # unclipped, the same recipe's gradients are far larger
    with pytest.raises(RecipeError, match="train.grad_clip must be >= 0"):
        tiny_recipe(tmp_path / "bad", grad_clip=-1.0)
    with pytest.raises(RecipeError, match="train.loss must be 'l1' or 'mse'"):
        tiny_recipe(tmp_path / "bad", loss="l2")


def test_ema_exports_the_moving_average_of_the_weights_and_resumes_exactly(tmp_path, monkeypatch):
    """train.ema: the exported network is decay·average + (1 − decay)·weights after every step, across a resume."""
    snapshots: list[dict[str, torch.Tensor]] = []
    real_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        result = real_step(self, *args, **kwargs)
        snapshots.append([p.detach().clone() for group in self.param_groups for p in group["params"]])
        return result

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    decay = 0.8
    plain = train(tiny_recipe(tmp_path / "plain", steps=6), progress=False)
    snapshots.clear()
    averaged = train(tiny_recipe(tmp_path / "ema", steps=6, ema=decay), progress=False)
    expected = [p.clone() for p in snapshots[0]]  # the first update copies the weights
    for weights in snapshots[1:]:
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights, strict=True)]
    for got, want in zip(averaged.model.parameters(), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    last = snapshots[-1]
    assert any(not torch.allclose(p, w) for p, w in zip(averaged.model.parameters(), last, strict=True))
    for got, want in zip(plain.model.parameters(), last, strict=True):  # the same run, without the average
        torch.testing.assert_close(got, want)
    train(tiny_recipe(tmp_path / "resumed", steps=6, ema=decay), progress=False, stop_at=3)
    resumed = train(tiny_recipe(tmp_path / "resumed", steps=6, ema=decay), resume=True, progress=False)
    for got, want in zip(resumed.model.parameters(), averaged.model.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(RecipeError, match=r"train.ema must be in \[0, 1\)"):
        tiny_recipe(tmp_path / "bad", ema=1.0)


def test_trainable_trains_only_the_named_parameters(tmp_path):
    from dsr_ros.weights import card_for, save_model

    first = train(tiny_recipe(tmp_path / "a", steps=5), progress=False)
    start = save_model(tmp_path / "start.safetensors", first.model, card_for(first.model))
    tuned = train(tiny_recipe(tmp_path / "b", steps=8, lr=1e-2, loss="mse", init_from=str(start),
                              trainable=["reconstruct"]), progress=False).model
    before, after = first.model.state_dict(), tuned.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("reconstruct.") for k in changed), changed
    with pytest.raises(TrainingError, match=r"train.trainable \['reconstuct'\] match no parameter"):
        train(tiny_recipe(tmp_path / "c", steps=1, trainable=["reconstuct"]), progress=False)
    with pytest.raises(RecipeError, match="train.trainable must be a list of non-empty"):
        tiny_recipe(tmp_path / "d", trainable=[""])
    with pytest.raises(RecipeError, match="train.trainable is not supported with distill.enabled"):
        recipe_from_dict({"distill": {"enabled": True}, "train": {"trainable": ["reconstruct"]}})


def test_truth_shadows_blank_one_side_of_a_foreground_edge_by_its_disparity():
    from dsr_ros.train.degrade import truth_shadows

    hr = np.full((64, 96), 4.0, np.float32)
    hr[16:48, 40:60] = 1.0  # a box 1 m away in front of a wall at 4 m
    shadowed = [truth_shadows(hr, np.random.default_rng(seed)) for seed in range(12)]
    sides = set()
    for out in shadowed:
        gone = np.isnan(out)
        assert gone.any() and not np.isnan(out[16:48, 40:60]).any()  # the foreground stays
        np.testing.assert_array_equal(out[~gone], hr[~gone])  # nothing else changes
        assert not gone[:16].any() and not gone[48:].any()  # only rows the box occludes
        columns = np.flatnonzero(gone[30])
        left, right = columns.max() == 39, columns.min() == 60
        assert left != right  # one contiguous strip beside one edge of the box
        assert np.all(np.diff(columns) == 1)
        sides.add(left)
        # strip width = f * baseline * (1/1 - 1/4) px with f in 0.6..1.2 x 96 px and baseline 4..25 cm
        assert 0.6 * 96 * 0.04 * 0.75 - 1 <= columns.size <= 1.2 * 96 * 0.25 * 0.75 + 1
    assert sides == {True, False}  # either camera can be the reference


def test_truth_shadows_reach_the_batches_as_unknown_truth_with_a_filled_input():
    data = recipe_from_dict({"data": {"patch": 64, "degradations": ["bicubic"], "truth_shadows": 1.0}}).data
    with_shadows = BatchSource(data, 4)(3, 0, 4)
    data.truth_shadows = 0.0
    plain = BatchSource(data, 4)(3, 0, 4)
    assert torch.isnan(with_shadows.hr).sum() > torch.isnan(plain.hr).sum()  # the loss skips the shadows
    assert torch.isfinite(with_shadows.lr).all()  # the network sees the shadows filled, as at evaluation
    assert not torch.equal(with_shadows.lr, plain.lr)
    with pytest.raises(RecipeError, match=r"data.truth_shadows must be a probability in \[0, 1\], got 1.5"):
        recipe_from_dict({"data": {"truth_shadows": 1.5}})


def test_skip_hole_targets_drops_exactly_the_pixels_the_node_does_not_publish():
    from dsr_ros.train.data import make_pair

    hr = scene3d_for_seed(11, 64, 64).depth
    lr = degrade(hr, 4, "stereo", np.random.default_rng(5))
    holes = np.repeat(np.repeat(~np.isfinite(lr), 4, 0), 4, 1)
    assert holes.any() and not holes.all()
    _, kept, _ = make_pair(hr, 4, "stereo", np.random.default_rng(5))
    lr_log, skipped, _ = make_pair(hr, 4, "stereo", np.random.default_rng(5), skip_holes=True)
    assert np.isnan(skipped[holes]).all()
    np.testing.assert_array_equal(skipped[~holes], kept[~holes])
    assert np.isfinite(kept[holes & np.isfinite(hr)]).all()  # without the option they stay in the loss
    assert np.isfinite(lr_log).all()  # the input is filled either way
    data = recipe_from_dict({"data": {"patch": 64, "degradations": ["stereo"], "skip_hole_targets": True}}).data
    batch = BatchSource(data, 4)(3, 0, 4)  # the option reaches the batches the trainer draws
    data.skip_hole_targets = False
    plain = BatchSource(data, 4)(3, 0, 4)
    assert torch.isnan(batch.hr).sum() > torch.isnan(plain.hr).sum()
    torch.testing.assert_close(batch.lr, plain.lr)
