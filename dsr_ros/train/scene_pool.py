"""A seeded pool of v2 scenes rendered once and kept on disk, read as a data set of samples.

Ray casting a scene takes about a tenth of a second, far slower than a training step wants,
so a recipe renders `count` scenes (seeds `seed`, `seed`+1, ...) into two memory-mapped arrays
and trains on random crops of them. The pool is keyed by its parameters and reused by every run.
"""
from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from dsr_ros.atomic import write_atomic
from dsr_ros.train.datasets import Sample
from dsr_ros.train.scenes3d import scene3d_for_seed

POOL_VERSION = 2


def _render(args: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    seed, size, thin_items = args
    scene = scene3d_for_seed(seed, size, size, thin_items)
    return scene.depth, np.round(scene.rgb * 255).astype(np.uint8)


class ScenePool:
    """`count` scenes of size×size: pool[i] is a Sample (depth in metres, NaN invalid; RGB in [0, 1])."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.depth = np.load(folder / "depth.npy", mmap_mode="r")
        self.rgb = np.load(folder / "rgb.npy", mmap_mode="r")

    def __len__(self) -> int:
        return len(self.depth)

    def __getitem__(self, index: int) -> Sample:
        rgb = np.asarray(self.rgb[index], dtype=np.float32) / 255.0
        return Sample(rgb=rgb, depth=np.array(self.depth[index]), name=f"{self.folder.name}/{index}")


def pool_folder(cache: str | Path, count: int, size: int, seed: int, thin_items: int = 0) -> Path:
    """Where the pool with these parameters lives (pools without thin dressing keep their old names)."""
    thin = f"-thin{thin_items}" if thin_items else ""
    return Path(cache) / f"scenes3d-v{POOL_VERSION}-n{count}-s{size}-seed{seed}{thin}"


def open_pool(cache: str | Path, count: int, size: int, seed: int, workers: int = 1, progress: bool = True,
              thin_items: int = 0) -> ScenePool:
    """The pool, rendered first if this cache does not hold it yet (with a progress bar)."""
    from tqdm import tqdm

    folder = pool_folder(cache, count, size, seed, thin_items)
    if (folder / "done.json").is_file():
        return ScenePool(folder)
    folder.mkdir(parents=True, exist_ok=True)
    depth = np.lib.format.open_memmap(folder / "depth.npy", "w+", np.float32, (count, size, size))
    rgb = np.lib.format.open_memmap(folder / "rgb.npy", "w+", np.uint8, (count, size, size, 3))
    jobs = [(seed + i, size, thin_items) for i in range(count)]
    with Pool(max(1, workers)) as pool:
        for i, (d, c) in enumerate(tqdm(pool.imap(_render, jobs, chunksize=4), total=count,
                                        desc=f"render {count} scenes", disable=not progress)):
            depth[i], rgb[i] = d, c
    depth.flush()
    rgb.flush()
    del depth, rgb
    write_atomic(folder / "done.json", lambda tmp: tmp.write_text(json.dumps({"count": count, "size": size, "seed": seed,
                                                                             "thin_items": thin_items})))
    return ScenePool(folder)
