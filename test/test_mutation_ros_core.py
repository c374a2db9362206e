"""dsr_ros.ros.core for `make mutation`: options, size limits, skip reasons and details, notes, encodings, timings."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from compressed_depth_writer import compressed_depth_payload
from ros_helpers import FACTORY, TS, header, image_msg, info_msg, scene_mm, tiny_core, tiny_upsampler
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

import dsr_ros.ros.core as core_module
from dsr_ros import depth as dp
from dsr_ros.ros.core import OUTPUT_ENCODINGS, CoreOptions, FrameResult, NodeCore, decode_depth
from dsr_ros.ros.image import ImageError, image_to_array

CompressedImage = TS.types["sensor_msgs/msg/CompressedImage"]


@pytest.fixture(scope="module")
def core() -> NodeCore:
    return tiny_core(2)


def compressed(depth: np.ndarray, codec: str = "png") -> object:
    """A 16UC1 compressedDepth CompressedImage as image_transport writes it."""
    fmt, data = compressed_depth_payload(depth, "16UC1", codec)
    return CompressedImage(header=header(7, 8, "cam"), format=fmt, data=np.frombuffer(data, np.uint8).copy())


class FailingEngine:
    """The upsampler's real engine, except that inference fails the way a GPU out of memory does."""

    def __init__(self, engine: object) -> None:
        self.engine = engine

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("CUDA out of memory")


# --- options and results ---------------------------------------------------------------------------------------

def test_core_options_defaults_and_validation() -> None:
    """Defaults: no points, pixel_center, input encoding; an unknown convention or encoding is refused by name."""
    opts = CoreOptions()
    assert (opts.publish_points, opts.convention, opts.output_encoding) == (False, "pixel_center", "input")
    assert OUTPUT_ENCODINGS[0] == "input" and {"16UC1", "mono16", "32FC1"} <= set(OUTPUT_ENCODINGS)
    CoreOptions(convention="image_proc", output_encoding="32FC1")
    with pytest.raises(ValueError, match=r"convention must be one of \('pixel_center', 'image_proc'\), got 'corner'"):
        CoreOptions(convention="corner")
    with pytest.raises(ValueError, match=r"output_encoding must be one of \('input', .*\), got 'rgb8'"):
        CoreOptions(output_encoding="rgb8")


def test_frame_result_is_ok_without_a_reason_and_has_fresh_containers() -> None:
    """FrameResult() is ok with empty timings/notes of its own; a reason makes it not ok."""
    a, b = FrameResult(), FrameResult()
    assert a.ok and a.reason is None and a.detail == "" and a.timings == {} and a.notes == {}
    a.notes["x"] = "y"
    assert b.notes == {} and not FrameResult(reason="size").ok


def test_node_core_defaults_to_default_options() -> None:
    """Without options the core uses CoreOptions(); given options are kept as they are."""
    up = tiny_upsampler(2)
    assert NodeCore(up, FACTORY).options == CoreOptions()
    opts = CoreOptions(publish_points=True)
    node = NodeCore(up, FACTORY, opts)
    assert node.options is opts and node.upsampler is up and node.factory is FACTORY


# --- decode_depth ----------------------------------------------------------------------------------------------

def test_decode_depth_tells_raw_and_compressed_apart() -> None:
    """A raw Image decodes with its encoding; a CompressedImage (format, no encoding) through compressedDepth."""
    depth = scene_mm(6, 4)
    array, encoding = decode_depth(image_msg(depth, "mono16"))
    assert encoding == "mono16" and array.dtype == np.uint16
    np.testing.assert_array_equal(array, depth)
    array, encoding = decode_depth(compressed(depth))
    assert encoding == "16UC1"
    np.testing.assert_array_equal(array, depth)


def test_a_message_with_neither_encoding_nor_format_is_read_as_a_raw_image(core: NodeCore) -> None:
    """Something else on the depth topic (here a CameraInfo) is refused as a raw Image: reason `encoding`."""
    result = core.process(info_msg(20, 15))
    assert result.reason == "encoding" and result.detail.startswith("unsupported encoding None")


