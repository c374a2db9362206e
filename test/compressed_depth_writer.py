"""Test-side writer of image_transport's compressedDepth messages, as compressed_depth_image_transport encodes them.

Written independently of dsr_ros.ros.compressed (plain loops, no shared code), so a round trip checks the
decoder against the format rather than against itself.
"""
from __future__ import annotations

import struct

import cv2
import numpy as np


def rvl_encode(values: np.ndarray) -> bytes:
    """RVL stream of a flat uint16 array: nibbles packed top-first into little-endian 32-bit words."""
    nibbles: list[int] = []

    def vle(value: int) -> None:
        while True:
            nibble = value & 0x7
            value >>= 3
            nibbles.append(nibble | (0x8 if value else 0))
            if not value:
                return

    flat = [int(v) for v in values.reshape(-1)]
    i, previous = 0, 0
    while i < len(flat):
        zeros = 0
        while i < len(flat) and flat[i] == 0:
            zeros, i = zeros + 1, i + 1
        vle(zeros)
        run = []
        while i < len(flat) and flat[i] != 0:
            run.append(flat[i])
            i += 1
        vle(len(run))
        for current in run:
            delta = current - previous
            vle((delta << 1) ^ (delta >> 31))  # zig-zag: -1 → 1, 1 → 2
            previous = current
    nibbles += [0] * (-len(nibbles) % 8)
    words = [int("".join(f"{n:x}" for n in nibbles[k:k + 8]), 16) for k in range(0, len(nibbles), 8)]
    return struct.pack(f"<{len(words)}I", *words)


def compressed_depth_payload(depth: np.ndarray, encoding: str = "16UC1", codec: str = "png",
                             depth_max: float = 10.0, quantization: float = 100.0) -> tuple[str, bytes]:
    """(format, data) of a compressedDepth message for a 16UC1 (mm) or 32FC1 (m) depth image."""
    quant_a = quant_b = 0.0
    if encoding == "32FC1":
        quant_a = quantization * (quantization + 1.0)
        quant_b = 1.0 - quant_a / depth_max
        reading = (depth > 0) & (depth < depth_max)  # NaN, 0 and beyond depth_max are sent as code 0
        pixels = np.zeros(depth.shape, np.uint16)
        pixels[reading] = (quant_a / depth[reading] + quant_b).astype(np.uint16)
    else:
        pixels = depth.astype(np.uint16)
    if codec == "png":
        ok, png = cv2.imencode(".png", pixels)
        assert ok
        payload = png.tobytes()
    else:
        payload = struct.pack("<II", pixels.shape[1], pixels.shape[0]) + rvl_encode(pixels)
    header = struct.pack("<iff", 0, quant_a, quant_b)
    return f"{encoding}; compressedDepth {codec}", header + payload
