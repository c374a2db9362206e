"""Exact ray casting of 3D primitives through a pinhole camera, with a z-buffer.

Rays leave the camera centre with direction (x, y, 1) in camera coordinates (x right, y down,
z forward), so a hit at ray parameter t lies at depth Z = t: the z-buffer holds depth directly.
Each primitive is tested only on the pixels its bounding sphere can cover.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS = 1e-6


@dataclass
class Pinhole:
    """Intrinsics of the rendered image (pixel centres at integer coordinates)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def rays(self) -> np.ndarray:
        """H×W×3 ray directions with z = 1."""
        v, u = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        return np.dstack([(u - self.cx) / self.fx, (v - self.cy) / self.fy, np.ones_like(u)])

    def footprint(self, centre: np.ndarray, radius: float) -> tuple[slice, slice] | None:
        """Pixel rows and columns a sphere (camera frame) may cover; None if wholly behind the camera."""
        x, y, z = (float(c) for c in centre)
        if z + radius <= EPS:
            return None
        if z - radius <= 0.05:
            return slice(0, self.height), slice(0, self.width)
        zs = (z - radius, z + radius)
        us = [self.cx + self.fx * (x + sx * radius) / zz for sx in (-1, 1) for zz in zs]
        vs = [self.cy + self.fy * (y + sy * radius) / zz for sy in (-1, 1) for zz in zs]
        u0, u1 = max(int(np.floor(min(us))), 0), min(int(np.ceil(max(us))) + 1, self.width)
        v0, v1 = max(int(np.floor(min(vs))), 0), min(int(np.ceil(max(vs))) + 1, self.height)
        if u0 >= u1 or v0 >= v1:
            return None
        return slice(v0, v1), slice(u0, u1)


@dataclass
class Primitive:
    """A shape in camera coordinates: `kind` is box, ellipsoid, capsule or room (inside of a box)."""

    kind: str
    centre: np.ndarray
    axes: np.ndarray = field(default_factory=lambda: np.eye(3, dtype=np.float32))  # columns: local axes
    size: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))  # half sizes or radii
    end: np.ndarray | None = None  # capsule: the segment's other end (centre is the first)
    material: int = 0

    def bounding_radius(self) -> float:
        if self.kind == "capsule":
            return float(np.linalg.norm(self.end - self.centre) / 2 + self.size[0])
        return float(np.linalg.norm(self.size)) if self.kind != "ellipsoid" else float(np.max(self.size))

    def bounding_centre(self) -> np.ndarray:
        return (self.centre + self.end) / 2 if self.kind == "capsule" else self.centre


def _box(d: np.ndarray, p: Primitive, inside: bool) -> tuple[np.ndarray, np.ndarray]:
    """Slab test in the box frame: entry (or exit, seen from inside) distance and the face normal."""
    o = -(p.centre @ p.axes)
    dl = d @ p.axes
    dl = np.where(np.abs(dl) < EPS, EPS, dl)
    t1, t2 = (-p.size - o) / dl, (p.size - o) / dl
    near, far = np.minimum(t1, t2), np.maximum(t1, t2)
    t_in, t_out = near.max(axis=-1), far.min(axis=-1)
    if inside:
        t = np.where(t_out > EPS, t_out, np.inf)
        face = far.argmin(axis=-1)
        sign = np.sign(np.take_along_axis(dl, face[..., None], -1))[..., 0]
    else:
        t = np.where((t_out >= t_in) & (t_in > EPS), t_in, np.inf)
        face = near.argmax(axis=-1)
        sign = -np.sign(np.take_along_axis(dl, face[..., None], -1))[..., 0]
    normal = p.axes[:, face].transpose(*range(1, face.ndim + 1), 0) * sign[..., None]
    return t, normal


def _ellipsoid(d: np.ndarray, p: Primitive) -> tuple[np.ndarray, np.ndarray]:
    o = -(p.centre @ p.axes) / p.size
    dl = (d @ p.axes) / p.size
    a = (dl * dl).sum(-1)
    b = (o * dl).sum(-1)
    c = float(o @ o) - 1.0
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0))
    t = np.where(disc >= 0, (-b - root) / a, np.inf)
    t = np.where(t > EPS, t, np.inf)
    local = (o + t[..., None] * dl) / p.size
    return t, local @ p.axes.T


def _capsule(d: np.ndarray, p: Primitive) -> tuple[np.ndarray, np.ndarray]:
    r = float(p.size[0])
    ba = p.end - p.centre
    oa = -p.centre
    baba, baoa, oaoa = float(ba @ ba), float(ba @ oa), float(oa @ oa)
    dd, bard, rdoa = (d * d).sum(-1), d @ ba, d @ oa
    a = baba * dd - bard * bard
    b = baba * rdoa - baoa * bard
    c = baba * oaoa - baoa * baoa - r * r * baba
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t_body = (-b - np.sqrt(np.maximum(disc, 0))) / np.where(np.abs(a) < EPS, EPS, a)
    y = baoa + t_body * bard
    body = (disc >= 0) & (y > 0) & (y < baba)
    t = np.where(body, t_body, np.inf)
    for cap in (p.centre, p.end):
        oc = -cap
        bc, cc = d @ oc, float(oc @ oc) - r * r
        dc = bc * bc - dd * cc
        tc = np.where(dc >= 0, (-bc - np.sqrt(np.maximum(dc, 0))) / dd, np.inf)
        t = np.minimum(t, np.where(tc > EPS, tc, np.inf))
    t = np.where(t > EPS, t, np.inf)
    hit = t[..., None] * d
    along = np.clip(((hit - p.centre) @ ba) / baba, 0, 1)
    normal = (hit - p.centre - along[..., None] * ba) / r
    return t, normal


def intersect(d: np.ndarray, p: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """Distance (depth) to the first hit along each ray (inf on a miss) and the surface normal there."""
    if p.kind == "box":
        return _box(d, p, inside=False)
    if p.kind == "room":
        return _box(d, p, inside=True)
    if p.kind == "ellipsoid":
        return _ellipsoid(d, p)
    if p.kind == "capsule":
        return _capsule(d, p)
    raise ValueError(f"unknown primitive kind {p.kind!r}")


@dataclass
class Render:
    """Z-buffer result: depth (inf = nothing hit), unit normals and the material index per pixel."""

    depth: np.ndarray
    normal: np.ndarray
    material: np.ndarray


def render(camera: Pinhole, primitives: list[Primitive]) -> Render:
    """Cast every pixel's ray against every primitive; the nearest hit wins."""
    rays = camera.rays()
    h, w = camera.height, camera.width
    depth = np.full((h, w), np.inf, np.float32)
    normal = np.zeros((h, w, 3), np.float32)
    material = np.full((h, w), -1, np.int32)
    for p in primitives:
        window = (slice(0, h), slice(0, w)) if p.kind == "room" else camera.footprint(p.bounding_centre(), p.bounding_radius())
        if window is None:
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            t, n = intersect(rays[window], p)
        closer = t < depth[window]
        if not closer.any():
            continue
        depth[window] = np.where(closer, t, depth[window])
        normal[window] = np.where(closer[..., None], n, normal[window])
        material[window] = np.where(closer, p.material, material[window])
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    return Render(depth=depth, normal=normal / np.maximum(length, EPS), material=material)