def tagged_image(depth: np.ndarray) -> object:
    """A message of a custom type with every Image field plus a `format` string (as some wrappers add)."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(get_types_from_msg("std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\n"
                                      "uint8 is_bigendian\nuint32 step\nuint8[] data\nstring format\n",
                                      "dsr_test_msgs/msg/TaggedImage"))
    raw = image_msg(depth)
    fields = {k: getattr(raw, k) for k in ("header", "height", "width", "encoding", "is_bigendian", "step", "data")}
    return store.types["dsr_test_msgs/msg/TaggedImage"](**fields, format="16UC1; compressedDepth png")


def test_a_message_with_an_encoding_is_raw_even_when_it_also_has_a_format() -> None:
    """Only a message with `format` and without `encoding` is compressedDepth; one with both is a raw Image."""
    depth = scene_mm(6, 4)
    array, encoding = decode_depth(tagged_image(depth))
    assert encoding == "16UC1"
    np.testing.assert_array_equal(array, depth)


def test_compressed_input_is_upsampled_with_its_header(core: NodeCore) -> None:
    """A compressedDepth frame goes through the same path as a raw one and keeps its header."""
    result = core.process(compressed(scene_mm(20, 15), "rvl"))
    assert result.ok, result.detail
    assert (result.image.height, result.image.width, result.image.encoding) == (30, 40, "16UC1")
    assert (result.image.header.stamp.sec, result.image.header.frame_id) == (7, "cam")


# --- skips -----------------------------------------------------------------------------------------------------

def test_output_size_limit_is_inclusive(core: NodeCore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame whose output has exactly MAX_OUTPUT_PIXELS pixels passes; one pixel fewer allowed skips it."""
    image = image_msg(scene_mm(20, 15))  # 20·15 at ×2: 1200 output pixels
    monkeypatch.setattr(core_module, "MAX_OUTPUT_PIXELS", 1200)
    assert core.process(image).ok
    monkeypatch.setattr(core_module, "MAX_OUTPUT_PIXELS", 1199)
    result = core.process(image)
    assert result.reason == "too_large" and result.detail == "20x15 ×2 exceeds 1199 output pixels"
    assert result.image is None and result.timings == {} and result.notes == {}
    monkeypatch.setattr(core_module, "MAX_OUTPUT_PIXELS", 601)  # above 20·15·2: the scale counts twice
    assert core.process(image).reason == "too_large"


def test_the_real_limit_is_a_hundred_million_output_pixels(core: NodeCore) -> None:
    """A 5001×5000 input at ×2 (100 020 000 output pixels) is refused before any decoding work on it."""
    wide = image_msg(np.ones((1, 5001), np.uint16))
    wide.height, wide.step = 5000, 5001 * 2
    wide.data = np.ones(5000 * 5001 * 2, np.uint8)
    result = core.process(wide)
    assert result.reason == "too_large" and "100000000 output pixels" in result.detail


def test_all_invalid_frame_says_size_and_encoding(core: NodeCore) -> None:
    """A frame without a valid pixel is skipped with its width x height and encoding in the detail."""
    result = core.process(image_msg(np.zeros((6, 5), np.uint16), "mono16"))
    assert result.reason == "all_invalid" and result.detail == "all 5x6 pixels of the mono16 frame are invalid"
    assert result.timings == {} and result.image is None
    one_valid = np.zeros((6, 5), np.uint16)
    one_valid[5, 4] = 1000
    assert core.process(image_msg(one_valid)).ok  # a single valid pixel is enough


def test_undecodable_image_gives_the_decoder_reason_and_message(core: NodeCore) -> None:
    """An ImageError from decoding becomes the result's reason and detail, with no outputs."""
    bad = image_msg(scene_mm(6, 4))
    bad.data = bad.data[:-1]
    with pytest.raises(ImageError) as err:  # what the decoder itself says about this message
        image_to_array(bad)
    result = core.process(bad)
    assert result.reason == err.value.reason == "data_length" and result.detail == str(err.value) != ""
    assert result.image is None and result.timings == {}


