"""CameraInfo scaling: K, P, size, ROI, binning, conventions, on real sensor_msgs objects (rosbags)."""
import numpy as np
import pytest
from ros_helpers import TS, header, info_msg

from dsr_ros.camera import CameraInfoError, expected_image_size, image_intrinsics, scale_camera_info, scale_matrix


def project(k: np.ndarray, point: np.ndarray) -> np.ndarray:
    uvw = k.reshape(3, 3) @ point
    return uvw[:2] / uvw[2]


def test_pixel_center_convention_matches_hand_computed_values():
    out = scale_camera_info(info_msg(40, 30, fx=50, fy=52, cx=19.5, cy=14.5), 4)
    # f' = 4 f; c' = (c + 0.5)·4 − 0.5
    assert list(out.k) == [200, 0, 79.5, 0, 208, 59.5, 0, 0, 1]
    assert list(out.p) == [200, 0, 79.5, 0, 0, 208, 59.5, 0, 0, 0, 1, 0]
    assert (out.width, out.height) == (160, 120)


def test_image_proc_convention_scales_principal_point_plainly():
    out = scale_camera_info(info_msg(40, 30, cx=19.5, cy=14.5), 2, convention="image_proc")
    assert (out.k[2], out.k[5]) == (39.0, 29.0)
    assert (out.p[2], out.p[6]) == (39.0, 29.0)


def test_p_translation_scales_with_focal_length():
    info = info_msg(40, 30)
    info.p[3] = -5.0  # stereo baseline term Tx = -fx·B
    out = scale_camera_info(info, 2)
    assert out.p[3] == -10.0


def test_pixel_centre_geometry_is_exact():
    """A 3-D point seen at LR pixel u lands at the HR pixel whose centre covers the same ray: s·u + (s−1)/2."""
    info, point = info_msg(40, 30, fx=50, fy=52, cx=19.5, cy=14.5), np.array([0.3, -0.2, 2.0])
    for s in (2, 4, 8):
        lr, hr = project(info.k, point), project(scale_camera_info(info, s).k, point)
        np.testing.assert_allclose(hr, s * lr + (s - 1) / 2, atol=1e-9)


def test_keeps_distortion_rectification_header_and_model():
    info = info_msg(40, 30, hdr=header(7, 8, "tof"))
    out = scale_camera_info(info, 2)
    assert out.header.stamp.sec == 7 and out.header.stamp.nanosec == 8 and out.header.frame_id == "tof"
    assert out.distortion_model == "plumb_bob"
    np.testing.assert_array_equal(out.d, info.d)
    np.testing.assert_array_equal(out.r, info.r)
    assert type(out) is type(info)


def test_header_override_is_used():
    out = scale_camera_info(info_msg(40, 30), 2, header=header(99, 1, "depth"))
    assert out.header.stamp.sec == 99 and out.header.frame_id == "depth"


def test_roi_is_scaled_and_stays_consistent_with_k():
    out = scale_camera_info(info_msg(40, 30, roi=(4, 6, 20, 10)), 2)
    roi = out.roi
    assert (roi.x_offset, roi.y_offset, roi.width, roi.height) == (8, 12, 40, 20)
    assert expected_image_size(out) == (40, 20)


def test_binning_divisible_by_scale_halves_binning_and_keeps_intrinsics():
    info = info_msg(80, 60, binning=(4, 2))
    out = scale_camera_info(info, 2)
    assert (out.binning_x, out.binning_y) == (2, 1)
    np.testing.assert_array_equal(out.k, info.k)
    assert (out.width, out.height) == (80, 60)
    assert expected_image_size(info) == (20, 30) and expected_image_size(out) == (40, 60)


def test_binning_not_divisible_by_scale_is_rejected_naming_binning():
    with pytest.raises(CameraInfoError, match="binning_x=2"):
        scale_camera_info(info_msg(80, 60, binning=(2, 2)), 4)


@pytest.mark.parametrize("scale", [0, -2, 1.5])
def test_bad_scale_rejected(scale):
    with pytest.raises(CameraInfoError, match="scale"):
        scale_camera_info(info_msg(40, 30), scale)


def test_unknown_convention_rejected_listing_allowed():
    with pytest.raises(CameraInfoError, match="pixel_center"):
        scale_matrix(2, "centre")


def test_image_intrinsics_apply_binning_and_roi_like_image_geometry():
    intr = image_intrinsics(info_msg(80, 60, fx=100, fy=90, cx=40, cy=30, binning=(2, 2), roi=(10, 4, 40, 30)))
    assert (intr.fx, intr.fy, intr.cx, intr.cy) == (50, 45, 15, 13)


def test_image_intrinsics_none_for_uncalibrated_camera():
    info = info_msg(40, 30)
    info.k[:] = 0
    info.p[:] = 0
    assert image_intrinsics(info) is None


def test_scaled_info_serialises_to_cdr_and_back():
    out = scale_camera_info(info_msg(40, 30), 2)
    back = TS.deserialize_cdr(TS.serialize_cdr(out, "sensor_msgs/msg/CameraInfo"), "sensor_msgs/msg/CameraInfo")
    np.testing.assert_array_equal(back.k, out.k)
    assert back.width == 80


def test_intrinsics_come_from_p_when_it_differs_from_k():
    """A rectified camera's P (the delivered image) is not K: image_intrinsics and the point cloud must use P."""
    info = info_msg(40, 30, fx=50, fy=52, cx=19.5, cy=14.5)
    info.p[0], info.p[5], info.p[2], info.p[6] = 48.0, 49.0, 20.25, 15.75
    got = image_intrinsics(info)
    assert (got.fx, got.fy, got.cx, got.cy) == (48.0, 49.0, 20.25, 15.75)
    scaled = scale_camera_info(info, 2)
    assert list(scaled.p[[0, 2, 5, 6]]) == [96.0, 41.0, 98.0, 32.0]
    assert list(scaled.k[[0, 2, 4, 5]]) == [100.0, 39.5, 104.0, 29.5]
