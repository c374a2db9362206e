"""Portable Float Map (PFM) files: Middlebury 2014's disparity format.

Header: `Pf` (1 channel) or `PF` (3), then `width height`, then a scale whose sign gives the
byte order (negative = little endian); rows are stored bottom to top as float32.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


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