def test_engine_failure_skips_the_frame_with_the_error_and_stage_timings() -> None:
    """An engine error becomes `upsample_failed` with type and message, and the stages timed so far."""
    up = tiny_upsampler(2)
    up.engine = FailingEngine(up.engine)
    result = NodeCore(up, FACTORY).process(image_msg(scene_mm()), info_msg(20, 15))
    assert result.reason == "upsample_failed" and result.detail == "RuntimeError: CUDA out of memory"
    assert set(result.timings) == {"preprocess", "infer"} and all(v >= 0 for v in result.timings.values())
    assert result.image is None and result.camera_info is None


# --- camera info -------------------------------------------------------------------------------------------------

def test_a_mismatched_camera_info_note_names_both_sizes(core: NodeCore) -> None:
    """The note says which size the CameraInfo describes and which the image has; depth is still published."""
    result = core.process(image_msg(scene_mm(20, 15)), info_msg(640, 480))
    assert result.ok and result.camera_info is None and result.image.width == 40
    assert result.notes == {"camera_info": "CameraInfo not usable for this frame (describes a 640x480 image but "
                                           "the image is 20x15): depth published without camera_info"}


def broken_info(kind: str) -> object:
    """A CameraInfo that scaling cannot use: wrong-length K (ValueError), no binning (TypeError), wrong type."""
    info = info_msg(20, 15)
    if kind == "value":
        info.k = np.zeros(8)
    elif kind == "type":
        info.binning_x = None
    else:
        info = image_msg(scene_mm(20, 15))  # an Image where the CameraInfo should be: no binning fields
    return info


@pytest.mark.parametrize("kind", ["value", "type", "attribute"])
def test_an_unusable_camera_info_of_any_kind_only_adds_a_note(core: NodeCore, kind: str) -> None:
    """ValueError, TypeError and AttributeError from scaling never drop the frame: depth out, a note why."""
    result = core.process(image_msg(scene_mm(20, 15)), broken_info(kind))
    assert result.ok and result.camera_info is None and result.image.width == 40
    assert result.notes["camera_info"].startswith("CameraInfo not usable for this frame (")


def test_an_unsized_camera_info_is_scaled_without_a_size_check(core: NodeCore) -> None:
    """A CameraInfo with width = height = 0 carries no size: it is scaled (and stays 0x0), not refused."""
    result = core.process(image_msg(scene_mm(20, 15)), info_msg(0, 0))
    assert result.ok and result.notes == {}
    assert (result.camera_info.width, result.camera_info.height) == (0, 0)
    assert result.camera_info.k[0] == pytest.approx(100.0)


def test_the_convention_option_decides_the_principal_point(core: NodeCore) -> None:
    """pixel_center maps cx to s·cx + (s-1)/2, image_proc to s·cx; the image's header is used."""
    image = image_msg(scene_mm(20, 15), hdr=header(5, 6, "depth"))
    info = info_msg(20, 15, cx=9.5, cy=7.0, hdr=header(1, 2, "other"))
    centre = core.process(image, info).camera_info
    corner = tiny_core(2, convention="image_proc").process(image, info).camera_info
    assert (centre.k[2], centre.k[5]) == (pytest.approx(19.5), pytest.approx(14.5))
    assert (corner.k[2], corner.k[5]) == (pytest.approx(19.0), pytest.approx(14.0))
    assert (corner.header.stamp.sec, corner.header.stamp.nanosec, corner.header.frame_id) == (5, 6, "depth")


# --- encodings, points, timings ------------------------------------------------------------------------------------

