"""dsr_ros.upsampler with a fake engine whose output is known, so every value can be predicted.

`Nearest` returns each LR log-ratio over its s×s block (optionally shifted by log k, i.e. k·depth):
the Upsampler must then give back the input depth (k times it) in the input's units, holes restored.
"""
import numpy as np
import pytest

from dsr_ros.engine import InferenceEngine
from dsr_ros.profiling import StageTimer
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import ModelCard


class Nearest(InferenceEngine):
    name = "nearest-fake"

    def __init__(self, scale, pad_multiple=1, factor=1.0, read_only=False):
        super().__init__(scale)
        self.pad_multiple, self.factor, self.read_only, self.seen = pad_multiple, factor, read_only, []

    def infer(self, batch):
        self.seen.append(batch.copy())
        s = self.scale
        out = np.repeat(np.repeat(batch, s, axis=2), s, axis=3) + np.float32(np.log(self.factor))
        out = out.astype(np.float32)
        out.flags.writeable = not self.read_only
        return out


def upsampler(scale=2, **kwargs):
    engine_args = {k: kwargs.pop(k) for k in ("pad_multiple", "factor", "read_only") if k in kwargs}
    return Upsampler(Nearest(scale, **engine_args), ModelCard("DSRNet", {"scale": scale}), **kwargs)


def blocks(a, s):
    return np.repeat(np.repeat(a, s, axis=-2), s, axis=-1)


def test_float_metres_come_back_per_block_with_nan_holes():
    depth = np.array([[1.0, 2.0, 4.0], [0.5, np.nan, 3.0]], np.float32)
    out = upsampler(3).upsample(depth)
    assert out.shape == (6, 9) and out.dtype == np.float32
    expected = blocks(depth, 3)
    np.testing.assert_allclose(out[np.isfinite(expected)], expected[np.isfinite(expected)], rtol=1e-5)
    assert np.isnan(out[3:6, 3:6]).all() and np.isfinite(out).sum() == 45


def test_millimetres_come_back_rounded_with_zero_holes():
    depth = np.array([[1000, 0, 65534], [1, 2345, 65535]], np.uint16)
    out = upsampler(2).upsample(depth)
    assert out.dtype == np.uint16 and out.shape == (4, 6)
    np.testing.assert_array_equal(out, blocks(np.array([[1000, 0, 65534], [1, 2345, 0]], np.uint16), 2))


def test_outputs_beyond_the_uint16_range_are_invalid_not_saturated():
    depth = np.array([[30000, 40000]], np.uint16)
    out = upsampler(2, factor=2.0).upsample(depth)  # 60000 mm fits; 80000 mm would saturate to the sentinel
    assert out[:, :2].tolist() == [[60000, 60000]] * 2
    assert (out[:, 2:] == 0).all()
    metres = upsampler(2, factor=2.0).upsample(np.array([[1.5]], np.float32))
    np.testing.assert_allclose(metres, 3.0, rtol=1e-5)


def test_depth_range_is_inclusive_and_outside_readings_are_holes():
    depth = np.array([[0.99, 1.0, 2.0, 3.0, 3.01]], np.float32)
    out = upsampler(2, depth_range=(1.0, 3.0)).upsample(depth)
    assert np.isnan(out[:, :2]).all() and np.isnan(out[:, 8:]).all()
    np.testing.assert_allclose(out[0, 2:8:2], [1.0, 2.0, 3.0], rtol=1e-5)
    # uint16 readings are compared in millimetres: 3000 mm is inside a 3.0 m range (in float32 metres
    # it would be 3.0000002 m and wrongly dropped)
    mm = upsampler(2, depth_range=(1.0, 3.0)).upsample(np.array([[999, 1000, 2000, 3000, 3001]], np.uint16))
    assert mm[0, ::2].tolist() == [0, 1000, 2000, 3000, 0]


@pytest.mark.parametrize("bad", [(1.0, 1.0), (2.0, 1.0), (-0.5, 2.0)])
def test_depth_range_must_be_near_below_far_and_non_negative(bad):
    with pytest.raises(ValueError) as err:
        upsampler(depth_range=bad)
    assert str(err.value) == f"depth_range must be (near, far) metres with 0 <= near < far, got {bad}"


def test_depth_range_from_zero_is_allowed():
    assert upsampler(depth_range=(0.0, 5.0)).depth_range == (0.0, 5.0)


@pytest.mark.parametrize("shape", [(4,), (1, 1, 2, 2), (0, 3), (3, 0), (2, 0, 3)])
def test_bad_shapes_are_rejected_with_the_shape(shape):
    with pytest.raises(ValueError) as err:
        upsampler().upsample(np.ones(shape, np.float32))
    assert str(err.value) == f"depth must be HxW or NxHxW with H, W >= 1, got shape {shape}"


def test_empty_batch_and_wrong_dtype_are_rejected():
    with pytest.raises(ValueError) as err:
        upsampler().upsample(np.ones((0, 2, 2), np.float32))
    assert str(err.value) == "depth batch is empty"
    with pytest.raises(TypeError):
        upsampler().upsample(np.ones((2, 2), np.float64))


