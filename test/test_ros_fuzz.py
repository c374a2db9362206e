"""Hypothesis fuzzing of Image and CameraInfo fields: the core never raises and explains every skip."""
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ros_helpers import TS, header, image_msg, info_msg, tiny_core

from dsr_ros.ros.core import REASONS

CORE = tiny_core(2, publish_points=True)
ENCODINGS = st.sampled_from(["16UC1", "mono16", "32FC1", "rgb8", "bgra8", "8UC1", "", "16UC1 "]) | st.text(max_size=6)
SIZES = st.integers(-3, 12) | st.sampled_from([2**31, 10**6, 0])
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)


@st.composite
def images(draw):
    """Mostly well-formed depth frames with one or more fields perturbed."""
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    encoding = draw(st.sampled_from(["16UC1", "mono16", "32FC1"]))
    if encoding == "32FC1":
        depth = np.array(draw(st.lists(FLOATS, min_size=h * w, max_size=h * w)), np.float32).reshape(h, w)
    else:
        depth = np.array(draw(st.lists(st.integers(0, 65535), min_size=h * w, max_size=h * w)), np.uint16)
        depth = depth.reshape(h, w)
    msg = image_msg(depth, encoding, pad=draw(st.integers(0, 5)), bigendian=draw(st.booleans()),
                    hdr=header(draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 999_999_999)), draw(st.text())))
    if draw(st.booleans()):
        msg.encoding = draw(ENCODINGS)
    if draw(st.booleans()):
        msg.height, msg.width = draw(SIZES), draw(SIZES)
    if draw(st.booleans()):
        msg.step = draw(st.integers(-4, 80))
    if draw(st.booleans()):
        msg.is_bigendian = draw(st.integers(0, 255))
    if draw(st.booleans()):
        msg.data = np.frombuffer(draw(st.binary(max_size=300)), np.uint8)
    return msg


@st.composite
def infos(draw):
    """None, or a CameraInfo with random size, intrinsics (NaN/inf too), binning and ROI."""
    if draw(st.booleans()):
        return None
    size = st.integers(0, 20)
    info = info_msg(draw(size), draw(size), fx=draw(FLOATS), fy=draw(FLOATS), cx=draw(FLOATS), cy=draw(FLOATS),
                    binning=(draw(st.integers(0, 4)), draw(st.integers(0, 4))),
                    roi=(draw(size), draw(size), draw(size), draw(size)))
    if draw(st.booleans()):
        info.k = np.array(draw(st.lists(FLOATS, max_size=12)), np.float64)
    return info


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images(), infos())
def test_core_never_raises_and_explains_skips(image, info):
    result = CORE.process(image, info)
    event(result.reason or "published")
    if result.ok:
        assert result.image.height == 2 * image.height and result.image.width == 2 * image.width
        assert result.image.header is image.header
        # the output always survives serialisation, i.e. a ROS publisher accepts it
        TS.serialize_cdr(result.image, "sensor_msgs/msg/Image")
        if result.camera_info is not None:
            TS.serialize_cdr(result.camera_info, "sensor_msgs/msg/CameraInfo")
        if result.cloud is not None:
            TS.serialize_cdr(result.cloud, "sensor_msgs/msg/PointCloud2")
    else:
        assert result.reason in REASONS and result.reason != "upsample_failed", result.detail
        assert result.image is None and result.detail
