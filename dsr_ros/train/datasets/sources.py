"""Real data sets by name, as the recipe's `data.source` and `dsr eval --dataset` spell them."""
from __future__ import annotations

from pathlib import Path

from dsr_ros.train.datasets.folder import PairFolder
from dsr_ros.train.datasets.middlebury import Middlebury
from dsr_ros.train.datasets.nyu import NYUv2

DATASETS = ("nyu", "middlebury", "folder")
Dataset = NYUv2 | Middlebury | PairFolder


def open_dataset(name: str, path: str | Path, split: str = "test", split_file: str | Path | None = None) -> Dataset:
    """NYU's `split` part (1000/449 or the split file); all scenes or pairs of Middlebury and folders."""
    if name == "nyu":
        return NYUv2(path, split, split_file)
    if split_file:
        raise ValueError(f"a split file is only used with NYU v2, not {name!r}")
    if name == "middlebury":
        return Middlebury(path)
    if name == "folder":
        return PairFolder(path)
    raise ValueError(f"data set must be one of {list(DATASETS)}, got {name!r}")
