"""NYU Depth v2 labelled set (`nyu_depth_v2_labeled.mat`, MATLAB v7.3 = HDF5).

MATLAB stores `images` as 480×640×3×1449 and `depths` as 480×640×1449 (column-major); read
through HDF5 the axes come out reversed: images (1449, 3, 640, 480), depths (1449, 640, 480).
So an image is `images[i].transpose(2, 1, 0)` (H×W×3) and a depth map `depths[i].T` (H×W).
Depth is in metres (the labelled set is in-painted; 0 is still treated as invalid).

Split: the depth SR papers use the first 1000 images for training and the last 449 for testing.
A split file may replace it: the official `splits.mat` (1-based `trainNdxs`/`testNdxs`, 795/654)
or a text file of 0-based indices, one per line.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from dsr_ros.train.datasets import Sample, rgb_from_uint

TRAIN_COUNT = 1000


def split_indices(count: int, split: str, split_file: str | Path | None = None) -> list[int]:
    """0-based indices of the `train` or `test` part."""
    if split not in ("train", "test"):
        raise ValueError(f"NYU split must be 'train' or 'test', got {split!r}")
    if split_file is None:
        if count <= TRAIN_COUNT:
            raise ValueError(f"NYU file holds {count} images; the 1000/449 split needs more than {TRAIN_COUNT}")
        return list(range(TRAIN_COUNT)) if split == "train" else list(range(TRAIN_COUNT, count))
    path = Path(split_file)
    if path.suffix == ".mat":
        key = "trainNdxs" if split == "train" else "testNdxs"
        indices = [int(i) - 1 for i in np.asarray(scipy.io.loadmat(path)[key]).ravel()]
    else:
        indices = [int(line) for line in path.read_text().split()]
    bad = [i for i in indices if not 0 <= i < count]
    if bad:
        raise ValueError(f"{path}: indices {bad[:5]} outside 0..{count - 1}")
    return indices


class NYUv2:
    """Samples of the labelled set, read lazily from the .mat file."""

    def __init__(self, path: str | Path, split: str = "test", split_file: str | Path | None = None) -> None:
        self.path = Path(path)
        with h5py.File(self.path, "r") as f:
            for key in ("images", "depths"):
                if key not in f:
                    raise ValueError(f"{self.path}: no dataset {key!r}; is this nyu_depth_v2_labeled.mat?")
            images, depths = f["images"].shape, f["depths"].shape
        if len(images) != 4 or images[1] != 3 or depths != (images[0], *images[2:]):
            raise ValueError(f"{self.path}: expected images (N, 3, W, H) and depths (N, W, H), got {images}, {depths}")
        self.indices: Sequence[int] = split_indices(images[0], split, split_file)

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Sample]:
        with h5py.File(self.path, "r") as f:
            for i in self.indices:
                yield self._sample(f, i)

    def __getitem__(self, k: int) -> Sample:
        with h5py.File(self.path, "r") as f:
            return self._sample(f, self.indices[k])

    @staticmethod
    def _sample(f: h5py.File, i: int) -> Sample:
        rgb = rgb_from_uint(np.ascontiguousarray(f["images"][i].transpose(2, 1, 0)))
        depth = np.ascontiguousarray(f["depths"][i].T, dtype=np.float32)
        depth[~(depth > 0)] = np.nan
        return Sample(rgb=rgb, depth=depth, name=f"nyu_{i:04d}")
