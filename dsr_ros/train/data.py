"""Training batches: freshly rendered synthetic scenes, or random crops of a real data set.

Batch k is drawn from a generator seeded by (seed, k), so a resumed run sees exactly the
batches an uninterrupted one would, without storing any data-loader state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from dsr_ros.colour import pack_rgb, unit_rgb
from dsr_ros.depth import LogDepth, encode_frame, upsample_mask
from dsr_ros.net.input_kind import kind_planes
from dsr_ros.train.colour_jitter import jitter_colour
from dsr_ros.train.datasets import Sample
from dsr_ros.train.datasets.sources import open_dataset
from dsr_ros.train.degrade import degrade, truth_shadows
from dsr_ros.train.recipe import DataSection, Recipe, RecipeError
from dsr_ros.train.scene_pool import open_pool
from dsr_ros.train.synthetic import render_scene

if TYPE_CHECKING:
    from dsr_ros.train.datasets.sources import Dataset

MIN_VALID = 0.5  # a real crop needs at least this fraction of valid ground-truth pixels
CROP_TRIES = 20  # draws per batch item before giving up on a mostly invalid data set


@dataclass
class Batch:
    """Log-ratio tensors: lr N×1×h×w (holes filled; N×2 with the validity mask), hr N×1×H×W (NaN invalid),
    rgb N×3×H×W, each sample's reference (m)."""

    lr: torch.Tensor
    hr: torch.Tensor
    rgb: torch.Tensor
    reference: torch.Tensor

    def to(self, device: torch.device) -> Batch:
        """The same batch on another device (the trainer's GPU)."""
        return Batch(*(t.to(device, non_blocking=True) for t in (self.lr, self.hr, self.rgb, self.reference)))


def make_pair(hr: np.ndarray, scale: int, kind: str, rng: np.random.Generator,
              skip_holes: bool = False, mask: bool = False) -> tuple[np.ndarray, np.ndarray, LogDepth]:
    """Degrade one HR depth map; encode both sides relative to the LR frame, as the Upsampler does.

    `skip_holes` leaves the target NaN under every LR hole: the Upsampler publishes no depth there
    (unless `fill_holes`), so those pixels are dropped from the loss, as from every evaluation.
    `mask` makes the input 2×h×w: the filled log depth and the validity mask (1 measured, 0 filled).
    """
    lr = degrade(hr, scale, kind, rng)
    valid = np.isfinite(lr)
    lr_log, norm = encode_frame(lr, valid)
    if mask:
        lr_log = np.stack([lr_log, valid.astype(np.float32)])
    with np.errstate(invalid="ignore"):
        target = norm.encode(hr)
    if skip_holes and not valid.all():
        target[~upsample_mask(valid, scale)[: target.shape[0], : target.shape[1]]] = np.nan
    return lr_log, target, norm


Item = tuple[np.ndarray, np.ndarray, np.ndarray, LogDepth]


def _item(rgb: np.ndarray, depth: np.ndarray, scale: int, degradations: list[str], rng: np.random.Generator,
          skip_holes: bool = False, shadows: float = 0.0, mask: bool = False, guide: bool = False,
          jitter: float = 0.0, kinds: tuple[str, ...] = (), unknown: float = 0.0) -> Item:
    """(lr, hr, rgb C×H×W, range) of one HR crop under a degradation drawn from rng.

    With probability `shadows` the truth first loses its stereo occlusion shadows (`truth_shadows`).
    With `kinds` the input is told its degradation as one-hot planes (all zero with probability `unknown`).
    `guide` appends the crop's colour image to the input, packed as the Upsampler packs it (`dsr_ros.colour`);
    with probability `jitter` that colour is photometrically jittered first (`colour_jitter`).
    """
    if shadows > 0 and rng.random() < shadows:
        depth = truth_shadows(depth, rng)
    kind = str(rng.choice(degradations))
    lr, hr, norm = make_pair(depth, scale, kind, rng, skip_holes, mask)
    h, w = lr.shape[-2:]
    if kinds:
        told = kind if kind in kinds and (unknown == 0 or rng.random() >= unknown) else None  # no draw at 0: same crops
        lr = np.concatenate([lr.reshape(-1, h, w), kind_planes(kinds, told, (h, w))])
    if guide:
        colour = unit_rgb(rgb[: h * scale, : w * scale])
        if jitter > 0 and rng.random() < jitter:
            colour = jitter_colour(colour, rng)
        packed = pack_rgb(colour, scale)
        lr = np.concatenate([lr.reshape(-1, h, w), packed])
    return lr, hr, rgb.transpose(2, 0, 1), norm


def _stack(items: list[Item]) -> Batch:
    """One Batch from per-sample arrays."""
    lrs, hrs, rgbs, norms = zip(*items, strict=True)
    return Batch(
        lr=torch.from_numpy(np.stack(lrs) if lrs[0].ndim == 3 else np.stack(lrs)[:, None]),  # N×C×h×w
        hr=torch.from_numpy(np.stack(hrs)[:, None]),
        rgb=torch.from_numpy(np.ascontiguousarray(np.stack(rgbs), dtype=np.float32)),
        reference=torch.tensor([n.reference for n in norms]),
    )


