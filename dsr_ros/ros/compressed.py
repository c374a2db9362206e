"""image_transport's `compressedDepth` (sensor_msgs/CompressedImage) → depth array, with numpy and OpenCV.

The format, as compressed_depth_image_transport writes it: `format` is "<encoding>; compressedDepth <png|rvl>"
(older publishers: "<encoding>; compressedDepth", meaning png); `data` starts with a 12-byte little-endian
header (int32 format, float32 quantisation A, B), then the payload. 16UC1 payloads are the depth itself;
32FC1 payloads are quantised inverse depth q, decoded as A / (q - B), q = 0 meaning no reading. An rvl
payload is uint32 width, uint32 height, then the RVL stream (Wilson 2017): little-endian 32-bit words of
eight nibbles read from the top, each value in 3-bit groups, low group first, 0x8 meaning "more follows";
runs of (zero count, non-zero count, zig-zag deltas of the non-zero values).
"""
from __future__ import annotations

import struct
from typing import Any

import cv2
import numpy as np

from dsr_ros.ros.image import MAX_SIDE, ImageError, as_uint8

HEADER_BYTES = 12
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMPRESSED_ENCODINGS = ("16UC1", "mono16", "32FC1")


def parse_format(text: Any) -> tuple[str, str]:
    """'16UC1; compressedDepth rvl' → ('16UC1', 'rvl'); ImageError('format') for anything else."""
    if not isinstance(text, str):
        raise ImageError("format", f"CompressedImage format must be a string, got {text!r}")
    encoding, _, rest = (part.strip() for part in text.partition(";"))
    words = rest.split()
    if words and words[0] == "compressedDepth" and len(words) <= 2:
        codec = words[1] if len(words) == 2 else "png"
    elif not rest:
        codec = "png"  # the oldest publishers wrote the encoding alone
    else:
        codec = ""
    if codec not in ("png", "rvl") or encoding not in COMPRESSED_ENCODINGS:
        raise ImageError("format", f"unsupported compressedDepth format {text!r}; expected "
                         f"'<{'|'.join(COMPRESSED_ENCODINGS)}>; compressedDepth <png|rvl>'")
    return encoding, codec


def _check_size(width: int, height: int) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ImageError("size", f"compressed image size {width}x{height} outside 1..{MAX_SIDE}")


def _decode_png(payload: np.ndarray) -> np.ndarray:
    """A 16-bit single-channel PNG, its size checked from the IHDR chunk before anything is allocated."""
    head = payload[:24].tobytes()
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise ImageError("compressed", "compressedDepth png payload is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    _check_size(width, height)
    pixels = cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 2:
        got = "undecodable" if pixels is None else f"{pixels.dtype} with shape {pixels.shape}"
        raise ImageError("compressed", f"compressedDepth png must be 16-bit single-channel, got {got}")
    return pixels


def _vle_values(words: np.ndarray) -> np.ndarray:
    """Every variable-length value in an RVL word stream, in order (trailing padding decodes as zeros)."""
    shifts = np.arange(28, -1, -4, dtype=np.uint32)
    nibbles = ((words[:, None] >> shifts) & 0xF).astype(np.int64).reshape(-1)
    last = (nibbles & 0x8) == 0
    if not last.any():
        return np.zeros(0, np.int64)
    nibbles, last = nibbles[: np.flatnonzero(last)[-1] + 1], last[: np.flatnonzero(last)[-1] + 1]
    starts = np.concatenate(([0], np.flatnonzero(last)[:-1] + 1))
    position = np.arange(nibbles.size) - np.repeat(starts, np.diff(np.append(starts, nibbles.size)))
    if position.max(initial=0) > 10:  # more than 33 bits: not a value any encoder writes
        raise ImageError("compressed", "corrupt RVL stream (over-long value)")
    return np.add.reduceat((nibbles & 0x7) << (3 * position), starts)


def decode_rvl(stream: np.ndarray, pixels: int) -> np.ndarray:
    """`pixels` uint16 values from an RVL byte stream (zero runs, non-zero runs of zig-zag deltas)."""
    usable = stream[: stream.size - stream.size % 4]
    values = _vle_values(usable.view("<u4").astype(np.uint32))
    out = np.zeros(pixels, np.uint16)
    starts, counts, offsets = [], [], []
    i = done = 0
    while done < pixels:
        if i + 2 > values.size:
            raise ImageError("compressed", f"RVL stream ends after {done} of {pixels} pixels")
        zeros, nonzeros = int(values[i]), int(values[i + 1])
        i += 2
        done += zeros
        if done + nonzeros > pixels or i + nonzeros > values.size:
            raise ImageError("compressed", "corrupt RVL stream (run beyond the image)")
        starts.append(done)
        counts.append(nonzeros)
        offsets.append(i)
        i += nonzeros
        done += nonzeros
    counts_arr = np.asarray(counts, np.int64)
    if counts_arr.sum():
        within = np.arange(counts_arr.sum()) - np.repeat(np.cumsum(counts_arr) - counts_arr, counts_arr)
        positive = values[np.repeat(offsets, counts_arr) + within]
        deltas = (positive >> 1) ^ -(positive & 1)
        out[np.repeat(starts, counts_arr) + within] = (np.cumsum(deltas) & 0xFFFF).astype(np.uint16)
    return out


def _decode_rvl_payload(payload: np.ndarray) -> np.ndarray:
    if payload.size < 8:
        raise ImageError("compressed", "compressedDepth rvl payload shorter than its size header")
    width, height = (int(v) for v in payload[:8].view("<u4"))
    _check_size(width, height)
    if width * height > max(payload.size - 8, 1) * 5:  # RVL cannot compress more than ~4:1 (as upstream checks)
        raise ImageError("compressed", f"compressedDepth rvl claims {width}x{height} from {payload.size} bytes")
    return decode_rvl(payload[8:], width * height).reshape(height, width)


def compressed_to_array(msg: Any) -> tuple[np.ndarray, str]:
    """Decode a compressedDepth CompressedImage into (H×W uint16 mm or float32 m, encoding); ImageError if bad."""
    encoding, codec = parse_format(getattr(msg, "format", None))
    data = as_uint8(getattr(msg, "data", None))
    if data.size <= HEADER_BYTES:
        raise ImageError("compressed", f"compressedDepth data has {data.size} bytes, no room for a payload")
    quant_a, quant_b = (float(v) for v in data[4:HEADER_BYTES].view("<f4"))
    payload = data[HEADER_BYTES:]
    pixels = _decode_png(payload) if codec == "png" else _decode_rvl_payload(payload)
    if encoding != "32FC1":
        return pixels, encoding
    if not (np.isfinite(quant_a) and np.isfinite(quant_b) and quant_a > 0.0):
        raise ImageError("compressed", f"32FC1 compressedDepth header has unusable quantisation A={quant_a}, B={quant_b}")
    depth = np.full(pixels.shape, np.nan, np.float32)
    valid = pixels != 0
    depth[valid] = quant_a / (pixels[valid].astype(np.float32) - np.float32(quant_b))
    depth[valid & ~(depth > 0)] = np.nan  # a code at or below B cannot be a distance
    return depth, encoding
