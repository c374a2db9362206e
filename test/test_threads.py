"""The CPU thread policy: half the usable cores, at most 4, applied to torch and OpenCV everywhere a model runs."""
from __future__ import annotations

import cv2
import pytest
import torch
from engine_fakes import tiny_net

from dsr_ros.ros.loading import make_upsampler
from dsr_ros.ros.params import ConfigError, validate
from dsr_ros.threads import MAX_DEFAULT_THREADS, apply_threads, default_threads, usable_cpus
from dsr_ros.weights import card_for, save_model


@pytest.fixture(autouse=True)
def restore_threads():
    before_torch, before_cv = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(before_torch)
    cv2.setNumThreads(before_cv)


@pytest.mark.parametrize(("cpus", "expected"), [(1, 1), (2, 1), (3, 1), (4, 2), (6, 3), (8, 4), (64, 4)])
def test_default_leaves_half_the_cores_and_caps_at_four(cpus, expected):
    assert default_threads(cpus) == expected
    assert MAX_DEFAULT_THREADS == 4


def test_usable_cpus_follows_the_affinity_mask():
    import os

    assert usable_cpus() == len(os.sched_getaffinity(0))


def test_apply_sets_torch_and_opencv_and_zero_means_the_policy():
    assert apply_threads(1) == 1 and torch.get_num_threads() == 1 and cv2.getNumThreads() == 1
    count = apply_threads(0)
    assert count == default_threads() and torch.get_num_threads() == count and cv2.getNumThreads() == count
    with pytest.raises(ValueError, match="threads must be >= 0"):
        apply_threads(-1)


def test_node_parameter_is_validated_and_reaches_torch(tmp_path):
    assert validate({})["threads"] == 0
    with pytest.raises(ConfigError, match="'threads'"):
        validate({"threads": -2})
    net = tiny_net(scale=2)
    path = save_model(tmp_path / "tiny.safetensors", net, card_for(net))
    torch.set_num_threads(2)
    make_upsampler(str(path), backend="torch", threads=1)
    assert torch.get_num_threads() == 1


def test_cli_threads_flag(capsys):
    from dsr_ros.cli import main

    assert main(["profile", "--scale", "2", "--untrained", "--height", "8", "--width", "8", "--iterations", "2",
                 "--warmup", "0", "--threads", "1"]) == 0
    assert "1 CPU threads" in capsys.readouterr().out
    assert main(["profile", "--scale", "2", "--untrained", "--threads", "-1"]) == 2
    assert "--threads" in capsys.readouterr().err
