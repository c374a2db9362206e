"""Writers for small data sets in the real on-disk formats (NYU .mat, Middlebury 2005/2014, pair folders)."""
from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np

from dsr_ros.depth_files import write_pfm
from dsr_ros.train.synthetic import scene_for_seed

MIDDLEBURY_2014_CALIB = """cam0=[3997.684 0 1176.728; 0 3997.684 1011.728; 0 0 1]
cam1=[3997.684 0 1307.839; 0 3997.684 1011.728; 0 0 1]
doffs=131.111
baseline=193.001
width=6
height=5
ndisp=280
"""


def write_nyu(path: Path, rgb: np.ndarray, depth: np.ndarray) -> None:
    """N×H×W×3 uint8 images and N×H×W depths, stored the way MATLAB v7.3 lays them out (axes reversed)."""
    with h5py.File(path, "w") as f:
        f["images"] = rgb.transpose(0, 3, 2, 1)  # (n, 3, W, H)
        f["depths"] = depth.transpose(0, 2, 1)  # (n, W, H)


def scenes(n: int, h: int, w: int, first_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """N procedural scenes as uint8 RGB and float32 depth in metres (about 1–8 m, indoor-like)."""
    made = [scene_for_seed(first_seed + i, h, w) for i in range(n)]
    rgb = np.stack([(s.rgb * 255).round().astype(np.uint8) for s in made])
    depth = np.stack([s.depth * 0.4 for s in made]).astype(np.float32)
    return rgb, depth


def write_rgb_png(path: Path, h: int, w: int) -> None:
    """A pure red H×W image."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 2] = 255  # red in OpenCV's BGR order
    cv2.imwrite(str(path), img)


def write_middlebury_2014(scene: Path, disparity: np.ndarray) -> None:
    """im0.png, disp0.pfm (inf = unknown) and calib.txt of a 2014 scene."""
    scene.mkdir(parents=True)
    (scene / "calib.txt").write_text(MIDDLEBURY_2014_CALIB)
    write_pfm(scene / "disp0.pfm", disparity.astype(np.float32))
    write_rgb_png(scene / "im0.png", *disparity.shape)


def write_pair_folder(root: Path, depths: list[np.ndarray]) -> None:
    """rgb/pNN.png with depth/pNN.npy (float metres, NaN invalid)."""
    (root / "rgb").mkdir(parents=True)
    (root / "depth").mkdir()
    for i, depth in enumerate(depths):
        write_rgb_png(root / "rgb" / f"p{i:02d}.png", *depth.shape)
        np.save(root / "depth" / f"p{i:02d}.npy", depth.astype(np.float32))
