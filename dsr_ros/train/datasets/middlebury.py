"""Middlebury stereo scenes as RGB-D samples: 2005/2006 (8-bit disparity PNG) and 2014 (PFM).

2005/2006 (`<scene>/view1.png` + `disp1.png`, or view5/disp5): disparity 0 = unknown. What we
assume from the data sets' pages: the scene is 1110 px tall at Full size, 555 at Half, 370 at
Third, and we infer the size from the height; Half and Third maps store the disparity in their
own pixels; Full maps store disparity − dmin (dmin from `<scene>/dmin.txt`, required at Full
size) because full disparities exceed 255. Depth uses the published focal length 3740 px
(at Full size, divided by the size factor) and baseline 160 mm: Z = f·B/d.

2014 (`<scene>/im0.png` + `disp0.pfm` + `calib.txt`): disparity inf = unknown, and
Z = baseline·f/(d + doffs) in mm with f = cam0[0, 0] and baseline, doffs from calib.txt.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from dsr_ros.depth_files import read_pfm
from dsr_ros.train.datasets import Sample, check_aligned, rgb_from_uint

FULL_HEIGHT_2005 = 1110
FOCAL_2005_PX = 3740.0
BASELINE_2005_MM = 160.0


def read_rgb(path: Path) -> np.ndarray:
    """An 8/16-bit colour image as float32 RGB in [0, 1]; fails naming a missing file."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return rgb_from_uint(cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB))


def size_factor_2005(height: int) -> int:
    """1 (Full), 2 (Half) or 3 (Third) from the image height; fails on any other height."""
    factor = round(FULL_HEIGHT_2005 / height)
    if factor not in (1, 2, 3) or abs(FULL_HEIGHT_2005 / factor - height) > 2:
        raise ValueError(f"height {height} is not a Middlebury 2005/2006 Full (1110), Half (555) or Third (370) size")
    return factor


def load_2005(scene: Path, view: int = 1) -> Sample:
    """A 2005/2006 scene: depth in metres and disparity in the file's pixel units."""
    raw = cv2.imread(str(scene / f"disp{view}.png"), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise FileNotFoundError(f"cannot read {scene / f'disp{view}.png'}")
    if raw.ndim == 3:
        raw = raw[..., 0]
    factor = size_factor_2005(raw.shape[0])
    disparity = raw.astype(np.float32)
    if factor == 1:
        dmin_file = scene / "dmin.txt"
        if not dmin_file.is_file():
            raise FileNotFoundError(f"{dmin_file} is needed to read a Full-size disparity map")
        disparity += float(dmin_file.read_text().split()[0])
    disparity[raw == 0] = np.nan
    focal_baseline = (FOCAL_2005_PX / factor) * BASELINE_2005_MM / 1000.0
    depth = focal_baseline / disparity
    rgb = read_rgb(scene / f"view{view}.png")
    check_aligned(rgb, depth, str(scene))
    return Sample(rgb=rgb, depth=depth.astype(np.float32), name=scene.name, disparity=disparity,
                  focal_baseline=focal_baseline)


def read_calib(path: Path) -> dict[str, float]:
    """focal (cam0[0,0]), baseline and doffs from a 2014 calib.txt."""
    text = path.read_text()
    values: dict[str, float] = {}
    cam0 = re.search(r"cam0\s*=\s*\[\s*([-+\d.eE]+)", text)
    for key in ("baseline", "doffs"):
        m = re.search(rf"^{key}\s*=\s*([-+\d.eE]+)", text, re.MULTILINE)
        if m:
            values[key] = float(m.group(1))
    if cam0 is None or len(values) != 2:
        raise ValueError(f"{path}: needs cam0, baseline and doffs")
    values["focal"] = float(cam0.group(1))
    return values


def load_2014(scene: Path) -> Sample:
    """A 2014 scene: depth in metres from disp0.pfm and calib.txt."""
    calib = read_calib(scene / "calib.txt")
    disparity = read_pfm(scene / "disp0.pfm")
    disparity[~np.isfinite(disparity)] = np.nan
    focal_baseline = calib["baseline"] * calib["focal"] / 1000.0
    depth = focal_baseline / (disparity + calib["doffs"])
    depth[~(depth > 0)] = np.nan
    rgb = read_rgb(scene / "im0.png")
    check_aligned(rgb, depth, str(scene))
    return Sample(rgb=rgb, depth=depth.astype(np.float32), name=scene.name, disparity=disparity,
                  focal_baseline=focal_baseline, doffs=calib["doffs"])


class Middlebury:
    """Every scene folder under `root` (2005/2006 or 2014 layout, detected per scene)."""

    def __init__(self, root: str | Path, scenes: list[str] | None = None, view: int = 1) -> None:
        self.root = Path(root)
        found = sorted(p for p in self.root.iterdir() if p.is_dir() and self._layout(p)) if self.root.is_dir() else []
        if scenes is not None:
            missing = sorted(set(scenes) - {p.name for p in found})
            if missing:
                raise FileNotFoundError(f"{self.root}: no Middlebury scene(s) {missing}")
            found = [p for p in found if p.name in scenes]
        if not found:
            raise FileNotFoundError(f"{self.root}: no scene folders with disp{view}.png or disp0.pfm")
        self.scenes, self.view = found, view

    @staticmethod
    def _layout(scene: Path) -> str:
        if (scene / "disp0.pfm").is_file():
            return "2014"
        return "2005" if any(scene.glob("disp[15].png")) else ""

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, k: int) -> Sample:
        scene = self.scenes[k]
        return load_2014(scene) if self._layout(scene) == "2014" else load_2005(scene, self.view)

    def __iter__(self) -> Iterator[Sample]:
        return (self[k] for k in range(len(self)))
