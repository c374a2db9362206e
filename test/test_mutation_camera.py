"""dsr_ros.camera edge cases for `make mutation`: REP 104 zeros, ROI offsets, binning per axis, rejection messages.

Expected numbers come from the formulas in the module docstring: c' = (c + 0.5)·s − 0.5 (pixel_center),
c' = s·c (image_proc), and image_geometry's intrinsics (P, else K; minus ROI offset; divided by binning).
"""
import numpy as np
import pytest
from ros_helpers import info_msg

from dsr_ros.camera import CameraInfoError, expected_image_size, image_intrinsics, scale_camera_info, scale_matrix


def test_scale_matrix_for_both_conventions():
    np.testing.assert_array_equal(scale_matrix(4), [[4, 0, 1.5], [0, 4, 1.5], [0, 0, 1]])
    np.testing.assert_array_equal(scale_matrix(4, "image_proc"), [[4, 0, 0], [0, 4, 0], [0, 0, 1]])
    np.testing.assert_array_equal(scale_matrix(1), np.eye(3))


def test_unknown_convention_message_names_the_bad_value():
    with pytest.raises(CameraInfoError) as err:
        scale_matrix(2, "Pixel_Center")
    assert str(err.value) == "convention must be one of ('pixel_center', 'image_proc'), got 'Pixel_Center'"


def test_expected_size_binning_zero_means_one_and_axes_are_independent():
    assert expected_image_size(info_msg(40, 30)) == (40, 30)
    assert expected_image_size(info_msg(40, 30, binning=(1, 1))) == (40, 30)
    assert expected_image_size(info_msg(40, 30, binning=(4, 0))) == (10, 30)
    assert expected_image_size(info_msg(40, 30, binning=(0, 3))) == (40, 10)
    assert expected_image_size(info_msg(41, 31, binning=(2, 2))) == (20, 15)  # integer division, as the driver bins


def test_expected_size_roi_with_one_zero_side_is_the_full_image():
    assert expected_image_size(info_msg(40, 30, roi=(2, 3, 10, 0))) == (40, 30)
    assert expected_image_size(info_msg(40, 30, roi=(2, 3, 0, 8))) == (40, 30)
    assert expected_image_size(info_msg(40, 30, roi=(2, 3, 10, 8))) == (10, 8)
    assert expected_image_size(info_msg(40, 30, roi=(2, 3, 10, 8), binning=(2, 1))) == (5, 8)


def test_expected_size_none_without_a_size():
    assert expected_image_size(info_msg(0, 30)) is None
    assert expected_image_size(info_msg(40, 0)) is None


def test_intrinsics_fall_back_to_k_when_either_focal_of_p_is_zero():
    for i in (0, 5):
        info = info_msg(40, 30, fx=50, fy=52, cx=19.5, cy=14.5)
        info.p[:] = 0
        info.p[i] = 70.0  # only one focal length set: P is unset, K describes the image
        got = image_intrinsics(info)
        assert (got.fx, got.fy, got.cx, got.cy) == (50, 52, 19.5, 14.5)


def test_intrinsics_none_for_zero_negative_or_non_finite_focal_lengths():
    for field_index, value in [(0, 0.0), (4, 0.0), (0, -5.0), (4, -5.0), (0, np.nan), (2, np.inf)]:
        info = info_msg(40, 30)
        info.p[:] = 0
        info.k[field_index] = value
        assert image_intrinsics(info) is None, (field_index, value)


def test_intrinsics_roi_offsets_per_axis_and_full_roi_ignores_offsets():
    got = image_intrinsics(info_msg(80, 60, fx=100, fy=90, cx=40, cy=30, roi=(10, 4, 40, 30)))
    assert (got.fx, got.fy, got.cx, got.cy) == (100, 90, 30, 26)
    # zero-size ROI = full image: its offsets mean nothing
    got = image_intrinsics(info_msg(80, 60, fx=100, fy=90, cx=40, cy=30, roi=(10, 4, 0, 0)))
    assert (got.cx, got.cy) == (40, 30)
    got = image_intrinsics(info_msg(80, 60, fx=100, fy=90, cx=40, cy=30, binning=(4, 1)))
    assert (got.fx, got.fy, got.cx, got.cy) == (25, 90, 10, 30)


