"""Procedural RGB-D scenes: piecewise-smooth depth with occlusion edges, and RGB to match.

Depth comes from planes, boxes, spheres, cylinders, slanted surfaces and thin structures at
varied distances, composed with a z-buffer. RGB texture deliberately ignores depth edges
(so colour edges are not depth edges), while shading follows the surface normals (so the
RGB teacher has real structure to teach). Everything is drawn from one seeded generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Scene:
    """One rendered scene: HxW depth in metres (float32, all valid) and HxWx3 RGB in [0, 1]."""

    depth: np.ndarray
    rgb: np.ndarray


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    return u, v


def _plane(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, z: float, tilt: float) -> np.ndarray:
    """A slanted plane through depth z at the image centre; inverse depth is affine in pixels."""
    h, w = u.shape
    gu, gv = rng.uniform(-tilt, tilt, size=2) / max(h, w)
    inv = 1.0 / z + (gu * (u - w / 2) + gv * (v - h / 2)) / z
    return 1.0 / np.clip(inv, 1.0 / 50.0, 10.0)


def _polygon_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A rotated rectangle (a box face seen at an angle) as a boolean mask."""
    centre = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
    size = (float(rng.uniform(0.1, 0.5) * w), float(rng.uniform(0.1, 0.5) * h))
    corners = cv2.boxPoints((centre, size, float(rng.uniform(0, 180)))).astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, corners, 1)
    return mask.astype(bool)


def _sphere(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    h, w = u.shape
    r = rng.uniform(0.05, 0.25) * min(h, w)
    d2 = ((u - rng.uniform(0, w)) ** 2 + (v - rng.uniform(0, h)) ** 2) / r**2
    mask = d2 < 1
    radius_m = z * r / (0.9 * w)
    return mask, z - radius_m * np.sqrt(np.clip(1 - d2, 0, 1))


def _cylinder(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    h, w = u.shape
    vertical = rng.random() < 0.6
    across, along, extent = (u, v, w) if vertical else (v, u, h)
    r = rng.uniform(0.03, 0.15) * extent
    c = rng.uniform(0, extent)
    start, stop = sorted(rng.uniform(0, along.max() + 1, size=2))
    d2 = ((across - c) / r) ** 2
    mask = (d2 < 1) & (along >= start) & (along <= stop + 0.2 * (along.max() + 1))
    radius_m = z * r / (0.9 * w)
    return mask, z - radius_m * np.sqrt(np.clip(1 - d2, 0, 1))


def _thin(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A pole, wire or chair leg: a 1–3 px line across part of the image."""
    mask = np.zeros((h, w), np.uint8)
    p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
    p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
    cv2.line(mask, p0, p1, 1, thickness=int(rng.integers(1, 4)))
    return mask.astype(bool)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Band-limited noise in [0, 1]: random values on a coarse grid, cubically upsampled."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Albedo independent of geometry: colour patches, stripes and fine noise."""
    albedo = np.empty((h, w, 3), np.float32)
    for c in range(3):
        albedo[..., c] = 0.25 + 0.5 * _smooth_noise(rng, h, w, int(rng.integers(3, 9)))
    for _ in range(int(rng.integers(2, 6))):
        patch = _polygon_mask(rng, h, w)
        albedo[patch] = rng.uniform(0.1, 0.9, size=3)
    u, v = _grid(h, w)
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 24)
    stripes = 0.5 + 0.5 * np.sin((u * np.cos(angle) + v * np.sin(angle)) * 2 * np.pi / period)
    albedo *= (0.85 + 0.15 * stripes)[..., None]
    albedo += rng.normal(0, 0.02, size=albedo.shape).astype(np.float32)
    return albedo


def _shading(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lambertian shading from depth normals, which does follow the geometry."""
    h, w = depth.shape
    f = 0.9 * w
    dzdx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3) / 8.0 * f / depth
    dzdy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3) / 8.0 * f / depth
    normals = np.dstack([-dzdx, -dzdy, np.ones_like(depth)])
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), 1.0], np.float32)
    light /= np.linalg.norm(light)
    return 0.25 + 0.75 * np.clip(normals @ light, 0, 1)


def render_scene(rng: np.random.Generator, height: int, width: int, objects: tuple[int, int] = (4, 12)) -> Scene:
    """Draw one scene: a slanted background, then objects front to back via a z-buffer."""
    u, v = _grid(height, width)
    near, far = sorted(rng.uniform(0.4, 9.0, size=2))
    far = max(far, near + 0.8)
    depth = _plane(rng, u, v, far, tilt=1.2)
    if rng.random() < 0.7:  # a floor meeting the back wall
        horizon = rng.uniform(0.3, 0.8) * height
        floor = far * horizon / np.maximum(v - horizon + horizon, 1.0) * (height / max(v.max(), 1)) * 0.6 + near
        depth = np.where(v > horizon, np.minimum(depth, floor), depth)
    for _ in range(int(rng.integers(*objects))):
        z = float(rng.uniform(near, far))
        kind = rng.choice(["box", "sphere", "cylinder", "slab", "thin"], p=[0.3, 0.2, 0.2, 0.15, 0.15])
        if kind == "box" or kind == "slab":
            mask = _polygon_mask(rng, height, width)
            surface = _plane(rng, u, v, z, tilt=0.6 if kind == "box" else 2.0)
        elif kind == "sphere":
            mask, surface = _sphere(rng, u, v, z)
        elif kind == "cylinder":
            mask, surface = _cylinder(rng, u, v, z)
        else:
            mask, surface = _thin(rng, height, width), np.full_like(u, z)
        depth = np.where(mask & (surface < depth), surface, depth)
    depth = np.clip(depth, 0.2, 20.0).astype(np.float32)
    rgb = np.clip(_texture(rng, height, width) * _shading(depth, rng)[..., None], 0, 1).astype(np.float32)
    return Scene(depth=depth, rgb=rgb)


def scene_for_seed(seed: int, height: int, width: int) -> Scene:
    """A reproducible scene: the same seed always renders the same depth and RGB."""
    return render_scene(np.random.default_rng(seed), height, width)
