"""Training batches from freshly rendered synthetic scenes.

Batch k is drawn from a generator seeded by (seed, k), so a resumed run sees exactly the
batches an uninterrupted one would, without storing any data-loader state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dsr_ros.depth import Normalisation, fill_invalid
from dsr_ros.train.degrade import degrade
from dsr_ros.train.synthetic import render_scene


@dataclass
class Batch:
    """Normalised tensors: lr N×1×h×w (holes filled), hr N×1×H×W, rgb N×3×H×W, and each sample's range."""

    lr: torch.Tensor
    hr: torch.Tensor
    rgb: torch.Tensor
    near: torch.Tensor
    far: torch.Tensor

    def to(self, device: torch.device) -> Batch:
        """The same batch on another device (the trainer's GPU)."""
        return Batch(*(t.to(device, non_blocking=True) for t in (self.lr, self.hr, self.rgb, self.near, self.far)))


def make_pair(hr: np.ndarray, scale: int, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Normalisation]:
    """Degrade one HR depth map and normalise both sides with the LR frame's own range."""
    lr = degrade(hr, scale, kind, rng)
    valid = np.isfinite(lr)
    norm = Normalisation.from_valid(lr, valid)
    lr_unit = fill_invalid(np.clip(norm.normalise(np.nan_to_num(lr, nan=norm.near)), 0, 1), valid)
    return lr_unit, norm.normalise(hr), norm


def synthetic_batch(seed: int, step: int, batch_size: int, patch: int, scale: int, degradations: list[str]) -> Batch:
    """The reproducible batch number `step` of a run seeded with `seed`."""
    rng = np.random.default_rng([seed, step])
    lrs, hrs, rgbs, nears, fars = [], [], [], [], []
    for _ in range(batch_size):
        scene = render_scene(rng, patch, patch)
        lr, hr, norm = make_pair(scene.depth, scale, str(rng.choice(degradations)), rng)
        lrs.append(lr)
        hrs.append(hr)
        rgbs.append(scene.rgb.transpose(2, 0, 1))
        nears.append(norm.near)
        fars.append(norm.far)
    return Batch(
        lr=torch.from_numpy(np.stack(lrs)[:, None]),
        hr=torch.from_numpy(np.stack(hrs)[:, None]),
        rgb=torch.from_numpy(np.ascontiguousarray(np.stack(rgbs))),
        near=torch.tensor(nears),
        far=torch.tensor(fars),
    )
