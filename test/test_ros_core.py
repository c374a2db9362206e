"""The ROS-free node core end to end on rosbags message objects and on messages decoded from CDR bytes."""
import numpy as np
import pytest
from ros_helpers import TS, header, image_msg, info_msg, scene_mm, tiny_core

from dsr_ros.ros.core import REASONS
from dsr_ros.ros.image import image_to_array

IMAGE, INFO = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo"


@pytest.fixture(scope="module")
def core():
    return tiny_core(2)


def via_cdr(msg, msgtype):
    """What a subscriber receives: the message serialised to wire bytes and decoded again."""
    return TS.deserialize_cdr(TS.serialize_cdr(msg, msgtype), msgtype)


@pytest.mark.parametrize("encoding", ["16UC1", "mono16", "32FC1"])
def test_frame_from_cdr_bytes_gives_upsampled_image_and_info_with_input_header(core, encoding):
    depth = scene_mm(20, 15)
    depth = depth if encoding != "32FC1" else np.where(depth > 0, depth / 1000.0, np.nan).astype(np.float32)
    hdr = header(1700000000, 123456789, "tof_optical")
    image = via_cdr(image_msg(depth, encoding, pad=4, bigendian=True, hdr=hdr), IMAGE)
    info = via_cdr(info_msg(20, 15, cx=9.5, cy=7.0, hdr=header(1700000000, 123456789, "other")), INFO)
    result = core.process(image, info)
    assert result.ok, result.detail
    out = via_cdr(result.image, IMAGE)
    assert (out.height, out.width, out.encoding, out.step) == (30, 40, encoding, 40 * depth.itemsize)
    for msg in (out, result.camera_info):
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (1700000000, 123456789,
                                                                                         "tof_optical")
    assert (result.camera_info.width, result.camera_info.height) == (40, 30)
    assert result.camera_info.k[2] == pytest.approx(19.5) and result.camera_info.k[5] == pytest.approx(14.5)
    assert set(result.timings) >= {"decode", "preprocess", "infer", "postprocess", "encode"}
    assert all(ms >= 0 for ms in result.timings.values())
    assert result.cloud is None
    up = image_to_array(out)
    invalid = np.isnan(up) if encoding == "32FC1" else up == 0
    # invalid input pixels stay invalid (nearest-upsampled), valid ones stay valid
    lr_invalid = np.isnan(depth) if encoding == "32FC1" else depth == 0
    np.testing.assert_array_equal(invalid, np.repeat(np.repeat(lr_invalid, 2, 0), 2, 1))


def test_without_camera_info_image_still_published(core):
    result = core.process(image_msg(scene_mm()), None)
    assert result.ok and result.camera_info is None and result.image.width == 40


def test_points_published_with_scaled_intrinsics():
    core = tiny_core(2, publish_points=True)
    result = core.process(image_msg(scene_mm(20, 15)), info_msg(20, 15))
    assert result.ok
    cloud = result.cloud
    assert (cloud.height, cloud.width) == (30, 40)
    xyz = np.frombuffer(via_cdr(cloud, "sensor_msgs/msg/PointCloud2").data.tobytes(), "<f4").reshape(30, 40, 3)
    z = image_to_array(result.image).astype(np.float32) / 1000
    valid = z > 0
    np.testing.assert_allclose(xyz[..., 2][valid], z[valid], rtol=1e-6)
    assert np.isnan(xyz[~valid]).all()
    k = result.camera_info.k
    u = np.arange(40)[None, :].repeat(30, 0)
    np.testing.assert_allclose(xyz[..., 0][valid], ((u - k[2]) * z / k[0])[valid], rtol=1e-5, atol=1e-6)


def test_points_without_camera_info_are_skipped_with_a_note():
    result = tiny_core(2, publish_points=True).process(image_msg(scene_mm()), None)
    assert result.ok and result.cloud is None and "CameraInfo" in result.notes["no_points"]


def test_output_encoding_can_be_configured():
    result = tiny_core(2, output_encoding="32FC1").process(image_msg(scene_mm()), None)
    out = image_to_array(result.image)
    assert result.image.encoding == "32FC1" and out.dtype == np.float32
    assert np.isnan(out[4, 6]) and np.nanmax(out) < 10  # metres, hole stays invalid


def relabel(msg, encoding):
    msg.encoding = encoding
    return msg


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: relabel(image_msg(scene_mm()), "rgb8"), "encoding"),
        (lambda: relabel(image_msg(scene_mm()), "32FC1"), "step"),
        (lambda: image_msg(np.zeros((6, 5), np.uint16)), "all_invalid"),
        (lambda: image_msg(np.full((6, 5), np.nan, np.float32), "32FC1"), "all_invalid"),
        (lambda: image_msg(np.full((6, 5), np.inf, np.float32), "32FC1"), "all_invalid"),
    ],
)
def test_bad_frames_give_reason_and_no_output(core, make, reason):
    result = core.process(make(), None)
    assert not result.ok and result.reason == reason and result.reason in REASONS
    assert result.image is None and result.camera_info is None and result.cloud is None
    assert result.detail


def test_camera_info_for_another_size_keeps_the_depth_and_says_why(core):
    result = core.process(image_msg(scene_mm(20, 15)), info_msg(640, 480))
    assert result.ok and result.image.width == 40 and result.camera_info is None
    assert "640x480" in result.notes["camera_info"]


def test_binned_camera_info_matching_the_image_is_accepted(core):
    result = core.process(image_msg(scene_mm(20, 15)), info_msg(40, 30, binning=(2, 2)))
    assert result.ok and result.camera_info.binning_x == 1


def test_unscalable_binning_publishes_depth_without_camera_info(core):
    result = core.process(image_msg(scene_mm(20, 15)), info_msg(60, 45, binning=(3, 3)))
    assert result.ok and result.camera_info is None and "binning" in result.notes["camera_info"]
