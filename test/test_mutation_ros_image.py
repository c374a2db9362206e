"""dsr_ros.ros.image for `make mutation`: size limits, step and length checks, data containers, encode side.

Messages are plain namespaces with sensor_msgs/Image's fields (what the decoder reads), or real rosbags
messages from ros_helpers; the bytes are built by hand from the encodings' definitions.
"""
import array
from types import SimpleNamespace

import numpy as np
import pytest
from ros_helpers import FACTORY, header, image_msg

from dsr_ros.ros.image import MAX_SIDE, ImageError, array_to_image, as_uint8, image_to_array


def raw(height, width, encoding="16UC1", step=None, data=None, bigendian=0):
    itemsize = 4 if encoding == "32FC1" else 2
    step = width * itemsize if step is None else step
    data = bytes(step * height) if data is None else data
    return SimpleNamespace(encoding=encoding, height=height, width=width, step=step, data=data, is_bigendian=bigendian)


def reason_of(msg):
    with pytest.raises(ImageError) as err:
        image_to_array(msg)
    return err.value.reason, str(err.value)


def test_side_limits_are_inclusive_at_one_and_max_side():
    assert image_to_array(raw(1, 1)).shape == (1, 1)
    assert image_to_array(raw(1, MAX_SIDE)).shape == (1, MAX_SIDE)
    assert image_to_array(raw(MAX_SIDE, 1)).shape == (MAX_SIDE, 1)
    assert reason_of(raw(1, MAX_SIDE + 1)) == ("size", f"image size {MAX_SIDE + 1}x1 outside 1..{MAX_SIDE}")
    assert reason_of(raw(MAX_SIDE + 1, 1))[0] == "size"
    assert reason_of(raw(0, 4))[0] == "size" and reason_of(raw(4, 0))[0] == "size"


def test_step_exactly_one_row_is_fine_one_byte_less_is_not():
    assert image_to_array(raw(2, 3, step=6)).shape == (2, 3)
    assert reason_of(raw(2, 3, step=5, data=bytes(10))) == (
        "step", "step 5 inconsistent with width 3 of 16UC1 (6 bytes a row)")
    assert reason_of(raw(2, 3, "32FC1", step=11, data=bytes(22)))[1].endswith("(12 bytes a row)")


def test_data_length_message_gives_both_sizes():
    assert reason_of(raw(2, 3, data=bytes(11))) == ("data_length", "data has 11 bytes, expected step*height = 12")


def test_non_integer_and_bool_header_fields_are_size_errors_naming_the_field():
    assert reason_of(raw(True, 3, data=bytes(6))) == ("size", "image height must be an integer, got True")
    assert reason_of(raw(2, 3.0, step=6, data=bytes(12))) == ("size", "image width must be an integer, got 3.0")
    assert reason_of(raw(2, 3, step="6", data=bytes(12))) == ("size", "image step must be an integer, got '6'")
    assert image_to_array(raw(np.int32(2), np.uint16(3))).shape == (2, 3)  # numpy integers are integers


def test_unsupported_encoding_message_lists_the_supported_ones():
    assert reason_of(raw(2, 3, encoding="8UC1")) == (
        "encoding", "unsupported encoding '8UC1'; expected one of ['16UC1', '32FC1', 'mono16']")
    assert reason_of(SimpleNamespace())[0] == "encoding"


def test_little_and_big_endian_bytes_by_hand():
    little = raw(1, 2, data=bytes([0x34, 0x12, 0xFF, 0x00]))
    assert image_to_array(little).tolist() == [[0x1234, 0x00FF]]
    big = raw(1, 2, data=bytes([0x12, 0x34, 0x00, 0xFF]), bigendian=1)
    out = image_to_array(big)
    assert out.tolist() == [[0x1234, 0x00FF]] and out.dtype == np.uint16 and out.dtype.isnative
    one = np.float32(1.5).tobytes()
    assert image_to_array(raw(1, 1, "32FC1", data=one[::-1], bigendian=1))[0, 0] == 1.5


