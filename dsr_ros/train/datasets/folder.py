"""A folder of aligned pairs: `rgb/<name>.png` with `depth/<name>.png` (16-bit mm, 0 invalid)
or `depth/<name>.npy` (float metres; NaN, inf or 0 invalid)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from dsr_ros.train.datasets import Sample, check_aligned
from dsr_ros.train.datasets.middlebury import read_rgb


def read_depth(path: Path) -> np.ndarray:
    """Depth in float32 metres with NaN for invalid pixels, from a 16-bit PNG or an .npy."""
    if path.suffix == ".npy":
        depth = np.load(path, allow_pickle=False).astype(np.float32)
    else:
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
            raise ValueError(f"{path}: depth PNGs must be single-channel 16-bit millimetres")
        depth = raw.astype(np.float32) / 1000.0
    if depth.ndim != 2:
        raise ValueError(f"{path}: depth must be H×W, got shape {depth.shape}")
    depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


class PairFolder:
    """Pairs matched by file stem; an RGB without depth (or the reverse) is an error."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        rgb = {p.stem: p for p in sorted((self.root / "rgb").glob("*.png"))}
        depth = {p.stem: p for p in sorted((self.root / "depth").glob("*")) if p.suffix in (".png", ".npy")}
        unmatched = sorted(set(rgb) ^ set(depth))
        if unmatched:
            raise ValueError(f"{self.root}: unpaired file(s) {unmatched[:5]} (rgb/ and depth/ must match by name)")
        if not rgb:
            raise FileNotFoundError(f"{self.root}: no rgb/*.png with depth/*.png|npy")
        self.pairs = [(name, rgb[name], depth[name]) for name in sorted(rgb)]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, k: int) -> Sample:
        name, rgb_path, depth_path = self.pairs[k]
        rgb, depth = read_rgb(rgb_path), read_depth(depth_path)
        check_aligned(rgb, depth, name)
        return Sample(rgb=rgb, depth=depth, name=name)

    def __iter__(self) -> Iterator[Sample]:
        return (self[k] for k in range(len(self)))
