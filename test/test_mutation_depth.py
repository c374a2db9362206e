"""dsr_ros.depth at its boundaries: the cases `make mutation` showed the older tests did not pin down.

Every expected value is worked out from the REP 118 conventions in the module docstring (mm with 0 and
65535 invalid, metres with NaN/±inf/<= 0/> 1000 m invalid), from numpy's own median, or by brute force.
"""
import numpy as np
import pytest

from dsr_ros import depth as dp


def test_unsupported_dtype_message_names_both_units_and_the_dtype():
    with pytest.raises(TypeError) as err:
        dp.check_depth_dtype(np.zeros(2, np.float64))
    assert str(err.value) == "depth must be uint16 (millimetres) or float32 (metres), got float64"
    dp.check_depth_dtype(np.zeros(2, np.uint16))  # the two accepted dtypes pass silently
    dp.check_depth_dtype(np.zeros(2, np.float32))


def test_float_validity_boundaries_zero_tiny_and_one_kilometre():
    m = np.array([0.0, 1e-6, 0.5, 999.9, 1000.0, 1000.5, -0.0], np.float32)
    # > 0 and <= MAX_VALID_M are readings: 1000 m itself is still one, 1000.5 m is corrupt
    assert dp.invalid_mask(m).tolist() == [True, False, False, False, False, True, True]


def test_uint16_validity_only_zero_and_saturation():
    mm = np.array([0, 1, 2, 65533, 65534, 65535], np.uint16)
    assert dp.invalid_mask(mm).tolist() == [True, False, False, False, False, True]
    metres = dp.to_metres(mm)
    assert metres.dtype == np.float32
    np.testing.assert_allclose(metres[1:5], np.float32([0.001, 0.002, 65.533, 65.534]), rtol=1e-6)


def test_to_metres_keeps_float_values_and_does_not_modify_its_input():
    m = np.array([2.5, 0.0, 7.25], np.float32)
    out = dp.to_metres(m)
    assert out[0] == 2.5 and np.isnan(out[1]) and out[2] == 7.25
    assert m[1] == 0.0  # a copy was written, not the caller's frame


def test_from_metres_float_marks_zero_negative_and_infinite_as_nan_on_a_copy():
    m = np.array([0.0, -2.0, np.inf, -np.inf, 3.5, 0.5, 1.0], np.float32)
    out = dp.from_metres(m, np.float32)
    assert np.isnan(out[:4]).all() and out[4:].tolist() == [3.5, 0.5, 1.0]  # below 1 m is a reading too
    assert m[0] == 0.0 and m[2] == np.inf  # input untouched
    assert out.dtype == np.float32
    # a float64 request is not silently accepted either way
    with pytest.raises(TypeError, match="uint16 or float32, got float64"):
        dp.from_metres(m, np.float64)


def test_from_metres_millimetre_edges():
    m = np.array([np.nan, np.inf, -np.inf, -1.0, 0.0004, 0.0006, 0.001, 1.2344, 65.5344, 65.5346, 70.0], np.float32)
    mm = dp.from_metres(m, np.uint16)
    assert mm.dtype == np.uint16
    # NaN/±inf/negative → 0; 0.4 mm rounds to 0; 0.6 mm rounds to the smallest reading, 1 mm, like 1 mm itself;
    # 65534.4 mm rounds to 65534; 65534.6 rounds to the sentinel 65535, so invalid (0); beyond → 0.
    assert mm.tolist() == [0, 0, 0, 0, 0, 1, 1, 1234, 65534, 0, 0]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 11])
def test_median_matches_numpy_for_odd_and_even_sizes(n):
    values = np.random.default_rng(n).permutation(np.arange(1, n + 1, dtype=np.float32) ** 2)
    assert dp._median(values) == pytest.approx(float(np.median(values)))


def test_reference_of_a_small_frame_uses_every_valid_pixel():
    # 4 valid values 1, 2, 10, 20 (median 6): any sub-sampling of this 2x3 frame would give another value
    metres = np.array([[1.0, 2.0, 99.0], [10.0, 20.0, 99.0]], np.float32)
    valid = metres < 50
    assert dp.LogDepth.of(metres, valid).reference == pytest.approx(6.0)


def frame_of(pixels_h: int, pixels_w: int) -> np.ndarray:
    """A frame whose even-row/even-column pixels are 1 m and every other pixel 5 m."""
    metres = np.full((pixels_h, pixels_w), 5.0, np.float32)
    metres[::2, ::2] = 1.0
    return metres


