"""The public Upsampler: shapes, dtypes, units, invalid pixels, batches, odd sizes, bad input."""
import numpy as np
import pytest
import torch

from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.profiling import StageTimer
from dsr_ros.upsampler import Upsampler


@pytest.fixture(scope="module")
def up():
    torch.manual_seed(0)
    return Upsampler.from_model(DSRNet(DSRNetConfig(scale=4, features=4, shallow=4, units=1)))


def identity_upsampler(scale=2, **kwargs):
    """A DSRNet whose residual is zero: exactly bicubic, so values can be predicted."""
    net = DSRNet(DSRNetConfig(scale=scale, features=4, shallow=4, units=1))
    torch.nn.init.zeros_(net.reconstruct[0].weight)
    torch.nn.init.zeros_(net.reconstruct[0].bias)
    return Upsampler.from_model(net, **kwargs)


@pytest.mark.parametrize("h,w", [(1, 1), (7, 13), (12, 16)])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_shapes_dtypes_and_odd_sizes(up, h, w, dtype):
    depth = (np.random.default_rng(0).uniform(0.5, 4.0, (h, w)) * (1000 if dtype == np.uint16 else 1)).astype(dtype)
    out = up.upsample(depth)
    assert out.shape == (4 * h, 4 * w) and out.dtype == dtype
    batch = up.upsample(np.stack([depth, depth]))
    assert batch.shape == (2, 4 * h, 4 * w)
    np.testing.assert_allclose(batch[0].astype(np.float64), out.astype(np.float64), atol=1)


def test_units_round_trip_for_both_encodings():
    up = identity_upsampler()
    mm = np.full((5, 6), 2345, np.uint16)
    np.testing.assert_allclose(up.upsample(mm).astype(float), 2345, atol=1)
    metres = np.full((5, 6), 2.345, np.float32)
    np.testing.assert_allclose(up.upsample(metres), 2.345, atol=1e-3)


def test_invalid_pixels_stay_invalid_unless_fill_holes():
    mm = np.full((4, 5), 1000, np.uint16)
    mm[1, 2] = 0
    out = identity_upsampler().upsample(mm)
    assert (out[2:4, 4:6] == 0).all() and (out > 0).sum() == out.size - 4
    metres = np.where(mm > 0, mm / 1000.0, np.nan).astype(np.float32)
    out_m = identity_upsampler().upsample(metres)
    assert np.isnan(out_m[2:4, 4:6]).all() and np.isfinite(out_m).sum() == out_m.size - 4
    filled = identity_upsampler(fill_holes=True).upsample(mm)
    assert (filled > 0).all()


def test_all_invalid_frame_gives_all_invalid_output(up):
    assert (up.upsample(np.zeros((3, 3), np.uint16)) == 0).all()
    assert np.isnan(up.upsample(np.full((3, 3), np.nan, np.float32))).all()


def test_fixed_depth_range_and_timer():
    timer = StageTimer()
    up = identity_upsampler(depth_range=(0.5, 5.0))
    out = up.upsample(np.full((3, 4), 1.25, np.float32), timer=timer)
    np.testing.assert_allclose(out, 1.25, atol=1e-3)
    assert set(timer.last) == {"preprocess", "infer", "postprocess"}


def test_readings_outside_the_depth_range_are_marked_invalid_never_clipped():
    metres = np.full((4, 4), 1.5, np.float32)
    metres[0, 0], metres[3, 3] = 20.7, 0.1  # beyond the sensor's 0.3-3 m range
    out = identity_upsampler(depth_range=(0.3, 3.0)).upsample(metres)
    assert np.isnan(out[0:2, 0:2]).all() and np.isnan(out[6:8, 6:8]).all()
    inside = np.isfinite(out)
    assert inside.sum() == out.size - 8 and out[inside].max() < 3.0
    mm = identity_upsampler(depth_range=(0.3, 3.0)).upsample(np.rint(metres * 1000).astype(np.uint16))
    assert (mm[0:2, 0:2] == 0).all() and mm.max() < 3000


def test_saturated_uint16_is_a_hole_not_a_far_reading():
    mm = np.full((4, 4), 1500, np.uint16)
    mm[1, 1] = 65535
    out = identity_upsampler().upsample(mm)
    assert (out[2:4, 2:4] == 0).all() and out.max() <= 1501


def test_bad_input_is_rejected_clearly(up):
    with pytest.raises(TypeError, match="uint16 .*float32"):
        up.upsample(np.zeros((3, 3), np.int32))
    with pytest.raises(ValueError, match="HxW or NxHxW"):
        up.upsample(np.zeros((3,), np.uint16))
    with pytest.raises(ValueError, match="HxW or NxHxW"):
        up.upsample(np.zeros((0, 3), np.uint16))
    with pytest.raises(ValueError, match="depth_range"):
        identity_upsampler(depth_range=(3.0, 1.0))


def test_from_file_and_from_pretrained(tmp_path):
    from dsr_ros.weights import WeightsError, card_for, save_model

    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1))
    path = save_model(tmp_path / "m.safetensors", net, card_for(net))
    up = Upsampler.from_file(path, backend="torch")
    assert up.scale == 2 and up.model_card.architecture == "DSRNet"
    with pytest.raises(WeightsError, match="expected x4"):
        Upsampler.from_file(path, expected_scale=4)
    shipped = Upsampler.from_pretrained(scale=4)
    assert shipped.scale == 4 and shipped.model_card.variant == "lite"
    assert shipped.upsample(np.full((6, 8), 1000, np.uint16)).shape == (24, 32)


def test_fill_holes_never_invents_depth_on_an_all_invalid_frame():
    assert (identity_upsampler(fill_holes=True).upsample(np.zeros((3, 4), np.uint16)) == 0).all()
    assert np.isnan(identity_upsampler(fill_holes=True).upsample(np.full((3, 4), np.nan, np.float32))).all()