def test_scale_one_is_identity_and_non_integer_scales_are_rejected():
    info = info_msg(40, 30, roi=(1, 2, 20, 10))
    out = scale_camera_info(info, 1)
    np.testing.assert_array_equal(out.k, info.k)
    np.testing.assert_array_equal(out.p, info.p)
    assert (out.width, out.height, out.roi.x_offset, out.roi.y_offset, out.roi.width, out.roi.height) == (40, 30, 1, 2, 20, 10)
    out = scale_camera_info(info, 2.0)  # an integral float is an integer scale
    assert (out.width, out.height) == (80, 60)
    with pytest.raises(CameraInfoError) as err:
        scale_camera_info(info, 2.5)
    assert str(err.value) == "scale must be a positive integer, got 2.5"


def test_scaling_keeps_binning_fields_and_rectify_flag_when_unbinned():
    info = info_msg(40, 30, binning=(1, 0), roi=(1, 2, 20, 10))
    info.roi.do_rectify = True
    out = scale_camera_info(info, 4)
    assert (out.binning_x, out.binning_y) == (1, 0)  # written back as given (0 and 1 both mean unbinned)
    assert out.roi.do_rectify is True
    assert (out.roi.x_offset, out.roi.y_offset, out.roi.width, out.roi.height) == (4, 8, 80, 40)
    assert (out.width, out.height) == (160, 120)
    assert out.k[8] == 1.0 and out.p[10] == 1.0  # the homogeneous row is not scaled


def test_binned_scaling_checks_each_axis_and_keeps_roi_and_k():
    info = info_msg(80, 60, binning=(4, 8), roi=(2, 4, 40, 20))
    info.roi.do_rectify = True
    out = scale_camera_info(info, 4)
    assert (out.binning_x, out.binning_y) == (1, 2)
    assert (out.roi.x_offset, out.roi.y_offset, out.roi.width, out.roi.height) == (2, 4, 40, 20)
    assert out.roi.do_rectify is True
    np.testing.assert_array_equal(out.p, info.p)
    for binning in [(4, 2), (2, 4)]:  # one axis not divisible is enough to refuse
        with pytest.raises(CameraInfoError) as err:
            scale_camera_info(info_msg(80, 60, binning=binning), 4)
        assert str(err.value).startswith(f"binning_x={binning[0]}, binning_y={binning[1]} is not divisible by scale 4")


def test_p_is_used_when_both_its_focal_lengths_are_set_even_with_a_non_finite_baseline():
    info = info_msg(40, 30, fx=50, fy=52, cx=19.5, cy=14.5)
    info.p[3] = np.nan  # Tx is not an intrinsic: it must not make the camera "uncalibrated"
    got = image_intrinsics(info)
    assert (got.fx, got.fy) == (50, 52)


def test_p_with_zero_fy_but_a_principal_point_falls_back_to_k():
    info = info_msg(40, 30, fx=50, fy=52, cx=19.5, cy=14.5)
    info.p[5] = 0.0  # fy of P unset, cy (p[6]) still there: P is not usable, K is
    got = image_intrinsics(info)
    assert (got.fx, got.fy, got.cx, got.cy) == (50, 52, 19.5, 14.5)


def test_sub_pixel_focal_lengths_are_still_calibrated():
    got = image_intrinsics(info_msg(40, 30, fx=0.5, fy=0.75, cx=1.0, cy=1.0))
    assert (got.fx, got.fy) == (0.5, 0.75)


@pytest.mark.parametrize("binning", [(1, 2), (2, 1)])
def test_binning_on_one_axis_only_is_not_treated_as_unbinned(binning):
    with pytest.raises(CameraInfoError) as err:
        scale_camera_info(info_msg(80, 60, binning=binning), 2)
    assert str(err.value) == (
        f"binning_x={binning[0]}, binning_y={binning[1]} is not divisible by scale 2: publish unbinned "
        "CameraInfo or use a scale that divides the binning")


def test_reduced_binning_stays_an_integer():
    out = scale_camera_info(info_msg(80, 60, binning=(4, 8)), 2)
    assert (out.binning_x, out.binning_y) == (2, 4)
    assert type(out.binning_x) is int and type(out.binning_y) is int