def test_padding_bytes_are_dropped_row_by_row():
    data = bytes([1, 0, 2, 0, 0xEE, 3, 0, 4, 0, 0xEE])  # two rows of two pixels + one padding byte each
    assert image_to_array(raw(2, 2, step=5, data=data)).tolist() == [[1, 2], [3, 4]]


def test_decoded_array_owns_its_memory():
    data = bytearray([5, 0, 6, 0])
    out = image_to_array(raw(1, 2, data=data))
    data[0] = 9
    assert out.tolist() == [[5, 6]]
    out[0, 0] = 1  # writeable


def test_as_uint8_containers_and_rejections():
    flat = as_uint8(np.array([[1, 2], [3, 4]], np.uint8))
    assert flat.tolist() == [1, 2, 3, 4] and flat.ndim == 1
    assert as_uint8(array.array("B", [7, 8])).tolist() == [7, 8]
    assert as_uint8([0, 255]).tolist() == [0, 255]
    assert as_uint8([]).tolist() == []
    for bad in ([-1, 2], [256], [1.0, 2.0], [[1, 2]], "ab", None, 3):
        with pytest.raises(ImageError) as err:
            as_uint8(bad)
        assert err.value.reason == "data"
        assert str(err.value) == f"image data of type {type(bad).__name__} is not a byte buffer"


def test_array_to_image_writes_packed_little_endian_rows():
    depth = np.array([[0x0102, 0x0304, 0x0506]], np.uint16)
    msg = array_to_image(depth, "mono16", header(3, 4, "d"), FACTORY)
    assert (msg.height, msg.width, msg.step, msg.is_bigendian, msg.encoding) == (1, 3, 6, 0, "mono16")
    assert bytes(msg.data) == bytes([2, 1, 4, 3, 6, 5])
    assert msg.header.stamp.sec == 3 and msg.header.frame_id == "d"
    big_input = depth.astype(">u2")  # a big-endian array in memory is still written little-endian
    assert bytes(array_to_image(big_input, "16UC1", header(), FACTORY).data) == bytes([2, 1, 4, 3, 6, 5])
    f = array_to_image(np.array([[1.5, -2.0]], np.float32), "32FC1", header(), FACTORY)
    assert f.step == 8 and bytes(f.data) == np.array([1.5, -2.0], "<f4").tobytes()


def test_array_to_image_rejections_name_the_problem():
    with pytest.raises(ValueError) as err:
        array_to_image(np.zeros((2, 2), np.uint16), "rgb8", header(), FACTORY)
    assert str(err.value) == "unsupported encoding 'rgb8'; expected one of ['16UC1', '32FC1', 'mono16']"
    with pytest.raises(ValueError) as err:
        array_to_image(np.zeros(4, np.uint16), "16UC1", header(), FACTORY)
    assert str(err.value) == "16UC1 needs a 2-D u array, got uint16 of shape (4,)"
    with pytest.raises(ValueError, match="32FC1 needs a 2-D f array"):
        array_to_image(np.zeros((2, 2), np.uint16), "32FC1", header(), FACTORY)


def test_round_trip_of_a_transposed_view_keeps_values():
    depth = np.arange(12, dtype=np.uint16).reshape(3, 4).T  # non-contiguous input
    back = image_to_array(array_to_image(depth, "16UC1", header(), FACTORY))
    np.testing.assert_array_equal(back, depth)
    assert image_to_array(image_msg(depth, pad=2)).tolist() == depth.tolist()


def test_missing_fields_are_image_errors_and_a_missing_byte_order_is_little_endian():
    msg = raw(1, 2, data=bytes([1, 2, 3, 4]))
    del msg.is_bigendian
    assert image_to_array(msg).tolist() == [[0x0201, 0x0403]]
    for field, reason in [("height", "size"), ("step", "size"), ("data", "data")]:
        msg = raw(1, 2)
        delattr(msg, field)
        assert reason_of(msg)[0] == reason, field


def test_non_uint8_numpy_data_is_read_as_its_bytes():
    assert as_uint8(np.array([0x0102], "<u2")).tolist() == [2, 1]
