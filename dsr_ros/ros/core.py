"""The ROS-free node core: (Image, CameraInfo | None) → upsampled Image, CameraInfo, optional PointCloud2.

All behaviour of the node and of `dsr bag` lives here so it is tested on real message objects.
Bad input never raises: the result carries a short reason (for counting) and a detail line.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dsr_ros import depth as dp
from dsr_ros.camera import CONVENTIONS, CameraInfoError, expected_image_size, image_intrinsics, scale_camera_info
from dsr_ros.depth import ENCODING_DTYPES
from dsr_ros.profiling import StageTimer
from dsr_ros.ros.cloud import depth_to_points, points_to_cloud
from dsr_ros.ros.compressed import compressed_to_array
from dsr_ros.ros.image import ImageError, array_to_image, image_to_array
from dsr_ros.ros.messages import MessageFactory

if TYPE_CHECKING:
    from dsr_ros.upsampler import Upsampler

OUTPUT_ENCODINGS = ("input", *ENCODING_DTYPES)
MAX_OUTPUT_PIXELS = 100_000_000  # ~10k×10k: beyond this a frame is a corrupt header or a misconfiguration

# Why a frame was skipped (keys of the node's and the bag summary's counters).
REASONS = {
    "encoding": "unsupported image encoding",
    "format": "unsupported compressedDepth format",
    "compressed": "compressedDepth data could not be decoded",
    "size": "empty, absurd or non-integer image size",
    "step": "step smaller than a row",
    "data": "image data is not a byte buffer",
    "data_length": "data length differs from step*height",
    "all_invalid": "no valid depth pixel in the frame",
    "too_large": "upsampled frame would be too large",
    "upsample_failed": "the upsampler raised an error",
}


@dataclass(frozen=True)
class CoreOptions:
    """Per-frame behaviour that may change while running (swapped atomically by the node)."""

    publish_points: bool = False
    convention: str = "pixel_center"
    output_encoding: str = "input"

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {self.convention!r}")
        if self.output_encoding not in OUTPUT_ENCODINGS:
            raise ValueError(f"output_encoding must be one of {OUTPUT_ENCODINGS}, got {self.output_encoding!r}")


@dataclass
class FrameResult:
    """Outputs of one frame, or the reason it was skipped; timings in milliseconds per stage."""

    image: Any = None
    camera_info: Any = None
    cloud: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    detail: str = ""
    notes: dict[str, str] = field(default_factory=dict)  # warning kind → text: published, but something is missing

    @property
    def ok(self) -> bool:
        return self.reason is None


def decode_depth(msg: Any) -> tuple[np.ndarray, str]:
    """Depth array and encoding of a raw Image or a compressedDepth CompressedImage (told apart by `format`)."""
    if hasattr(msg, "format") and not hasattr(msg, "encoding"):
        return compressed_to_array(msg)
    return image_to_array(msg), msg.encoding


def _skip(reason: str, detail: str, timings: dict[str, float] | None = None) -> FrameResult:
    return FrameResult(reason=reason, detail=detail, timings=timings or {})


class NodeCore:
    """Runs one Upsampler on depth messages; message classes come from a MessageFactory."""

    def __init__(self, upsampler: Upsampler, factory: MessageFactory, options: CoreOptions | None = None) -> None:
        if upsampler.rgb_guided:  # no guided model ships: the node takes depth (and CameraInfo) only
            raise ValueError("this weight file is RGB-guided: it needs each frame's colour image, which the node, "
                             "dsr bag and dsr profile do not take; use a depth-only model (dsr eval and the "
                             "Python Upsampler take colour)")
        self.upsampler = upsampler
        self.factory = factory
        self.options = options or CoreOptions()

    def process(self, image: Any, info: Any = None) -> FrameResult:
        """Upsample one depth Image or compressedDepth CompressedImage (and scale its CameraInfo when given).

        Never raises on bad input.
        """
        options = self.options
        scale = self.upsampler.scale
        start = time.perf_counter()
        try:
            depth, in_encoding = decode_depth(image)
        except ImageError as err:
            return _skip(err.reason, str(err))
        height, width = depth.shape
        if height * width * scale * scale > MAX_OUTPUT_PIXELS:
            return _skip("too_large", f"{width}x{height} ×{scale} exceeds {MAX_OUTPUT_PIXELS} output pixels")
        if dp.invalid_mask(depth).all():
            return _skip("all_invalid", f"all {width}x{height} pixels of the {in_encoding} frame are invalid")
        out_info, notes = None, {}
        if info is not None:
            try:
                out_info = self._scale_info(info, image.header, width, height, scale, options.convention)
            except (CameraInfoError, ValueError, TypeError, AttributeError) as err:
                notes["camera_info"] = f"CameraInfo not usable for this frame ({err}): depth published without camera_info"
        decode_ms = (time.perf_counter() - start) * 1000.0

        timer = StageTimer()
        try:
            upsampled = self.upsampler.upsample(depth, timer=timer)
        except Exception as err:  # noqa: BLE001 - an engine failure (e.g. GPU out of memory) skips the frame
            return _skip("upsample_failed", f"{type(err).__name__}: {err}", dict(timer.last))

        start = time.perf_counter()
        encoding = in_encoding if options.output_encoding == "input" else options.output_encoding
        target = np.dtype(ENCODING_DTYPES[encoding]).newbyteorder("=")
        if upsampled.dtype != target:
            upsampled = dp.from_metres(dp.to_metres(upsampled), target)
        result = FrameResult(image=array_to_image(upsampled, encoding, image.header, self.factory), camera_info=out_info,
                             notes=notes)
        if options.publish_points:
            result.cloud = self._cloud(upsampled, out_info, image.header, result.notes)
        result.timings = {"decode": decode_ms, **timer.last, "encode": (time.perf_counter() - start) * 1000.0}
        return result

    @staticmethod
    def _scale_info(info: Any, header: Any, width: int, height: int, scale: int, convention: str) -> Any:
        """Scaled CameraInfo with the image's header, after checking it describes this image (if sized)."""
        size = expected_image_size(info)
        if size is not None and size != (width, height):
            raise CameraInfoError(f"describes a {size[0]}x{size[1]} image but the image is {width}x{height}")
        return scale_camera_info(info, scale, convention, header=header)

    def _cloud(self, upsampled: np.ndarray, info: Any, header: Any, notes: dict[str, str]) -> Any:
        """The organised point cloud, or None with a note when intrinsics are missing."""
        intrinsics = image_intrinsics(info) if info is not None else None
        if intrinsics is None:
            notes["no_points"] = "no calibrated CameraInfo for this frame: point cloud not published"
            return None
        return points_to_cloud(depth_to_points(dp.to_metres(upsampled), intrinsics), header, self.factory)
