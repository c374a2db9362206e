"""Image ↔ numpy conversions: encodings, row padding, byte order, data containers, rejection of bad messages."""
import array

import numpy as np
import pytest
from ros_helpers import FACTORY, TS, header, image_msg, scene_mm

from dsr_ros.ros.image import ImageError, array_to_image, image_to_array


@pytest.mark.parametrize("encoding", ["16UC1", "mono16"])
@pytest.mark.parametrize("pad", [0, 3, 16])
@pytest.mark.parametrize("bigendian", [False, True])
def test_millimetre_encodings_decode_with_padding_and_byte_order(encoding, pad, bigendian):
    depth = scene_mm(9, 7)
    out = image_to_array(image_msg(depth, encoding, pad=pad, bigendian=bigendian))
    assert out.dtype == np.uint16 and out.dtype.isnative
    np.testing.assert_array_equal(out, depth)


@pytest.mark.parametrize("pad", [0, 4])
@pytest.mark.parametrize("bigendian", [False, True])
def test_float_metres_decode_keeping_nan(pad, bigendian):
    depth = np.linspace(0.3, 4.0, 6 * 5, dtype=np.float32).reshape(5, 6)
    depth[1, 2] = np.nan
    out = image_to_array(image_msg(depth, "32FC1", pad=pad, bigendian=bigendian))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, depth)


def test_big_endian_bytes_really_are_big_endian():
    msg = image_msg(np.array([[0x0102]], dtype=np.uint16), "16UC1", bigendian=True)
    assert bytes(msg.data) == b"\x01\x02"
    assert image_to_array(msg)[0, 0] == 0x0102


@pytest.mark.parametrize("container", [bytes, bytearray, lambda b: array.array("B", b), list])
def test_data_containers_of_rclpy_and_rosbags(container):
    depth = scene_mm(4, 3)
    msg = image_msg(depth)
    msg.data = container(bytes(msg.data))
    np.testing.assert_array_equal(image_to_array(msg), depth)


@pytest.mark.parametrize("encoding", ["16UC1", "mono16", "32FC1"])
def test_round_trip_through_cdr_bytes(encoding):
    depth = scene_mm(8, 6) if encoding != "32FC1" else scene_mm(8, 6).astype(np.float32) / 1000
    msg = array_to_image(depth, encoding, header(1, 2, "f"), FACTORY)
    assert (msg.step, msg.is_bigendian, msg.encoding) == (8 * depth.itemsize, 0, encoding)
    raw = TS.serialize_cdr(msg, "sensor_msgs/msg/Image")
    back = TS.deserialize_cdr(raw, "sensor_msgs/msg/Image")
    np.testing.assert_array_equal(image_to_array(back), depth)
    assert back.header.frame_id == "f"


def mutate(**fields):
    msg = image_msg(scene_mm(6, 4))
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"encoding": "rgb8"}, "encoding"),
        ({"encoding": "16uc1"}, "encoding"),
        ({"height": 0}, "size"),
        ({"width": -1}, "size"),
        ({"width": 10**9}, "size"),
        ({"height": 2.0}, "size"),
        ({"step": 11}, "step"),
        ({"step": 14}, "data_length"),
        ({"data": np.zeros(47, np.uint8)}, "data_length"),
        ({"data": np.zeros(49, np.uint8)}, "data_length"),
        ({"data": "not bytes"}, "data"),
        ({"data": [1, 2, 300]}, "data"),
        ({"data": None}, "data"),
    ],
)
def test_bad_messages_raise_image_error_with_reason(fields, reason):
    with pytest.raises(ImageError) as err:
        image_to_array(mutate(**fields))
    assert err.value.reason == reason
    assert str(err.value)


def test_array_to_image_rejects_wrong_dtype_for_encoding():
    with pytest.raises(ValueError, match="16UC1"):
        array_to_image(np.zeros((2, 2), np.float32), "16UC1", header(), FACTORY)