def test_padding_to_the_engine_multiple_repeats_edges_and_is_cropped_away():
    up = upsampler(2, pad_multiple=4)
    depth = np.arange(1, 16, dtype=np.float32).reshape(3, 5)
    out = up.upsample(depth)
    seen = up.engine.seen[0]
    assert seen.shape == (1, 1, 4, 8)
    np.testing.assert_array_equal(seen[0, 0, 3, :5], seen[0, 0, 2, :5])  # bottom row repeated
    np.testing.assert_array_equal(seen[0, 0, :, 5:], np.repeat(seen[0, 0, :, 4:5], 3, axis=1))  # right column
    np.testing.assert_allclose(out, blocks(depth, 2), rtol=1e-5)


def test_no_padding_when_sizes_already_fit_or_the_multiple_is_zero():
    for multiple, shape in [(4, (4, 8)), (0, (3, 5)), (1, (3, 5))]:
        up = upsampler(2, pad_multiple=multiple)
        up.upsample(np.ones(shape, np.float32))
        assert up.engine.seen[0].shape == (1, 1, *shape)
    up = upsampler(2, pad_multiple=4)
    up.upsample(np.ones((4, 5), np.float32))  # only the width needs padding
    assert up.engine.seen[0].shape == (1, 1, 4, 8)
    up = upsampler(2, pad_multiple=4)
    up.upsample(np.ones((5, 4), np.float32))  # only the height needs padding
    assert up.engine.seen[0].shape == (1, 1, 8, 4)


def test_engine_input_is_the_log_ratio_to_each_frames_median():
    up = upsampler(2)
    batch = np.stack([np.full((2, 2), 2.0, np.float32), np.array([[1.0, 4.0], [4.0, 16.0]], np.float32)])
    out = up.upsample(batch)
    seen = up.engine.seen[0]
    np.testing.assert_allclose(seen[0, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(seen[1, 0], np.log(np.array([[1.0, 4.0], [4.0, 16.0]]) / 4.0), atol=1e-6)
    np.testing.assert_allclose(out, blocks(batch, 2), rtol=1e-5)


def test_fill_holes_fills_invalid_blocks_but_not_an_all_invalid_frame():
    depth = np.array([[[2.0, np.nan]], [[np.nan, np.nan]]], np.float32)
    out = upsampler(2, fill_holes=True).upsample(depth)
    np.testing.assert_allclose(out[0], 2.0, rtol=1e-5)  # the hole took its neighbour's value
    assert np.isnan(out[1]).all()
    mm = upsampler(2, fill_holes=True).upsample(np.array([[1500, 0]], np.uint16))
    assert (mm == 1500).all()
    assert (upsampler(2, fill_holes=True).upsample(np.zeros((1, 2), np.uint16)) == 0).all()


def test_read_only_engine_output_is_copied_not_written():
    out = upsampler(2, read_only=True).upsample(np.array([[1.25, 2.5]], np.float32))
    np.testing.assert_allclose(out, blocks(np.array([[1.25, 2.5]]), 2), rtol=1e-5)


def test_successive_frames_of_different_sizes_in_millimetres():
    up = upsampler(2)
    assert up.upsample(np.full((2, 3), 1200, np.uint16)).tolist() == [[1200] * 6] * 4
    assert up.upsample(np.full((3, 2), 800, np.uint16)).tolist() == [[800] * 4] * 6
    assert up.scale == 2


def test_stage_timer_sees_the_three_stages():
    timer = StageTimer()
    upsampler(2).upsample(np.ones((2, 2), np.float32), timer=timer)
    assert set(timer.summary()) == {"preprocess", "infer", "postprocess"}


@pytest.mark.parametrize("shape, padded", [((3, 4), (4, 4)), ((4, 3), (4, 4)), ((3, 3), (4, 4))])
def test_a_single_missing_row_or_column_is_padded_too(shape, padded):
    up = upsampler(2, pad_multiple=4)
    out = up.upsample(np.full(shape, 1.5, np.float32))
    assert up.engine.seen[0].shape == (1, 1, *padded) and up.engine.seen[0].dtype == np.float32
    assert out.shape == (2 * shape[0], 2 * shape[1])


def test_network_output_is_clipped_to_max_log_ratio_both_ways():
    from dsr_ros.depth import MAX_LOG_RATIO

    high = upsampler(2, factor=float(np.exp(20.0))).upsample(np.array([[1.0]], np.float32))
    low = upsampler(2, factor=float(np.exp(-20.0))).upsample(np.array([[1.0]], np.float32))
    np.testing.assert_allclose(high, np.exp(MAX_LOG_RATIO), rtol=1e-5)
    np.testing.assert_allclose(low, np.exp(-MAX_LOG_RATIO), rtol=1e-5)


def test_depth_range_from_zero_still_treats_zero_millimetres_as_a_hole():
    out = upsampler(2, depth_range=(0.0, 5.0)).upsample(np.array([[0, 1200]], np.uint16))
    assert out[0].tolist() == [0, 0, 1200, 1200]


def test_depth_range_beyond_the_corrupt_value_limit_does_not_revive_invalid_readings():
    # 1500 m is beyond depth.MAX_VALID_M (1000 m): invalid whatever depth_range allows
    out = upsampler(2, depth_range=(0.5, 2000.0)).upsample(np.array([[1500.0, 2.0]], np.float32))
    assert np.isnan(out[:, :2]).all()
    np.testing.assert_allclose(out[:, 2:], 2.0, rtol=1e-5)
