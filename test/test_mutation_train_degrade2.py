"""dsr_ros.train.degrade, second part for `make mutation`: the kernels and sensor statistics the first file left open.

Expected values come from the stated models: OpenCV's INTER_CUBIC is the Keys kernel (a = -0.75) sampled at
(i + 0.5)·s − 0.5 without a low-pass; `sensor` noise is N(0, k·z²) with k in 0.0005–0.003, rounded to mm,
with U(0, 3 %) random holes plus half of the strongest 3 % of depth gradients (both sides of every edge).
Scenes are small boxes and poles on a far plane, so the edge pixels are fewer than 3 % of the frame.
"""
from __future__ import annotations

import numpy as np
import pytest

from dsr_ros.train import degrade as dg


def keys(x: np.ndarray, a: float = -0.75) -> np.ndarray:
    """The cubic convolution kernel OpenCV's INTER_CUBIC uses."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def cubic_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Rows of Keys weights: output sample i reads the input around (i + 0.5)·n_in/n_out − 0.5, four taps, edges
    replicated, no anti-aliasing (OpenCV's INTER_CUBIC, up or down)."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        u = (i + 0.5) * n_in / n_out - 0.5
        for k in range(int(np.floor(u)) - 1, int(np.floor(u)) + 3):
            m[i, min(max(k, 0), n_in - 1)] += keys(np.array(u - k))
    return m


LO, HI = 16, 48  # the box's rows and columns in a 96x96 frame


def box_scene() -> np.ndarray:
    """A near box (1 m) on a far plane (3 m): four straight sides whose gradients have both signs.

    Its about 240 strong edge pixels are 2.6 % of the frame: all inside the top 3 %, not all inside the top 2 %.
    """
    hr = np.full((96, 96), 3.0, np.float32)
    hr[LO:HI, LO:HI] = 1.0
    return hr


def side_holes(seed: int) -> tuple[np.ndarray, float]:
    """Hole fractions on the two pixel columns/rows of the left, right, top and bottom sides; and far away."""
    holes = np.isnan(dg.sensor(box_scene(), 1, np.random.default_rng(seed)))
    sides = [holes[LO:HI, LO - 1 : LO + 1], holes[LO:HI, HI - 1 : HI + 1],
             holes[LO - 1 : LO + 1, LO:HI], holes[HI - 1 : HI + 1, LO:HI]]
    return np.array([side.mean() for side in sides]), float(holes[64:, 64:].mean())


@pytest.mark.parametrize("scale", [2, 4])
def test_aliased_bicubic_is_the_keys_kernel_point_sampled(scale: int) -> None:
    """bicubic_aliased is OpenCV INTER_CUBIC: Keys weights at the block centre, not linear or area."""
    hr = np.random.default_rng(0).uniform(1.0, 5.0, (16, 24)).astype(np.float32)
    lr = dg.bicubic_aliased(hr, scale)
    expected = cubic_matrix(16 // scale, 16) @ hr.astype(np.float64) @ cubic_matrix(24 // scale, 24).T
    assert lr.shape == (16 // scale, 24 // scale) and lr.dtype == np.float32
    np.testing.assert_allclose(lr, expected, atol=1e-4)


def test_sensor_holes_fall_on_both_sides_of_every_edge_about_half_the_time() -> None:
    """Edge holes: each box side, whatever the sign of its gradient, loses about half its pixels, in every frame."""
    per_seed, away = zip(*(side_holes(seed) for seed in range(10)), strict=True)
    per_seed = np.array(per_seed)
    assert ((0.35 < per_seed.mean(axis=1)) & (per_seed.mean(axis=1) < 0.7)).all(), per_seed  # pixel by pixel
    sides = per_seed.mean(axis=0)
    assert ((0.4 < sides) & (sides < 0.65)).all(), sides  # each side, both signs of the gradient
    assert 0.46 < sides.mean() < 0.6  # half of all of them: they are all within the strongest 3 %
    assert max(away) < 0.04  # elsewhere only the random holes, at most 3 %


def test_sensor_edge_holes_are_beside_a_thin_pole_not_on_it() -> None:
    """A one-pixel pole has no first-order gradient on itself: its neighbours lose pixels, it keeps its own."""
    for transpose in (False, True):
        hr = np.full((96, 96), 3.0, np.float32)
        hr[30:60, 48] = 1.0
        hr = hr.T.copy() if transpose else hr
        on, beside = 0.0, 0.0
        for seed in range(6):
            holes = np.isnan(dg.sensor(hr, 1, np.random.default_rng(seed)))
            holes = holes.T if transpose else holes
            on += holes[32:58, 48].mean() / 6
            beside += (holes[32:58, 47].mean() + holes[32:58, 49].mean()) / 12
        assert on < 0.06 and 0.35 < beside < 0.68, (transpose, on, beside)


def test_sensor_random_holes_on_a_flat_plane_are_all_there_is_up_to_three_percent() -> None:
    """A plane whose sub-mm noise rounds away has no gradients, so no edge holes: only U(0, 3 %) random ones."""
    rates = []
    for seed in range(30):
        lr = dg.sensor(np.full((64, 64), 0.2, np.float32), 1, np.random.default_rng(seed))
        assert (lr[np.isfinite(lr)] == np.float32(0.2)).mean() > 0.99
        rates.append(np.isnan(lr).mean())
    rates = np.array(rates)
    assert rates.max() < 0.04 and rates.min() < 0.004 and rates.max() > 0.02  # 3 % plus binomial spread
    assert 0.009 < rates.mean() < 0.021  # the mean of U(0, 0.03)


def test_sensor_noise_is_unbiased_with_sigma_between_0_0005_and_0_003_z_squared() -> None:
    """At 4 m the mean stays at 4 m (within 2 mm) and std / z² spans the U(0.0005, 0.003) range."""
    frames = [dg.sensor(np.full((64, 64), 4.0, np.float32), 1, np.random.default_rng(seed)) for seed in range(24)]
    assert abs(np.nanmean(np.stack(frames[:8])) - 4.0) < 0.002
    k = np.array([np.nanstd(f) / 16.0 for f in frames])
    assert k.min() > 0.00045 and k.max() < 0.0031
    assert k.min() < 0.0009 and k.max() > 0.0025  # the whole range is used
    assert all(f.dtype == np.float32 for f in frames)


class Extremes(np.random.Generator):
    """A real PCG64 generator whose scalar uniform draws (the models' parameters) sit at one end of their range.

    Scalar integers too; per-pixel draws (random, normal, arrays) stay random; `choice` picks element `pick`.
    """

    def __init__(self, seed: int, end: str, pick: int = 0) -> None:
        super().__init__(np.random.PCG64(seed))
        self.end, self.pick = end, pick

    def uniform(self, low: float = 0.0, high: float = 1.0, size: int | tuple[int, ...] | None = None):
        """low or high for a scalar draw (numpy's defaults 0 and 1 included), real draws for arrays."""
        if size is not None:
            return super().uniform(low, high, size)
        return float(low if self.end == "low" else high)

    def integers(self, low: int, high: int | None = None, size: int | tuple[int, ...] | None = None, **kwargs):
        """low or high − 1 for a scalar draw in [low, high), real draws otherwise."""
        if size is not None or high is None:
            return super().integers(low, high, size, **kwargs)
        return low if self.end == "low" else high - 1

    def choice(self, a, *args, **kwargs):
        """Element `pick` of a."""
        return a[self.pick]


def gaussian_sigma2(image: np.ndarray) -> np.ndarray:
    """A separable 17-tap Gaussian of sigma 2 px with mirrored borders (OpenCV's default), written out."""
    x = np.arange(-8, 9)
    g = np.exp(-(x**2) / 8.0)
    g /= g.sum()
    padded = np.pad(image.astype(np.float64), 8, mode="reflect")
    rows = sum(g[i] * padded[:, i : i + image.shape[1]] for i in range(17))
    return sum(g[i] * rows[i : i + image.shape[0], :] for i in range(17))


def test_stereo_shadow_is_exactly_where_the_right_camera_cannot_see() -> None:
    """With f = 0.6·32 px and b = 4 cm, a 0.1 m box in front of 3 m hides the 6 columns left of it, no more."""
    hr = np.full((32, 32), 3.0, np.float32)
    hr[:, 20:] = 0.1
    out = dg.stereo(hr, 1, Extremes(0, "low"))
    # fb = 0.768: disparities 0.256 and 7.68 px; background x is hidden when 20 − 7.68 < x − 0.256 − 0.5, x ≥ 14
    expected = np.zeros((32, 32), bool)
    expected[:, 14:20] = True
    np.testing.assert_array_equal(np.isnan(out), expected)  # no speckle, blobs or far cut at the low end
    assert out.dtype == np.float32


@pytest.mark.parametrize(("pick", "subpixel"), [(0, 4), (1, 8), (2, 16)])
def test_stereo_quantises_disparity_to_the_chosen_subpixel_step(pick: int, subpixel: int) -> None:
    """Every reading is f·b / (k / subpixel) for an integer k, with subpixel 4, 8 or 16."""
    fb = 0.6 * 32 * 0.04
    hr = np.tile(np.linspace(0.5, 2.5, 32, dtype=np.float32), (32, 1))
    out = dg.stereo(hr, 1, Extremes(1, "low", pick))
    k = fb / out[np.isfinite(out)].astype(np.float64) * subpixel
    assert k.size > 0.9 * out.size
    np.testing.assert_allclose(k, np.round(k), atol=1e-3)
    assert len(np.unique(np.round(k))) > 5


def test_stereo_reports_at_most_one_subpixel_step_of_disparity() -> None:
    """A very far plane reads as f·b·subpixel: disparity is floored at one quantisation step, 1/subpixel."""
    out = dg.stereo(np.full((32, 32), 1000.0, np.float32), 1, Extremes(2, "low"))
    np.testing.assert_allclose(out, 0.6 * 32 * 0.04 * 4, rtol=1e-5)


@pytest.mark.parametrize(("end", "off"), [("low", (0.0, 0.001)), ("high", (0.3, 0.5))])
def test_stereo_disparity_noise_is_between_0_02_and_0_15_px(end: str, off: tuple[float, float]) -> None:
    """On a plane at exactly 4 px disparity, quantised in quarter pixels, only noise moves a reading off 4 px.

    sigma 0.02 px almost never crosses 0.125 px; sigma 0.15 px does for P(|N| > 0.83) = 40 % of pixels.
    """
    fb = (0.6 if end == "low" else 1.2) * 64 * (0.04 if end == "low" else 0.12)
    out = dg.stereo(np.full((64, 64), fb / 4.0, np.float32), 1, Extremes(3, end))
    finite = out[np.isfinite(out)]
    moved = np.abs(fb / finite.astype(np.float64) - 4.0) > 0.01
    assert off[0] <= moved.mean() <= off[1]


def test_stereo_speckle_is_two_by_two_and_blobs_cover_six_percent_at_most() -> None:
    """At the high end: 6 % blobs plus 2x2 speckles seeded at 1 % (about 3.9 %) on a plane without edges."""
    fb = 1.2 * 64 * 0.12
    fractions = [np.isnan(dg.stereo(np.full((64, 64), fb / 4.0, np.float32), 1, Extremes(s, "high"))).mean()
                 for s in range(4)]
    assert 0.085 < np.mean(fractions) < 0.108  # 1 − 0.94 · 0.99⁴ = 0.097; 2x3 speckles would give 0.115


@pytest.mark.parametrize("end", ["low", "high"])
def test_time_of_flight_pixel_is_the_footprint_mean_with_noise_k_z_plus_1_mm(end: str) -> None:
    """ToF at x4: a block of columns 1,1,1,5 m reads 2 m (area mean, not a point sample), sigma = k·z + 1 mm."""
    hr = np.tile(np.array([1.0, 1.0, 1.0, 5.0], np.float32), (128, 32))
    lr = dg.time_of_flight(hr, 4, Extremes(4, end))
    assert lr.shape == (32, 32) and lr.dtype == np.float32
    sigma = (0.001 if end == "low" else 0.008) * 2.0 + 0.001
    assert abs(np.nanmean(lr) - 2.0) < 0.0005 + 3 * sigma / 32  # unbiased, no scale error
    assert 0.9 * sigma < np.nanstd(lr) < 1.1 * sigma
    if end == "low":
        assert np.isfinite(lr).all()  # no blobs and no random holes at the low end


@pytest.mark.parametrize("end", ["low", "high"])
def test_time_of_flight_multipath_adds_up_to_half_the_excess_over_a_2px_gaussian(end: str) -> None:
    """Behind a step edge (vertical or horizontal), ToF reads deeper by U(0, 0.5) of max(z − Gaussian(z, 2 px), 0)."""
    hr = np.full((64, 64), 1.0, np.float32)
    hr[:, 32:] = 3.0
    excess = np.maximum(hr - gaussian_sigma2(hr), 0.0)
    expected = hr + (0.0 if end == "low" else 0.5) * excess
    assert excess[0, 32] > 0.5  # the far side of the edge is where the extra path shows
    lr = dg.time_of_flight(hr, 1, Extremes(5, end))
    np.testing.assert_allclose(np.nanmean(lr, axis=0), expected[0], atol=0.012)
    lr = dg.time_of_flight(hr.T.copy(), 1, Extremes(5, end))  # the same edge across rows
    np.testing.assert_allclose(np.nanmean(lr, axis=1), expected[0], atol=0.012)


@pytest.mark.parametrize(("end", "kept", "dropped"), [("low", 3.95, 4.05), ("high", 8.6, 9.4)])
def test_time_of_flight_loses_70_percent_of_returns_beyond_4_to_9_m(end: str, kept: float, dropped: float) -> None:
    """Returns beyond the far limit (4 m at the low end, 9 m at the high end) are lost with probability 0.7."""
    near = dg.time_of_flight(np.full((64, 64), kept, np.float32), 1, Extremes(6, end))
    far = dg.time_of_flight(np.full((64, 64), dropped, np.float32), 1, Extremes(7, end))
    other = 0.0 if end == "low" else 0.065  # blobs and random holes at the high end
    assert np.isnan(near).mean() <= other + 0.02
    assert 0.66 < np.isnan(far).mean() < 0.74 + other


def test_time_of_flight_holes_are_blobs_plus_scattered_pixels_at_the_high_end() -> None:
    """High end: blobs cover 6 % and about 0.5 % single pixels drop out on their own."""
    lr = dg.time_of_flight(np.full((128, 128), 2.0, np.float32), 1, Extremes(8, "high"))
    holes = np.isnan(lr)
    assert 0.058 < holes.mean() < 0.072
    padded = np.pad(holes, 1)
    neighbours = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    isolated = int((holes & ~neighbours).sum())
    assert 35 < isolated < 110  # 0.5 % of 16384 pixels, most of them away from the blobs


def test_focal_length_spans_exactly_0_6_to_1_2_times_the_larger_side() -> None:
    """_focal_px's field-of-view range ends at 0.6 and 1.2 times max(shape)."""
    assert dg._focal_px((30, 40), Extremes(0, "low")) == pytest.approx(24.0)
    assert dg._focal_px((40, 30), Extremes(0, "high")) == pytest.approx(48.0)


def test_antialiased_bicubic_returns_float32_for_float64_metres() -> None:
    """Float64 ground truth is downscaled in float32 and comes back float32."""
    lr = dg.bicubic_antialiased(np.full((8, 8), 2.0), 2)
    assert lr.dtype == np.float32 and lr.shape == (4, 4)
    np.testing.assert_allclose(lr, 2.0, rtol=1e-6)


@pytest.mark.parametrize(("end", "size", "cut"), [("low", 128, 6.0), ("high", 64, 12.0)])
def test_stereo_drops_readings_beyond_its_6_to_12_m_range(end: str, size: int, cut: float) -> None:
    """Quarter-pixel disparity on a plane quantised to k = 2 or 3 steps: readings beyond the cut are holes."""
    fb4 = (0.6 * 0.04 if end == "low" else 1.2 * 0.12) * size * 4  # f·b·subpixel: k steps read fb4 / k metres
    k = 2 if end == "low" else 3
    assert fb4 / (k + 1) < cut < fb4 / k  # k steps lie beyond the cut, k + 1 inside it
    out = dg.stereo(np.full((size, size), fb4 / k, np.float32), 1, Extremes(9, end))
    if end == "low":  # noise of 0.02 px never moves a reading one step: the whole plane is beyond the cut...
        assert np.isnan(out).all()
        inside = dg.stereo(np.full((size, size), fb4 / (k + 1), np.float32), 1, Extremes(9, end))
        assert np.isfinite(inside).all()  # ...and a plane one step nearer is kept whole
    else:  # noise of 0.15 px moves some readings to k + 1 steps, inside the range: only those are kept
        finite = out[np.isfinite(out)]
        assert finite.size > 0.1 * out.size and finite.max() <= cut


def test_stereo_speckles_are_two_by_two_squares() -> None:
    """Each speckle seed becomes a 2x2 hole: most small hole components are 2x2 squares of 4 pixels."""
    import cv2

    fb = 1.2 * 64 * 0.12
    squares = small = 0
    for seed in range(4):
        holes = np.isnan(dg.stereo(np.full((64, 64), fb / 4.0, np.float32), 1, Extremes(seed, "high")))
        _, _, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
        for _, _, w, h, area in stats[1:]:
            if area <= 9:
                small += 1
                squares += (w, h, area) == (2, 2, 4)
    assert small > 40 and squares > 0.7 * small


def test_blobs_are_boolean_and_strictly_above_the_quantile() -> None:
    """_blobs is a bool mask; at most coverage·(n − 1) pixels, even when the quantile is a pixel's own value."""
    rng = np.random.default_rng(10)
    assert dg._blobs((4, 6), rng, 0.0).dtype == bool
    for _ in range(5):
        mask = dg._blobs((5, 21), rng, 0.25)  # 104 · 0.75 = 78: the quantile is the 79th smallest value itself
        assert mask.dtype == bool and int(mask.sum()) == 26


@pytest.mark.parametrize(("end", "cells"), [("low", 3), ("high", 8)])
def test_blob_noise_is_a_cubic_upsampling_of_a_3_to_8_cell_grid(end: str, cells: int) -> None:
    """_blobs thresholds a cells×cells grid of uniform values (cells 3–8) upsampled by INTER_CUBIC."""
    for seed in range(3):
        grid = np.random.Generator(np.random.PCG64(seed)).random((cells, cells)).astype(np.float32)  # first draw
        noise = cubic_matrix(20, cells) @ grid @ cubic_matrix(30, cells).T
        mask = dg._blobs((20, 30), Extremes(seed, end), 0.3)
        q = np.quantile(noise, 0.7)
        clear = np.abs(noise - q) > 1e-4
        np.testing.assert_array_equal(mask[clear], (noise > q)[clear])


def test_degrade_by_name_dispatches_bicubic_aliased() -> None:
    """degrade(..., "bicubic_aliased") is the point-sampled OpenCV bicubic, as float32."""
    hr = np.random.default_rng(11).uniform(1.0, 5.0, (16, 24)).astype(np.float32)
    lr = dg.degrade(hr, 4, "bicubic_aliased")
    assert lr.dtype == np.float32 and lr.shape == (4, 6)
    np.testing.assert_array_equal(lr, dg.bicubic_aliased(hr, 4))


@pytest.mark.parametrize("holes", [False, True])
def test_degrade_sensor_models_use_the_generator_they_are_given(holes: bool) -> None:
    """The caller's generator drives the sensor models, also through the hole-filling path (seed 0 only without one)."""
    hr = np.full((32, 32), 2.0, np.float32)
    if holes:
        hr[:3, :3] = np.nan
    a = dg.degrade(hr, 2, "tof", np.random.default_rng(1))
    b = dg.degrade(hr, 2, "tof", np.random.default_rng(2))
    assert not np.array_equal(a, b, equal_nan=True)
    np.testing.assert_array_equal(dg.degrade(hr, 2, "tof", np.random.default_rng(1)), a)
