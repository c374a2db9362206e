"""Encodings, units and invalid pixels round-trip; normalisation and hole filling behave."""
import numpy as np
import pytest

from dsr_ros import depth as dp


def test_uint16_millimetres_round_trip_with_zero_invalid():
    mm = np.array([[0, 1, 1500], [65535, 2000, 0]], np.uint16)
    metres = dp.to_metres(mm)
    assert np.isnan(metres[0, 0]) and np.isnan(metres[1, 2])
    assert metres[0, 2] == pytest.approx(1.5)
    np.testing.assert_array_equal(dp.from_metres(metres, np.uint16), mm)


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


def test_normalisation_maps_valid_range_to_unit_interval():
    metres = np.array([[1.0, 3.0], [np.nan, 2.0]], np.float32)
    norm = dp.Normalisation.from_valid(metres, ~np.isnan(metres))
    assert (norm.near, norm.far) == (1.0, 3.0)
    assert norm.normalise(np.float32(2.0)) == pytest.approx(0.5)
    assert norm.denormalise(np.float32(0.25)) == pytest.approx(1.5)
    flat = dp.Normalisation.from_valid(np.full((2, 2), 2.0, np.float32), np.ones((2, 2), bool))
    assert flat.far - flat.near == pytest.approx(dp.MIN_SPAN_M)
    fixed = dp.Normalisation.from_valid(metres, ~np.isnan(metres), depth_range=(0.5, 10.0))
    assert (fixed.near, fixed.far) == (0.5, 10.0)


def test_fill_invalid_takes_nearest_valid_neighbour():
    values = np.array([[1, 1, 9, 9], [1, 0, 0, 9]], np.float32)
    valid = values > 0
    filled = dp.fill_invalid(values, valid)
    assert filled.tolist() == [[1, 1, 9, 9], [1, 1, 9, 9]]
    np.testing.assert_array_equal(dp.fill_invalid(values, np.ones_like(valid)), values)


def test_upsample_mask_is_nearest():
    mask = np.array([[True, False]])
    assert dp.upsample_mask(mask, 2).tolist() == [[True, True, False, False], [True, True, False, False]]
