"""compressedDepth decoding (png, rvl; 16UC1 and 32FC1 inverse depth) and its rejections, ROS-free."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from compressed_depth_writer import compressed_depth_payload, rvl_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from ros_helpers import TS, header, scene_mm, tiny_upsampler

from dsr_ros.ros.compressed import compressed_to_array, decode_rvl, parse_format
from dsr_ros.ros.core import NodeCore
from dsr_ros.ros.image import ImageError
from dsr_ros.ros.messages import rosbags_factory

CompressedImage = TS.types["sensor_msgs/msg/CompressedImage"]


def compressed_msg(depth: np.ndarray, encoding: str = "16UC1", codec: str = "png", **kwargs):
    fmt, data = compressed_depth_payload(depth, encoding, codec, **kwargs)
    return CompressedImage(header=header(), format=fmt, data=np.frombuffer(data, np.uint8).copy())


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint16, st.integers(1, 300), elements=st.one_of(st.just(0), st.integers(0, 65535))))
def test_rvl_round_trip_any_values(values):
    assert np.array_equal(decode_rvl(np.frombuffer(rvl_encode(values), np.uint8), values.size), values)


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_16uc1_decodes_exactly(codec):
    depth = scene_mm(31, 17)
    out, encoding = compressed_to_array(compressed_msg(depth, codec=codec))
    assert encoding == "16UC1" and out.dtype == np.uint16
    assert np.array_equal(out, depth)


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_32fc1_inverse_depth_within_quantisation(codec):
    depth = scene_mm(31, 17).astype(np.float32) / 1000.0
    depth[0, 0] = np.nan
    depth[1, 1] = 12.0  # beyond depth_max: sent as "no reading"
    out, encoding = compressed_to_array(compressed_msg(depth, "32FC1", codec, depth_max=10.0))
    assert encoding == "32FC1" and out.dtype == np.float32
    assert np.isnan(out[0, 0]) and np.isnan(out[1, 1]) and np.isnan(out[2, 3])  # scene_mm's hole stays a hole
    valid = ~np.isnan(depth) & (depth < 10.0) & (depth > 0)
    # one inverse-depth code near 1.6 m is worth ~0.25 mm at quantisation 100
    assert np.nanmax(np.abs(out[valid] - depth[valid])) < 1e-3


def test_old_format_without_codec_means_png():
    msg = compressed_msg(scene_mm())
    msg.format = "16UC1; compressedDepth"
    assert np.array_equal(compressed_to_array(msg)[0], scene_mm())


@pytest.mark.parametrize("text", ["16UC1; compressedDepth jpeg", "8UC3; compressedDepth png", "png", 7, "16UC1; jpeg"])
def test_unsupported_formats_are_rejected_with_a_reason(text):
    with pytest.raises(ImageError) as err:
        parse_format(text)
    assert err.value.reason == "format"


def _corrupt(msg, data: bytes):
    msg.data = np.frombuffer(data, np.uint8).copy()
    return msg


@pytest.mark.parametrize("case", ["short", "not_png", "png_8bit", "rvl_bomb", "rvl_truncated", "png_huge"])
def test_undecodable_payloads_are_rejected_with_a_reason(case):
    import cv2

    depth = scene_mm(40, 30)
    header_bytes = struct.pack("<iff", 0, 0.0, 0.0)
    msg = compressed_msg(depth, codec="rvl" if case.startswith("rvl") else "png")
    if case == "short":
        _corrupt(msg, header_bytes)
    elif case == "not_png":
        _corrupt(msg, header_bytes + b"GIF89a" + bytes(40))
    elif case == "png_8bit":
        _corrupt(msg, header_bytes + cv2.imencode(".png", np.zeros((4, 4), np.uint8))[1].tobytes())
    elif case == "png_huge":
        png = bytearray(cv2.imencode(".png", depth)[1].tobytes())
        png[16:24] = struct.pack(">II", 100_000, 100_000)
        _corrupt(msg, header_bytes + bytes(png))
    elif case == "rvl_bomb":
        _corrupt(msg, header_bytes + struct.pack("<II", 10_000, 10_000) + bytes(64))
    else:
        _corrupt(msg, bytes(msg.data)[: len(msg.data) // 2])
    with pytest.raises(ImageError) as err:
        compressed_to_array(msg)
    assert err.value.reason in {"compressed", "size"}


def test_node_core_upsamples_compressed_input_like_raw():
    core = NodeCore(tiny_upsampler(2), rosbags_factory(TS))
    depth = scene_mm(20, 15)
    result = core.process(compressed_msg(depth, codec="rvl"))
    assert result.ok, result.detail
    assert (result.image.height, result.image.width, result.image.encoding) == (30, 40, "16UC1")
    assert result.image.header.stamp.sec == 12
    bad = compressed_msg(depth)
    bad.format = "16UC1; compressedDepth jpeg"
    skipped = core.process(bad)
    assert skipped.reason == "format" and "jpeg" in skipped.detail
