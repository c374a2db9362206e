"""dsr_ros.train.degrade for `make mutation`: sampling offsets, shapes, hole rules, sensor statistics.

Expected values come from the module's stated models: nearest = the block-centre pixel; bicubic of a
constant is that constant; an LR pixel is a hole when less than half of its HR block is valid; sensor
output is quantised to millimetres with noise growing with z² (stereo) or z (ToF).
"""
import numpy as np
import pytest

from dsr_ros.train import degrade as dg


def ramp(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    return (1.0 + 0.01 * xx + 0.1 * yy).astype(np.float32)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_nearest_takes_the_block_centre_pixel(scale):
    hr = ramp(3 * scale - 1, 4 * scale - 1)  # leftover rows/columns beyond whole blocks are dropped
    lr = dg.nearest(hr, scale)
    o = scale // 2
    expected = np.array([[hr[i * scale + o, j * scale + o] for j in range(3)] for i in range(2)])
    np.testing.assert_array_equal(lr, expected)
    assert lr.flags.c_contiguous


@pytest.mark.parametrize("fn", [dg.bicubic_antialiased, dg.bicubic_aliased])
def test_bicubic_shapes_for_non_square_frames_and_constants_stay_constant(fn):
    hr = np.full((12, 20), 2.5, np.float32)
    lr = fn(hr, 4)
    assert lr.shape == (3, 5)
    np.testing.assert_allclose(lr, 2.5, rtol=1e-5)


def test_antialiased_bicubic_of_a_linear_ramp_is_the_ramp_at_block_centres():
    hr = ramp(32, 32)
    lr = dg.bicubic_antialiased(hr, 4)
    yy, xx = np.mgrid[0:8, 0:8]
    centre = (yy * 4 + 1.5, xx * 4 + 1.5)  # the HR coordinate of an LR pixel centre: (i + 0.5)·s − 0.5
    expected = 1.0 + 0.01 * centre[1] + 0.1 * centre[0]
    np.testing.assert_allclose(lr[2:-2, 2:-2], expected[2:-2, 2:-2], atol=1e-4)  # away from the borders


def test_an_lr_pixel_is_a_hole_when_less_than_half_its_block_is_valid():
    hr = np.full((2, 8), 2.0, np.float32)
    hr[0, 0] = np.nan  # block 0: 3 of 4 valid
    hr[:, 2] = np.nan  # block 1: 2 of 4 valid (exactly half: kept)
    hr[:, 4] = np.nan
    hr[0, 5] = np.nan  # block 2: 1 of 4 valid
    hr[:, 6:] = np.inf  # block 3: none valid (inf is unknown too)
    lr = dg.degrade(hr, 2, "nearest")
    assert lr.shape == (1, 4)
    assert np.isfinite(lr[0]).tolist() == [True, True, False, False]
    np.testing.assert_allclose(lr[0, :2], 2.0)  # holes were filled from neighbours before sampling


def test_non_positive_depth_becomes_a_hole():
    hr = np.full((4, 4), 1.0, np.float32)
    hr[:2, :2] = 0.0
    hr[2:, 2:] = -1.0
    lr = dg.degrade(hr, 2, "nearest")
    assert np.isnan(lr[0, 0]) and np.isnan(lr[1, 1]) and lr[0, 1] == 1.0 and lr[1, 0] == 1.0
    assert lr.dtype == np.float32


def test_unknown_degradation_names_the_allowed_ones():
    with pytest.raises(ValueError) as err:
        dg.degrade(np.ones((4, 4), np.float32), 2, "blur")
    assert str(err.value) == (
        "degradation must be one of bicubic, bicubic_aliased, nearest, nearest_phase, sensor, stereo, tof, got 'blur'")


@pytest.mark.parametrize("kind", ["sensor", "stereo", "tof"])
def test_sensor_models_default_to_seed_zero_and_quantise_to_millimetres(kind):
    hr = np.full((32, 32), 2.0, np.float32)
    a = dg.degrade(hr, 2, kind)
    b = dg.degrade(hr, 2, kind, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (16, 16) and a.dtype == np.float32
    finite = a[np.isfinite(a)]
    assert finite.size > 0.5 * a.size
    if kind != "stereo":  # stereo quantises disparity, not depth
        np.testing.assert_allclose(finite * 1000.0, np.round(finite * 1000.0), atol=1e-3)


def test_sensor_noise_grows_with_depth_squared_and_holes_are_few():
    rng = np.random.default_rng(1)
    near = np.concatenate([dg.sensor(np.full((64, 64), 1.0, np.float32), 1, rng) for _ in range(4)])
    far = np.concatenate([dg.sensor(np.full((64, 64), 4.0, np.float32), 1, rng) for _ in range(4)])
    sd_near, sd_far = np.nanstd(near), np.nanstd(far)
    assert 0.0002 < sd_near < 0.004  # sigma = U(0.0005, 0.003) · z²
    assert 8 < sd_far / sd_near < 32  # about 16 for z² (4 m vs 1 m), far from 4 (∝ z) or 1
    assert abs(np.nanmean(near) - 1.0) < 0.003 and abs(np.nanmean(far) - 4.0) < 0.05
    assert np.isnan(near).mean() < 0.05 + 0.03


def test_stereo_keeps_a_near_plane():
    near = dg.stereo(np.full((64, 64), 1.0, np.float32), 2, np.random.default_rng(3))
    assert np.isfinite(near).mean() > 0.85
    assert abs(np.nanmedian(near) - 1.0) < 0.05


def test_stereo_shadows_fall_left_of_a_foreground_edge():
    hr = np.full((64, 64), 3.0, np.float32)
    hr[:, 32:] = 0.5  # a near box on the right half: the background just left of it is hidden from the right camera
    shadowed = np.zeros(32, int)
    for seed in range(6):
        lr = dg.stereo(hr, 2, np.random.default_rng(seed))
        shadowed += np.isnan(lr).sum(axis=0)
    assert shadowed[10:14].sum() < shadowed[14:16].sum()  # columns right before the edge are shadowed most
    assert shadowed[16:20].sum() < shadowed[14:16].sum()  # the near box itself is seen


def test_time_of_flight_drops_far_returns_and_averages_footprints():
    far = dg.time_of_flight(np.full((64, 64), 10.0, np.float32), 2, np.random.default_rng(4))
    assert far.shape == (32, 32)
    assert 0.55 < np.isnan(far).mean() < 0.9  # 70 % of returns beyond 4-9 m are lost
    hr = np.tile(np.array([1.0, 3.0], np.float32), (8, 4))  # alternate columns: each 2x2 footprint averages 2 m
    lr = dg.time_of_flight(hr, 2, np.random.default_rng(5))
    assert abs(np.nanmedian(lr) - 2.0) < 0.1


def test_time_of_flight_noise_grows_linearly_with_depth():
    # the same seed for both planes: the same k and the same unit normals, so only z differs
    near = dg.time_of_flight(np.full((64, 64), 1.0, np.float32), 1, np.random.default_rng(6))
    mid = dg.time_of_flight(np.full((64, 64), 3.0, np.float32), 1, np.random.default_rng(6))
    ratio = np.nanstd(mid) / np.nanstd(near)
    assert 1.8 < ratio < 3.2  # sigma = k·z + 1 mm: (3k + 0.001) / (k + 0.001) is 2-2.9 for k in 0.001-0.008


def test_blobs_cover_about_the_requested_fraction_and_none_for_zero():
    rng = np.random.default_rng(7)
    assert not dg._blobs((40, 50), rng, 0.0).any()
    cover = dg._blobs((40, 50), rng, 0.3)
    assert cover.shape == (40, 50) and abs(cover.mean() - 0.3) < 0.02


def test_focal_length_is_between_0_6_and_1_2_times_the_larger_side():
    rng = np.random.default_rng(8)
    f = np.array([dg._focal_px((30, 40), rng) for _ in range(200)])
    assert f.min() >= 24.0 and f.max() <= 48.0 and f.max() - f.min() > 15.0


def test_nearest_phase_keeps_every_sth_pixel_at_a_random_offset_seeded_by_the_rng():
    hr = np.arange(24 * 32, dtype=np.float32).reshape(24, 32) / 100 + 1
    offsets = set()
    for seed in range(40):
        lr = dg.degrade(hr, 4, "nearest_phase", np.random.default_rng(seed))
        oy, ox = np.argwhere(hr == lr[0, 0])[0]
        np.testing.assert_array_equal(lr, hr[oy::4, ox::4])
        np.testing.assert_array_equal(lr, dg.degrade(hr, 4, "nearest_phase", np.random.default_rng(seed)))
        offsets.add((int(oy), int(ox)))
    assert len(offsets) > 10 and all(0 <= o < 4 for pair in offsets for o in pair)
    np.testing.assert_array_equal(dg.degrade(hr, 4, "nearest"), hr[2::4, 2::4])
