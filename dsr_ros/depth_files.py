"""Depth files: 16-bit PNG (mm), .npy (uint16 mm or float32 m) and .pfm (float32 m).

PFM (Portable Float Map, Middlebury 2014's disparity format): `Pf` (1 channel) or `PF` (3), then
`width height`, then a scale whose sign gives the byte order (negative = little endian); rows are
stored bottom to top as float32.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SUFFIXES = (".png", ".npy", ".pfm")


class DepthFileError(ValueError):
    """A depth file cannot be read or written; the message names the file and why."""


def read_pfm(path: str | Path) -> np.ndarray:
    """H×W (or H×W×3) float32 array, top row first; fails naming the file on a bad header."""
    path = Path(path)
    with path.open("rb") as f:
        kind = f.readline().strip()
        if kind not in (b"Pf", b"PF"):
            raise ValueError(f"{path}: not a PFM file (header {kind[:8]!r})")
        try:
            width, height = (int(v) for v in f.readline().split())
            scale = float(f.readline().strip())
        except ValueError:
            raise ValueError(f"{path}: malformed PFM header") from None
        channels = 3 if kind == b"PF" else 1
        dtype = np.dtype("<f4" if scale < 0 else ">f4")
        data = np.frombuffer(f.read(), dtype=dtype)
    expected = width * height * channels
    if data.size != expected:
        raise ValueError(f"{path}: PFM holds {data.size} values, header says {width}x{height}x{channels}")
    shape = (height, width, 3) if channels == 3 else (height, width)
    return np.flipud(data.reshape(shape)).astype(np.float32)


def write_pfm(path: str | Path, array: np.ndarray, little_endian: bool = True) -> None:
    """Write an H×W or H×W×3 array as PFM in the given byte order."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"PFM holds H×W or H×W×3 arrays, got shape {array.shape}")
    kind = b"PF" if array.ndim == 3 else b"Pf"
    dtype = np.dtype("<f4" if little_endian else ">f4")
    header = kind + f"\n{array.shape[1]} {array.shape[0]}\n{-1.0 if little_endian else 1.0}\n".encode()
    Path(path).write_bytes(header + np.flipud(array).astype(dtype).tobytes())


def read_depth(path: str | Path) -> np.ndarray:
    """uint16 mm (PNG, npy) or float32 m (npy, PFM), HxW; anything else is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise DepthFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".png":
        depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if depth is None:
            raise DepthFileError(f"{path}: not a readable PNG")
        if depth.dtype != np.uint16 or depth.ndim != 2:
            raise DepthFileError(f"{path}: depth PNG must be 16-bit single-channel (mm), got {depth.dtype} "
                                 f"with {1 if depth.ndim == 2 else depth.shape[2]} channel(s)")
        return depth
    if suffix == ".npy":
        try:
            depth = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DepthFileError(f"{path}: not a readable .npy array: {exc}") from None
        if depth.dtype == np.float64:
            depth = depth.astype(np.float32)
        if depth.dtype not in (np.uint16, np.float32) or depth.ndim not in (2, 3):
            raise DepthFileError(f"{path}: .npy depth must be HxW or NxHxW uint16 (mm) or float32 (m), "
                                 f"got {depth.dtype} {depth.shape}")
        return depth
    if suffix == ".pfm":
        try:
            depth = read_pfm(path)
        except (OSError, ValueError) as exc:
            raise DepthFileError(f"{path}: not a readable PFM: {exc}") from None
        if depth.ndim != 2:
            raise DepthFileError(f"{path}: depth PFM must be single-channel (Pf), got {depth.shape[2]} channels")
        return depth
    raise DepthFileError(f"{path}: unsupported depth file type {suffix!r}; supported: {', '.join(SUFFIXES)}")


def write_depth(path: str | Path, depth: np.ndarray) -> None:
    """Write depth in the format the suffix names (PNG needs uint16 mm; PFM stores metres)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".png":
        if depth.dtype != np.uint16:
            raise DepthFileError(f"{path}: PNG output needs uint16 millimetres; use .npy or .pfm for float metres")
        if not cv2.imwrite(str(path), depth):
            raise DepthFileError(f"{path}: could not write PNG")
    elif suffix == ".npy":
        np.save(path, depth)
    elif suffix == ".pfm":
        metres = depth.astype(np.float32) / 1000.0 if depth.dtype == np.uint16 else depth
        write_pfm(path, np.where(np.isfinite(metres) & (metres > 0), metres, np.inf).astype(np.float32))
    else:
        raise DepthFileError(f"{path}: unsupported output type {suffix!r}; supported: {', '.join(SUFFIXES)}")


