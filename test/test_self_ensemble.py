"""Self-ensemble: mirrored copies batched, mirrored back and averaged in log depth; refused where it cannot apply."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.ros.params import ConfigError, validate
from dsr_ros.self_ensemble import SELF_ENSEMBLES, merged_output, mirrored_batch
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.upsampler import Upsampler


def _upsampler(copies: int, scale: int = 2, **config) -> Upsampler:
    torch.manual_seed(0)
    net = build_dsrnet(DSRNetConfig(scale=scale, features=4, shallow=4, units=1, **config)).eval()
    return Upsampler.from_model(net, self_ensemble=copies)


def _frame(h: int = 13, w: int = 18, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    depth = (1.0 + 3.0 * rng.random((h, w))).astype(np.float32)
    depth[2:5, 3:9] = 0.6  # a near box: edges for the mirrors to disagree on
    return depth


@given(copies=st.sampled_from(SELF_ENSEMBLES), frames=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7))
@settings(max_examples=40, deadline=None)
def test_merging_undoes_every_mirror(copies, frames, h, w):
    batch = np.random.default_rng(h * 7 + w).random((frames, 1, h, w), dtype=np.float32)
    stacked = mirrored_batch(batch, copies)
    assert stacked.shape == (copies * frames, 1, h, w)
    np.testing.assert_allclose(merged_output(stacked, copies), batch, rtol=1e-6)


@pytest.mark.parametrize("size", [(13, 18), (240, 320)])  # the larger frame's reference is a strided sample
def test_two_copies_are_the_geometric_mean_of_the_frame_and_its_mirror_run_alone(size):
    plain, ensemble = _upsampler(1), _upsampler(2)
    frame = _frame(*size)
    direct = plain.upsample(frame)
    mirrored = plain.upsample(np.ascontiguousarray(frame[:, ::-1]))[:, ::-1]
    assert np.abs(np.log(direct) - np.log(mirrored)).max() > 1e-3  # the untrained network is not symmetric
    np.testing.assert_allclose(ensemble.upsample(frame), np.sqrt(direct * mirrored), rtol=1e-5)


@pytest.mark.parametrize("copies", [2, 4])
def test_an_ensemble_is_mirror_equivariant_holes_included(copies):
    up = _upsampler(copies)
    frame = _frame()
    frame[7, 10] = frame[0, 17] = 0.0  # sensor holes, filled in each copy's own orientation
    out = up.upsample(frame)
    np.testing.assert_allclose(up.upsample(np.ascontiguousarray(frame[:, ::-1]))[:, ::-1], out, rtol=1e-5)
    if copies == 4:
        np.testing.assert_allclose(up.upsample(np.ascontiguousarray(frame[::-1]))[::-1], out, rtol=1e-5)
    holes = np.isnan(out)
    assert holes[14:16, 20:22].all() and holes[0:2, 34:36].all() and holes.sum() == 8


def test_batches_of_frames_are_merged_per_frame():
    up = _upsampler(4)
    frames = np.stack([_frame(seed=1), _frame(seed=2)])
    together = up.upsample(frames)
    np.testing.assert_allclose(together[1], up.upsample(frames[1]), rtol=1e-6)
    np.testing.assert_allclose(together[0], up.upsample(frames[0]), rtol=1e-6)


def test_the_shipped_x4_with_mirrors_is_closer_to_the_truth_than_alone():
    scenes = heldout_scenes(3, 96, 1000000)
    degradations = ("bicubic", "bicubic_aliased")
    alone = evaluate(Upsampler.from_pretrained(4, backend="torch"), scenes, degradations, progress=False)
    mirrored = evaluate(Upsampler.from_pretrained(4, backend="torch", self_ensemble=4), scenes, degradations,
                        progress=False)
    for kind in degradations:
        assert mirrored[kind]["model"] < alone[kind]["model"], kind


def test_unsupported_copy_counts_and_guided_models_are_refused():
    with pytest.raises(ValueError, match=r"self_ensemble must be one of \[1, 2, 4\] copies, got 3"):
        _upsampler(3)
    with pytest.raises(ValueError, match="RGB-guided model runs with 1 copy"):
        _upsampler(2, rgb_guide=3)
    with pytest.raises(ConfigError, match="self_ensemble"):
        validate({"self_ensemble": 8})
    assert validate({"self_ensemble": 4})["self_ensemble"] == 4
