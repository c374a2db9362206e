"""Training logs: CSV and TensorBoard agree, a resumed run logs each step once, TensorBoard can be off."""
import dataclasses
import shutil
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from test_distill import _tiny
from test_train import tiny_recipe

from dsr_ros.train import distill
from dsr_ros.train.run_log import RunLog
from dsr_ros.train.trainer import train


def _scalars(run_dir, tag):
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def _csv(run_dir):
    return np.loadtxt(run_dir / "log.csv", delimiter=",", skiprows=1, ndmin=2)


def test_supervised_run_writes_the_same_losses_to_csv_and_tensorboard(tmp_path):
    train(tiny_recipe(tmp_path, steps=10, log_every=2), progress=False)
    rows = _csv(tmp_path / "run")
    scalars = _scalars(tmp_path / "run", "loss/l1")
    assert [s for s, _ in scalars] == [2, 4, 6, 8, 10] == rows[:, 0].astype(int).tolist()
    np.testing.assert_allclose([v for _, v in scalars], rows[:, 1], rtol=1e-5)
    assert [s for s, _ in _scalars(tmp_path / "run", "lr")] == [2, 4, 6, 8, 10]


def test_resume_after_a_kill_logs_each_step_once(tmp_path):
    """Killed after logging steps 6–8 but before the checkpoint at 10: those rows are written again, once."""
    recipe = tiny_recipe(tmp_path, steps=12, log_every=1, checkpoint_every=5)
    run = tmp_path / "run"
    train(recipe, progress=False, stop_at=5)
    shutil.copy(run / "checkpoint.safetensors", tmp_path / "step5.safetensors")
    time.sleep(1.1)  # TensorBoard orders event files by their names' whole-second timestamps, as across real restarts
    train(recipe, resume=True, progress=False, stop_at=8)
    shutil.copy(tmp_path / "step5.safetensors", run / "checkpoint.safetensors")  # the kill lost steps 6–8
    time.sleep(1.1)
    train(recipe, resume=True, progress=False)
    assert _csv(run)[:, 0].astype(int).tolist() == list(range(1, 13))
    assert [s for s, _ in _scalars(run, "loss/l1")] == list(range(1, 13))

    straight = tiny_recipe(tmp_path / "straight", steps=12, log_every=1, checkpoint_every=5)
    train(straight, progress=False)
    np.testing.assert_allclose(_csv(run)[:, 1], _csv(tmp_path / "straight" / "run")[:, 1], rtol=1e-5)


def test_two_stage_run_logs_terms_and_roles(tmp_path):
    distill.train_two_stage(_tiny(tmp_path), progress=False)
    run = tmp_path / "run"
    assert [s for s, _ in _scalars(run, "loss/dsr_l1")] == [1, 2]
    assert [s for s, _ in _scalars(run, "loss/struc")] == [3, 4, 5, 6]
    assert [s for s, _ in _scalars(run, "stage")] == list(range(1, 7))
    roles = _scalars(run, "roles/dsr_teaches")
    assert [s for s, _ in roles] == [2, 4] and all(v in (0.0, 1.0) for _, v in roles)
    assert len(_scalars(run, "roles/mae_de")) == 2


def test_tensorboard_off_writes_csv_only(tmp_path):
    recipe = tiny_recipe(tmp_path, steps=4, log_every=2)
    recipe.output = dataclasses.replace(recipe.output, tensorboard=False)
    train(recipe, progress=False)
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert _csv(tmp_path / "run")[:, 0].tolist() == [2, 4]


def test_a_row_of_the_wrong_length_is_refused(tmp_path):
    run_log = RunLog(tmp_path, ["step", "loss"], start=0, tensorboard=False)
    with pytest.raises(ValueError, match="2 columns"):
        run_log.row([1, 0.5, 9])
