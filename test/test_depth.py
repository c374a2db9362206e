"""Encodings, units and invalid pixels round-trip; normalisation and hole filling behave."""
import numpy as np
import pytest

from dsr_ros import depth as dp


def test_uint16_millimetres_round_trip_with_zero_and_saturation_invalid():
    mm = np.array([[0, 1, 1500], [65534, 2000, 0]], np.uint16)
    metres = dp.to_metres(mm)
    assert np.isnan(metres[0, 0]) and np.isnan(metres[1, 2])
    assert metres[0, 2] == pytest.approx(1.5)
    np.testing.assert_array_equal(dp.from_metres(metres, np.uint16), mm)


def test_saturated_uint16_is_invalid_not_65_metres():
    mm = np.array([[65535, 1000]], np.uint16)
    assert dp.invalid_mask(mm).tolist() == [[True, False]]
    assert np.isnan(dp.to_metres(mm)[0, 0])
    assert dp.from_metres(np.array([65.535, 65.534], np.float32), np.uint16).tolist() == [0, 65534]


def test_float_metres_invalid_values():
    m = np.array([[np.nan, np.inf, -np.inf, 0.0, -1.0, 2.5, 5e30]], np.float32)
    assert dp.invalid_mask(m).tolist() == [[True, True, True, True, True, False, True]]
    out = dp.from_metres(dp.to_metres(m), np.float32)
    assert np.isnan(out[0, :5]).all() and out[0, 5] == pytest.approx(2.5)


def test_out_of_range_metres_become_invalid_millimetres():
    assert dp.from_metres(np.array([70.0, 0.0004, 1.0], np.float32), np.uint16).tolist() == [0, 0, 1000]


def test_invalid_mask_rejects_other_dtypes():
    with pytest.raises(TypeError, match="uint16"):
        dp.invalid_mask(np.zeros(3, np.int32))


def test_log_depth_is_relative_to_the_median_and_round_trips():
    metres = np.array([[1.0, 4.0], [np.nan, 2.0]], np.float32)
    norm = dp.LogDepth.of(metres, ~np.isnan(metres))
    assert norm.reference == pytest.approx(2.0)
    np.testing.assert_allclose(norm.encode(np.float32([1.0, 2.0, 4.0])), np.log([0.5, 1.0, 2.0]), atol=1e-6)
    np.testing.assert_allclose(norm.decode(norm.encode(metres[~np.isnan(metres)])), [1.0, 4.0, 2.0], rtol=1e-6)
    assert dp.LogDepth.of(metres, np.zeros_like(metres, bool)).reference == 1.0
    assert norm.decode(np.float32([1e6]))[0] == pytest.approx(2.0 * np.exp(dp.MAX_LOG_RATIO), rel=1e-5)


def test_encode_frame_is_scale_free_and_ignores_one_far_pixel():
    rng = np.random.default_rng(0)
    metres = rng.uniform(1.0, 3.0, (12, 16)).astype(np.float32)
    valid = np.ones_like(metres, bool)
    valid[3, 4] = False
    encoded, norm = dp.encode_frame(metres, valid)
    scaled, scaled_norm = dp.encode_frame(2.5 * metres, valid)
    np.testing.assert_allclose(scaled, encoded, atol=1e-5)
    assert scaled_norm.reference == pytest.approx(2.5 * norm.reference)
    assert encoded[3, 4] in encoded[2:5, 3:6][valid[2:5, 3:6]]  # the hole takes a neighbour's value


def test_fill_invalid_takes_nearest_valid_neighbour():
    values = np.array([[1, 1, 9, 9], [1, 0, 0, 9]], np.float32)
    valid = values > 0
    filled = dp.fill_invalid(values, valid)
    assert filled.tolist() == [[1, 1, 9, 9], [1, 1, 9, 9]]
    np.testing.assert_array_equal(dp.fill_invalid(values, np.ones_like(valid)), values)


def test_upsample_mask_is_nearest():
    mask = np.array([[True, False]])
    assert dp.upsample_mask(mask, 2).tolist() == [[True, True, False, False], [True, True, False, False]]