def test_output_encoding_converts_units_or_only_relabels() -> None:
    """32FC1 metres out of a 16UC1 frame, 16UC1 millimetres out of 32FC1, and mono16 from 16UC1 as a relabel."""
    mm = scene_mm(20, 15)
    same = tiny_core(2).process(image_msg(mm))
    ref = image_to_array(same.image)
    metres = tiny_core(2, output_encoding="32FC1").process(image_msg(mm))
    out = image_to_array(metres.image)
    assert metres.image.encoding == "32FC1" and out.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(out), ref == 0)
    np.testing.assert_allclose(out[ref > 0], ref[ref > 0] / 1000.0, rtol=1e-6)
    relabel = tiny_core(2, output_encoding="mono16").process(image_msg(mm))
    assert relabel.image.encoding == "mono16"
    np.testing.assert_array_equal(image_to_array(relabel.image), ref)
    back = tiny_core(2, output_encoding="16UC1").process(image_msg(np.where(mm > 0, mm / 1000.0, np.nan)
                                                                   .astype(np.float32), "32FC1"))
    up = image_to_array(back.image)
    assert back.image.encoding == "16UC1" and up.dtype == np.uint16
    np.testing.assert_array_equal(up == 0, ref == 0)
    expected = dp.from_metres(dp.to_metres(ref), np.dtype(np.uint16)).astype(np.int64)
    # metres in and millimetres in reach the network as the same log ratios up to float rounding,
    # which can move a value across a half-millimetre boundary (seen: 1 pixel in 1200 with one thread)
    np.testing.assert_allclose(up.astype(np.int64), expected, rtol=0, atol=1)
    assert (up == expected).mean() > 0.99
    assert np.abs(up.astype(np.int32) - ref).max() <= 1


def test_points_with_an_unusable_camera_info_carry_both_notes() -> None:
    """publish_points with a CameraInfo for another size: depth out, no info, no cloud, and both notes."""
    result = tiny_core(2, publish_points=True).process(image_msg(scene_mm(20, 15)), info_msg(640, 480))
    assert result.ok and result.cloud is None and result.camera_info is None
    assert set(result.notes) == {"camera_info", "no_points"}
    assert result.notes["no_points"] == "no calibrated CameraInfo for this frame: point cloud not published"


def test_uncalibrated_camera_info_is_published_but_gives_no_points() -> None:
    """A zero-focal CameraInfo is still scaled and published; the cloud is left out with a note."""
    info = info_msg(20, 15, fx=0.0, fy=0.0)
    info.p = np.zeros(12)
    result = tiny_core(2, publish_points=True).process(image_msg(scene_mm(20, 15)), info)
    assert result.ok and result.camera_info is not None and result.cloud is None
    assert list(result.notes) == ["no_points"]


def test_points_cloud_has_the_image_header_and_no_cloud_without_the_option(core: NodeCore) -> None:
    """With publish_points the cloud has the image's header and size; without it there is none."""
    image = image_msg(scene_mm(20, 15), hdr=header(9, 10, "tof"))
    result = tiny_core(2, publish_points=True).process(image, info_msg(20, 15))
    assert (result.cloud.header.stamp.sec, result.cloud.header.frame_id) == (9, "tof")
    assert (result.cloud.height, result.cloud.width) == (30, 40) and result.notes == {}
    assert core.process(image, info_msg(20, 15)).cloud is None


def test_timings_are_decode_then_the_upsampler_stages_then_encode(core: NodeCore) -> None:
    """A published frame's timings are, in order, decode, preprocess, infer, postprocess, encode (ms >= 0)."""
    result = core.process(image_msg(scene_mm()), info_msg(20, 15))
    assert list(result.timings) == ["decode", "preprocess", "infer", "postprocess", "encode"]
    assert all(isinstance(v, float) and v >= 0 for v in result.timings.values())


def test_decode_and_encode_times_are_clock_differences_in_milliseconds(core: NodeCore,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """decode and encode are (end - start) · 1000 of the core's clock: a clock ticking 0.25 s a reading gives 250."""
    ticks = iter(np.arange(1, 100) * 0.25)
    monkeypatch.setattr(core_module, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    result = core.process(image_msg(scene_mm()), info_msg(20, 15))
    assert result.ok and result.timings["decode"] == 250.0 and result.timings["encode"] == 250.0
