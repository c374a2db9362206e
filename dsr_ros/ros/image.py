"""sensor_msgs/Image ↔ numpy for depth encodings (16UC1, mono16, 32FC1), honouring step padding and byte order."""
from __future__ import annotations

from typing import Any

import numpy as np

from dsr_ros.depth import ENCODING_DTYPES
from dsr_ros.ros.messages import MessageFactory

MAX_SIDE = 16384  # larger than any depth sensor; anything beyond is a corrupt header, not a frame


class ImageError(ValueError):
    """An Image message that cannot be decoded; `reason` is a short key for counting, str(self) the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def as_uint8(data: Any) -> np.ndarray:
    """The message's data field as a flat uint8 view (bytes, array('B'), numpy arrays, lists)."""
    if isinstance(data, np.ndarray) and data.dtype == np.uint8:
        return data.reshape(-1)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError):
        pass
    try:
        values = np.asarray(data)
        if values.ndim != 1 or (values.size and values.dtype.kind not in "ui") or np.any((values < 0) | (values > 255)):
            raise ValueError
        return values.astype(np.uint8)
    except (TypeError, ValueError, OverflowError):
        raise ImageError("data", f"image data of type {type(data).__name__} is not a byte buffer") from None


def _header_int(msg: Any, field: str) -> int:
    """An integer header field, rejecting non-integers (and bools) with a reason."""
    value = getattr(msg, field, None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ImageError("size", f"image {field} must be an integer, got {value!r}")
    return int(value)


def image_to_array(msg: Any) -> np.ndarray:
    """Decode a depth Image into a native-endian H×W array (uint16 mm or float32 m); raise ImageError if bad."""
    encoding = getattr(msg, "encoding", None)
    if encoding not in ENCODING_DTYPES:
        raise ImageError("encoding", f"unsupported encoding {encoding!r}; expected one of {sorted(ENCODING_DTYPES)}")
    height, width, step = (_header_int(msg, f) for f in ("height", "width", "step"))
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise ImageError("size", f"image size {width}x{height} outside 1..{MAX_SIDE}")
    dtype = ENCODING_DTYPES[encoding].newbyteorder("<")
    row_bytes = width * dtype.itemsize
    if step < row_bytes:
        raise ImageError("step", f"step {step} inconsistent with width {width} of {encoding} ({row_bytes} bytes a row)")
    data = as_uint8(getattr(msg, "data", None))
    if data.size != step * height:
        raise ImageError("data_length", f"data has {data.size} bytes, expected step*height = {step * height}")
    big = bool(getattr(msg, "is_bigendian", 0))
    rows = data.reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype.newbyteorder(">") if big else dtype)
    return pixels.astype(dtype.newbyteorder("="), copy=True).reshape(height, width)


def array_to_image(depth: np.ndarray, encoding: str, header: Any, factory: MessageFactory) -> Any:
    """Encode an H×W depth array as a packed little-endian Image with the given header."""
    if encoding not in ENCODING_DTYPES:
        raise ValueError(f"unsupported encoding {encoding!r}; expected one of {sorted(ENCODING_DTYPES)}")
    dtype = ENCODING_DTYPES[encoding].newbyteorder("<")
    if depth.ndim != 2 or depth.dtype.kind != dtype.kind:
        raise ValueError(f"{encoding} needs a 2-D {dtype.kind} array, got {depth.dtype} of shape {depth.shape}")
    pixels = np.ascontiguousarray(depth, dtype=dtype)
    height, width = pixels.shape
    return factory.image(
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * dtype.itemsize,
        data=factory.buffer(pixels),
    )