def test_reference_sampling_starts_just_above_reference_samples():
    # exactly REFERENCE_SAMPLES pixels: stride 1, so the 5 m majority sets the median
    small = frame_of(4, dp.REFERENCE_SAMPLES // 4)
    assert small.size == dp.REFERENCE_SAMPLES
    assert dp.LogDepth.of(small, np.ones_like(small, bool)).reference == 5.0
    # one row more: stride ceil(sqrt(size / REFERENCE_SAMPLES)) = 2 samples only the 1 m grid points
    big = frame_of(5, dp.REFERENCE_SAMPLES // 4)
    assert int(np.ceil(np.sqrt(big.size / dp.REFERENCE_SAMPLES))) == 2
    assert dp.LogDepth.of(big, np.ones_like(big, bool)).reference == 1.0


def test_reference_falls_back_to_all_valid_pixels_when_the_sample_grid_misses_them():
    metres = frame_of(5, dp.REFERENCE_SAMPLES // 4)
    valid = np.zeros_like(metres, bool)
    valid[1::2, :] = True  # odd rows only: the stride-2 grid (even rows) sees no valid pixel
    metres[1::2, :] = 3.0
    assert dp.LogDepth.of(metres, valid).reference == 3.0


def test_reference_of_a_batch_frame_samples_the_last_two_axes():
    metres = frame_of(5, dp.REFERENCE_SAMPLES // 4)[None]
    assert dp.LogDepth.of(metres, np.ones_like(metres, bool)).reference == 1.0


def test_decode_clips_both_ways_and_encode_is_the_log_ratio():
    norm = dp.LogDepth(2.0)
    out = norm.decode(np.float32([-1e6, -12.0, 0.0, 1.0, 12.0, 1e6]))
    expected = 2.0 * np.exp(np.float32([-12.0, -12.0, 0.0, 1.0, 12.0, 12.0]))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32
    enc = norm.encode([0.5, 2.0, 8.0])
    np.testing.assert_allclose(enc, np.log([0.25, 1.0, 4.0]), atol=1e-6)
    assert enc.dtype == np.float32


def test_encode_frame_values_are_log_ratio_to_the_median_and_holes_take_the_nearest_value():
    metres = np.array([[1.0, 2.0, 4.0, 8.0], [1.0, np.nan, 4.0, 0.0]], np.float32)
    valid = np.isfinite(metres) & (metres > 0)
    encoded, norm = dp.encode_frame(metres, valid)
    assert norm.reference == float(np.median(metres[valid]))  # 2.0
    expected = np.log(np.where(valid, metres, 1.0) / norm.reference)
    np.testing.assert_allclose(encoded[valid], expected[valid], atol=1e-6)
    # (1, 1): nearest valid neighbours at distance 1 are (0, 1), (1, 0), (1, 2); the hole copies one of them
    assert any(np.isclose(encoded[1, 1], encoded[p]) for p in [(0, 1), (1, 0), (1, 2)])
    assert any(np.isclose(encoded[1, 3], encoded[p]) for p in [(0, 3), (1, 2)])  # 8 m or 4 m, both at distance 1
    assert encoded.dtype == np.float32 and metres[0, 0] == 1.0


def test_encode_frame_without_valid_pixels_is_zeros_with_reference_one():
    metres = np.full((3, 3), np.nan, np.float32)
    encoded, norm = dp.encode_frame(metres, np.zeros((3, 3), bool))
    assert norm.reference == 1.0
    assert encoded.tolist() == [[0.0] * 3] * 3


def brute_force_fill(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Nearest valid pixel by Euclidean distance (layouts below have a unique nearest one)."""
    out = values.copy()
    vy, vx = np.nonzero(valid)
    for y, x in zip(*np.nonzero(~valid)):
        d = (vy - y) ** 2 + (vx - x) ** 2
        out[y, x] = values[vy[d.argmin()], vx[d.argmin()]]
    return out


def test_fill_invalid_matches_brute_force_nearest_neighbour():
    values = np.zeros((9, 11), np.float32)
    valid = np.zeros_like(values, bool)
    for (y, x), v in {(0, 0): 1.0, (1, 9): 2.0, (7, 2): 3.0, (8, 10): 4.0, (4, 5): 5.0}.items():
        values[y, x], valid[y, x] = v, True
    # only pixels with a clear nearest seed are compared (the chamfer distance may break near-ties either way)
    vy, vx = np.nonzero(valid)
    d = np.sort(np.array([(vy - y) ** 2 + (vx - x) ** 2 for y, x in np.ndindex(values.shape)]), axis=1)
    clear = (np.sqrt(d[:, 1]) - np.sqrt(d[:, 0]) > 1.0).reshape(values.shape)
    filled = dp.fill_invalid(values, valid)
    np.testing.assert_array_equal(filled[clear], brute_force_fill(values, valid)[clear])
    assert set(np.unique(filled)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert values[1, 1] == 0.0  # the caller's array is untouched


def test_fill_invalid_into_a_separate_out_buffer_and_in_place():
    values = np.array([[7.0, 0.0, 0.0, 3.0]], np.float32)
    valid = values > 0
    out = np.full_like(values, -1.0)
    assert dp.fill_invalid(values, valid, out=out) is out
    assert out.tolist() == [[7.0, 7.0, 3.0, 3.0]]
    same = values.copy()
    assert dp.fill_invalid(same, valid, out=same) is same
    assert same.tolist() == [[7.0, 7.0, 3.0, 3.0]]
    full = np.full_like(values, -1.0)
    dp.fill_invalid(values, np.ones_like(valid), out=full)  # nothing to fill: still a copy of values
    assert full.tolist() == values.tolist()


def test_fill_invalid_of_an_all_invalid_frame_is_zeros():
    values = np.full((2, 3), 9.0, np.float32)
    out = dp.fill_invalid(values, np.zeros((2, 3), bool))
    assert out.tolist() == [[0.0] * 3] * 2 and values[0, 0] == 9.0


def test_upsample_mask_blocks_for_rows_and_columns_and_batches():
    mask = np.array([[True, False], [False, False]])
    up = dp.upsample_mask(mask, 3)
    assert up.shape == (6, 6)
    assert up[:3, :3].all() and not up[3:, :].any() and not up[:, 3:].any()
    batch = dp.upsample_mask(np.stack([mask, ~mask]), 2)
    assert batch.shape == (2, 4, 4) and batch[1, 2:, 2:].all() and not batch[1, :2, :2].any()