def synthetic_batch(seed: int, step: int, batch_size: int, patch: int, scale: int, degradations: list[str],
                    skip_holes: bool = False, shadows: float = 0.0, mask: bool = False, guide: bool = False,
                    jitter: float = 0.0, kinds: tuple[str, ...] = (), unknown: float = 0.0) -> Batch:
    """The reproducible batch number `step` of a run seeded with `seed`."""
    rng = np.random.default_rng([seed, step])
    items = []
    for _ in range(batch_size):
        scene = render_scene(rng, patch, patch)
        items.append(_item(scene.rgb, scene.depth, scale, degradations, rng, skip_holes, shadows, mask, guide, jitter,
                           kinds, unknown))
    return _stack(items)


def random_crop(sample: Sample, patch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, depth) patch×patch at a random place, mirrored left-right half the time (never upside down)."""
    h, w = sample.depth.shape
    if h < patch or w < patch:
        raise ValueError(f"{sample.name}: {w}x{h} is smaller than data.patch {patch}")
    y, x = int(rng.integers(h - patch + 1)), int(rng.integers(w - patch + 1))
    rgb, depth = sample.rgb[y : y + patch, x : x + patch], sample.depth[y : y + patch, x : x + patch]
    if rng.random() < 0.5:
        rgb, depth = rgb[:, ::-1], depth[:, ::-1]
    return np.ascontiguousarray(rgb), np.ascontiguousarray(depth)


def dataset_batch(dataset: Dataset, seed: int, step: int, batch_size: int, patch: int, scale: int,
                  degradations: list[str], skip_holes: bool = False, shadows: float = 0.0, mask: bool = False,
                  guide: bool = False, jitter: float = 0.0, kinds: tuple[str, ...] = (), unknown: float = 0.0) -> Batch:
    """Batch `step` of crops from a real data set; sample, place, flip and degradation all come from (seed, step)."""
    rng = np.random.default_rng([seed, step])
    items = []
    for _ in range(batch_size):
        for _ in range(CROP_TRIES):
            rgb, depth = random_crop(dataset[int(rng.integers(len(dataset)))], patch, rng)
            if np.isfinite(depth).mean() >= MIN_VALID:
                break
        else:
            raise ValueError(f"no {patch}x{patch} crop with {MIN_VALID:.0%} valid depth in {CROP_TRIES} tries")
        items.append(_item(rgb, depth, scale, degradations, rng, skip_holes, shadows, mask, guide, jitter, kinds, unknown))
    return _stack(items)


@dataclass
class BatchSource:
    """The recipe's batches: `source(seed, step, batch_size)` is the same batch whenever it is asked for."""

    data: DataSection
    scale: int
    dataset: Dataset | None = None
    mask: bool = False  # the network takes the validity mask as a second input channel
    guide: bool = False  # the network takes the packed colour image after the depth channels
    kinds: tuple[str, ...] = ()  # the input kinds the network is told (model.input_kinds)

    def __call__(self, seed: int, step: int, batch_size: int) -> Batch:
        d = self.data
        if self.dataset is None:
            return synthetic_batch(seed, step, batch_size, d.patch, self.scale, d.degradations, d.skip_hole_targets,
                                   d.truth_shadows, self.mask, self.guide, d.colour_jitter, self.kinds, d.unknown_kind)
        return dataset_batch(self.dataset, seed, step, batch_size, d.patch, self.scale, d.degradations, d.skip_hole_targets,
                             d.truth_shadows, self.mask, self.guide, d.colour_jitter, self.kinds, d.unknown_kind)

    @property
    def description(self) -> str:
        """What the model was trained on, for its model card."""
        d = self.data
        if self.dataset is None:
            return "synthetic procedural scenes (dsr_ros.train.synthetic)"
        if d.source == "synthetic3d":
            thin = f", up to {d.thin_items} extra thin structures each" if d.thin_items else ""
            return (f"synthetic v2 3D scenes (dsr_ros.train.scenes3d): pool of {d.scenes} at {d.scene_size}px, seeds "
                    f"{d.pool_seed}..{d.pool_seed + d.scenes - 1}{thin}; random {d.patch}px crops, left-right flips")
        split = f", split {self.data.split}" if self.data.split else ""
        return (f"{self.data.source} training data ({len(self.dataset)} images{split}): random {self.data.patch}px "
                "crops, left-right flips")


def batch_source(recipe: Recipe) -> BatchSource:
    """The batches `data.source` asks for (the training split of a real data set is opened here)."""
    d, m = recipe.data, recipe.model
    guide, kinds = m.rgb_guide > 0, tuple(m.input_kinds)
    if d.source == "synthetic":
        return BatchSource(d, m.scale, mask=m.mask_input, guide=guide, kinds=kinds)
    if d.source == "synthetic3d":
        return BatchSource(d, m.scale, open_pool(d.cache, d.scenes, d.scene_size, d.pool_seed, d.workers,
                                                 thin_items=d.thin_items), m.mask_input, guide, kinds)
    try:
        dataset = open_dataset(d.source, d.path, "train", d.split or None)
    except (OSError, ValueError) as exc:
        raise RecipeError(f"data.path {d.path!r} (data.source {d.source!r}): {exc}") from None
    return BatchSource(d, m.scale, dataset, m.mask_input, guide, kinds)
