"""Real data sets by name (loaders imported on use), as the recipe's `data.source` and `dsr eval --dataset` spell them."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsr_ros.train.datasets.folder import PairFolder
    from dsr_ros.train.datasets.middlebury import Middlebury
    from dsr_ros.train.datasets.nyu import NYUv2

    Dataset = NYUv2 | Middlebury | PairFolder

DATASETS = ("nyu", "middlebury", "folder")


def open_dataset(name: str, path: str | Path, split: str = "test", split_file: str | Path | None = None) -> Dataset:
    """NYU's `split` part (1000/449 or the split file); all scenes or pairs of Middlebury and folders."""
    if name == "nyu":
        from dsr_ros.train.datasets.nyu import NYUv2

        return NYUv2(path, split, split_file)
    if split_file:
        raise ValueError(f"a split file is only used with NYU v2, not {name!r}")
    if name == "middlebury":
        from dsr_ros.train.datasets.middlebury import Middlebury

        return Middlebury(path)
    if name == "folder":
        from dsr_ros.train.datasets.folder import PairFolder

        return PairFolder(path)
    raise ValueError(f"data set must be one of {list(DATASETS)}, got {name!r}")
