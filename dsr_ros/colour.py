"""The colour image an RGB-guided model takes: unit RGB at the output size, packed onto the LR grid.

The network's single input tensor carries it as a space-to-depth rearrangement (3·s² channels on
the h×w LR grid, torch's pixel_unshuffle order), so engines and exports keep one input.
"""
from __future__ import annotations

import cv2
import numpy as np


def unit_rgb(image: np.ndarray) -> np.ndarray:
    """H×W×3 uint8/uint16 or float in [0, 1] RGB → float32 in [0, 1]; fails naming the shape or dtype."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"colour image must be HxWx3 RGB, got shape {image.shape}")
    if image.dtype in (np.uint8, np.uint16):
        return image.astype(np.float32) * np.float32(1.0 / np.iinfo(image.dtype).max)
    if image.dtype in (np.float32, np.float64):
        return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)
    raise ValueError(f"colour image must be uint8, uint16 or float in [0, 1], got {image.dtype}")


def resize_rgb(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Unit RGB resized to height×width: area-averaged when shrinking, bilinear when growing."""
    if rgb.shape[:2] == (height, width):
        return rgb
    shrink = rgb.shape[0] >= height and rgb.shape[1] >= width
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def pack_rgb(rgb: np.ndarray, scale: int) -> np.ndarray:
    """(s·h)×(s·w)×3 unit RGB → 3·s²×h×w: channel c·s² + i·s + j holds pixel (y·s + i, x·s + j) of colour c."""
    big_h, big_w = rgb.shape[:2]
    if big_h % scale or big_w % scale:
        raise ValueError(f"colour image {big_w}x{big_h} is not a whole number of {scale}x{scale} blocks")
    h, w = big_h // scale, big_w // scale
    blocks = rgb.reshape(h, scale, w, scale, 3).transpose(4, 1, 3, 0, 2)
    return np.ascontiguousarray(blocks.reshape(3 * scale * scale, h, w), dtype=np.float32)


def guide_input(image: np.ndarray, lr_shape: tuple[int, int], scale: int) -> np.ndarray:
    """Any registered colour image of the scene → the packed channels for an h×w LR depth frame."""
    h, w = lr_shape
    return pack_rgb(resize_rgb(unit_rgb(image), h * scale, w * scale), scale)
