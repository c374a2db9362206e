"""Synthetic scenes v2: rooms, corridors, tabletops and yards of 3D primitives, ray cast in perspective.

Furniture with thin legs and slats, shelves with books, sofas and blobs, vases (surfaces of
revolution), tori, plants with branching stems, hanging cables, spoked wheels, fences and
clutter of 10-40 small objects, seen by a pinhole camera at a random 3D pose, depth 0.3-10 m
(nothing hit, or farther: NaN). RGB is shaded albedo: most depth edges are colour edges, posters
give colour edges without depth edges and camouflaged objects depth edges without colour edges.
Everything comes from one seeded generator, so a seed always renders the same scene.
"""
from __future__ import annotations

import numpy as np

from dsr_ros.train.raycast import Pinhole, Primitive, render
from dsr_ros.train.synthetic import Scene

MIN_DEPTH_M, MAX_DEPTH_M = 0.3, 10.0
LAYOUTS = ("room", "tabletop", "corridor", "yard")
TEXTURES = ("flat", "stripes", "checker", "grain")
SENSOR_WIDTH = 640  # scenes are windows of a camera this wide (pixels)
UP_TO_DOWN = np.diag([1.0, -1.0, 1.0]).astype(np.float32)  # world y is up, camera y is down


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """World rotation: yaw about +y (up), then pitch about +x, then roll about +z."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return (ry @ rx @ rz).astype(np.float32)


class Builder:
    """Collects world-frame primitives and materials; `camera_frame` moves them in front of a camera."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.primitives: list[Primitive] = []
        self.materials: list[dict] = []

    def material(self, like: int | None = None, dark: bool = False) -> int:
        """A new random material, or (camouflage) a copy of material `like`."""
        r = self.rng
        if like is not None:
            self.materials.append(dict(self.materials[like]))
        else:
            self.materials.append({"colour": r.uniform(0.08, 0.95, 3) * (0.25 if dark else 1.0),
                                   "texture": str(r.choice(TEXTURES, p=[0.4, 0.2, 0.15, 0.25])),
                                   "period": float(r.uniform(0.02, 0.3)), "axis": r.normal(size=3),
                                   "contrast": float(r.uniform(0.1, 0.5))})
        return len(self.materials) - 1

    def box(self, centre, half, mat: int, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> None:
        self.primitives.append(Primitive("box", np.asarray(centre, np.float32), rotation(yaw, pitch, roll),
                                         np.asarray(half, np.float32), material=mat))

    def ellipsoid(self, centre, radii, mat: int, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> None:
        self.primitives.append(Primitive("ellipsoid", np.asarray(centre, np.float32), rotation(yaw, pitch, roll),
                                         np.asarray(radii, np.float32), material=mat))

    def capsule(self, a, b, radius: float, mat: int) -> None:
        self.primitives.append(Primitive("capsule", np.asarray(a, np.float32), size=np.full(3, radius, np.float32),
                                         end=np.asarray(b, np.float32), material=mat))

    def room(self, lo, hi, mat: int) -> None:
        lo, hi = np.asarray(lo, np.float32), np.asarray(hi, np.float32)
        self.primitives.append(Primitive("room", (lo + hi) / 2, size=(hi - lo) / 2, material=mat))

    def camera_frame(self, position: np.ndarray, yaw: float, pitch: float, roll: float) -> list[Primitive]:
        """The primitives in camera coordinates (x right, y down, z forward); pitch < 0 looks down."""
        to_cam = UP_TO_DOWN @ rotation(yaw, -pitch, roll).T
        moved = []
        for p in self.primitives:
            moved.append(Primitive(p.kind, to_cam @ (p.centre - position), to_cam @ p.axes, p.size,
                                   None if p.end is None else to_cam @ (p.end - position), p.material))
        return moved


# ---- furniture and objects (world frame, y up, metres) ----

def table(b: Builder, x: float, z: float, yaw: float, height: float | None = None) -> float:
    """A table with four thin legs; returns the top's height."""
    r = b.rng
    h = height if height is not None else r.uniform(0.45, 0.8)
    w, d, th = r.uniform(0.5, 1.4), r.uniform(0.4, 0.9), r.uniform(0.015, 0.04)
    top, legs = b.material(), b.material()
    b.box((x, h - th, z), (w / 2, th, d / 2), top, yaw=yaw)
    leg = r.uniform(0.012, 0.035)
    rot = rotation(yaw)
    for sx in (-1, 1):
        for sz in (-1, 1):
            off = rot @ np.array([sx * (w / 2 - 2 * leg), 0, sz * (d / 2 - 2 * leg)])
            if r.random() < 0.5:
                b.box((x + off[0], (h - th) / 2, z + off[2]), (leg, (h - th) / 2, leg), legs, yaw=yaw)
            else:
                b.capsule((x + off[0], 0.0, z + off[2]), (x + off[0], h - 2 * th, z + off[2]), leg, legs)
    return h


def chair(b: Builder, x: float, z: float, yaw: float) -> None:
    """Seat, four legs and a back of vertical or horizontal slats."""
    r = b.rng
    mat, seat_h, w = b.material(), r.uniform(0.4, 0.5), r.uniform(0.38, 0.5)
    rot = rotation(yaw)
    leg = r.uniform(0.01, 0.022)
    b.box((x, seat_h, z), (w / 2, 0.02, w / 2), mat, yaw=yaw)
    for sx in (-1, 1):
        for sz in (-1, 1):
            off = rot @ np.array([sx * (w / 2 - leg), 0, sz * (w / 2 - leg)])
            b.capsule((x + off[0], 0.0, z + off[2]), (x + off[0], seat_h, z + off[2]), leg, mat)
    back = rot @ np.array([0, 0, w / 2])
    top = seat_h + r.uniform(0.35, 0.5)
    for sx in (-1, 1):
        off = rot @ np.array([sx * (w / 2 - leg), 0, w / 2])
        b.capsule((x + off[0], seat_h, z + off[2]), (x + off[0], top, z + off[2]), leg, mat)
    slats = int(r.integers(2, 7))
    if r.random() < 0.5:
        for i in range(slats):
            y = seat_h + (top - seat_h) * (i + 1) / (slats + 1)
            b.box((x + back[0], y, z + back[2]), (w / 2, r.uniform(0.008, 0.03), 0.01), mat, yaw=yaw)
    else:
        for i in range(slats):
            off = rot @ np.array([-w / 2 + w * (i + 1) / (slats + 1), 0, w / 2])
            b.box((x + off[0], (seat_h + top) / 2, z + off[2]), (0.01, (top - seat_h) / 2, 0.008), mat, yaw=yaw)


def shelf(b: Builder, x: float, z: float, yaw: float) -> None:
    """A bookcase: sides, boards and rows of books of random sizes."""
    r = b.rng
    mat, w, d, h = b.material(), r.uniform(0.6, 1.2), r.uniform(0.25, 0.4), r.uniform(0.8, 2.0)
    rot = rotation(yaw)
    for sx in (-1, 1):
        off = rot @ np.array([sx * w / 2, 0, 0])
        b.box((x + off[0], h / 2, z + off[2]), (0.012, h / 2, d / 2), mat, yaw=yaw)
    boards = int(r.integers(3, 6))
    for i in range(boards):
        y = h * i / (boards - 1)
        b.box((x, y, z), (w / 2, 0.012, d / 2), mat, yaw=yaw)
        if i == boards - 1:
            break
        u = -w / 2 + 0.02
        while u < w / 2 - 0.05:
            bw, bh = r.uniform(0.015, 0.06), r.uniform(0.12, 0.9 * h / (boards - 1))
            off = rot @ np.array([u + bw / 2, 0, r.uniform(-0.03, 0.03)])
            b.box((x + off[0], y + bh / 2 + 0.012, z + off[2]), (bw / 2, bh / 2, d * r.uniform(0.3, 0.48)),
                  b.material(), yaw=yaw)
            u += bw + r.uniform(0.0, 0.03)


def sofa(b: Builder, x: float, z: float, yaw: float) -> None:
    """A sofa or armchair of rounded blobs: base, back, arms and cushions."""
    r = b.rng
    mat, w, d = b.material(), r.uniform(0.8, 2.2), r.uniform(0.7, 0.95)
    rot = rotation(yaw)
    b.ellipsoid((x, 0.25, z), (w / 2, 0.2, d / 2), mat, yaw=yaw)
    back = rot @ np.array([0, 0, d / 2 - 0.1])
    b.ellipsoid((x + back[0], 0.6, z + back[2]), (w / 2, 0.3, 0.14), mat, yaw=yaw, pitch=r.uniform(-0.2, 0.1))
    for sx in (-1, 1):
        arm = rot @ np.array([sx * w / 2, 0, 0])
        b.ellipsoid((x + arm[0], 0.45, z + arm[2]), (0.12, 0.2, d / 2), mat, yaw=yaw)
    for _ in range(int(r.integers(0, 4))):
        off = rot @ np.array([r.uniform(-w / 3, w / 3), 0, d / 2 - 0.25])
        b.ellipsoid((x + off[0], 0.58, z + off[2]), (r.uniform(0.15, 0.25), r.uniform(0.12, 0.2), 0.08), b.material(),
                    yaw=yaw + r.uniform(-0.4, 0.4), roll=r.uniform(-0.5, 0.5))


def lamp(b: Builder, x: float, z: float) -> None:
    """A floor lamp: base, thin pole, shade."""
    r = b.rng
    mat, h = b.material(), r.uniform(1.2, 1.8)
    b.ellipsoid((x, 0.02, z), (0.15, 0.03, 0.15), mat)
    b.capsule((x, 0.0, z), (x, h, z), r.uniform(0.006, 0.015), mat)
    b.ellipsoid((x, h, z), (0.2, r.uniform(0.1, 0.2), 0.2), b.material())


def plant(b: Builder, x: float, y: float, z: float, scale: float = 1.0) -> None:
    """A pot with branching stems (3-15 mm) and small leaves."""
    r = b.rng
    pot_r = r.uniform(0.06, 0.15) * scale
    b.capsule((x, y, z), (x, y + 1.5 * pot_r, z), pot_r, b.material())
    stems(b, np.array([x, y + 2.5 * pot_r, z], np.float32), scale)


def stems(b: Builder, base: np.ndarray, scale: float = 1.0) -> None:
    """One to three stems (3-15 mm) from `base`, branching two or three times, with small leaves."""
    r = b.rng
    stem, leaf = b.material(), b.material()

    def branch(start: np.ndarray, direction: np.ndarray, length: float, radius: float, depth: int) -> None:
        end = start + direction * length
        b.capsule(start, end, radius, stem)
        if depth == 0 or radius < 0.0015:
            b.ellipsoid(end, (0.04 * scale, 0.008, 0.025 * scale), leaf, yaw=r.uniform(0, 6.3), pitch=r.uniform(-0.6, 0.6))
            return
        for _ in range(int(r.integers(2, 4))):
            d = direction + r.normal(0, 0.5, 3)
            d[1] = abs(d[1]) + 0.2
            branch(end, d / np.linalg.norm(d), length * r.uniform(0.5, 0.8), radius * 0.7, depth - 1)

    for _ in range(int(r.integers(1, 4))):
        d = np.array([r.normal(0, 0.3), 1.0, r.normal(0, 0.3)])
        branch(base, d / np.linalg.norm(d), r.uniform(0.15, 0.4) * scale, r.uniform(0.003, 0.0075), int(r.integers(2, 4)))


def cable(b: Builder, a: np.ndarray, c: np.ndarray, sag: float) -> None:
    """A hanging cable: a sagging chain of thin capsules between two points."""
    r = b.rng
    mat, radius, n = b.material(), r.uniform(0.002, 0.008), 12
    pts = [a + (c - a) * t + np.array([0, -sag * 4 * t * (1 - t), 0]) for t in np.linspace(0, 1, n + 1)]
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        b.capsule(p, q, radius, mat)


def ring(b: Builder, centre: np.ndarray, radius: float, tube: float, yaw: float, pitch: float, mat: int,
         spokes: int = 0) -> None:
    """A torus (as a ring of capsules), optionally a spoked wheel with a hub."""
    rot = rotation(yaw, pitch)
    n = 18
    pts = [centre + rot @ np.array([radius * np.cos(a), radius * np.sin(a), 0]) for a in np.linspace(0, 2 * np.pi, n + 1)]
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        b.capsule(p, q, tube, mat)
    if spokes:
        hub = b.material()
        b.ellipsoid(centre, (0.03, 0.03, 0.05), hub, yaw=yaw, pitch=pitch)
        for a in np.linspace(0, 2 * np.pi, spokes, endpoint=False):
            b.capsule(centre, centre + rot @ np.array([radius * np.cos(a), radius * np.sin(a), 0]), 0.0015, hub)


def bicycle(b: Builder, x: float, z: float, yaw: float) -> None:
    """Two spoked wheels and a frame of tubes."""
    r = b.rng
    rad, mat = r.uniform(0.3, 0.36), b.material()
    rot = rotation(yaw)
    front, back = (np.array([x, rad, z]) + rot @ np.array([s * 0.55, 0, 0]) for s in (1, -1))
    for c in (front, back):
        ring(b, c, rad, 0.018, yaw, 0.0, b.material(dark=True), spokes=int(r.integers(12, 33)))
    seat = back + rot @ np.array([0.35, 0.45, 0])
    head = front + rot @ np.array([-0.1, 0.5, 0])
    crank = (front + back) / 2 + np.array([0, -0.05, 0])
    for p, q in ((back, seat), (seat, crank), (crank, back), (seat, head), (head, crank), (head, front)):
        b.capsule(p, q, 0.015, mat)


def fence(b: Builder, z: float, width: float, yaw: float) -> None:
    """Pickets or bars on two rails across the view."""
    r = b.rng
    mat, h, gap = b.material(), r.uniform(0.8, 1.8), r.uniform(0.06, 0.2)
    picket = r.uniform(0.01, 0.05)
    rot = rotation(yaw)
    for u in np.arange(-width / 2, width / 2, gap):
        p = rot @ np.array([u, 0, 0]) + np.array([0, 0, z])
        b.box((p[0], h / 2, p[2]), (picket, h / 2, 0.01), mat, yaw=yaw)
    for y in (0.25 * h, 0.8 * h):
        centre = np.array([0, y, z])
        b.box(centre, (width / 2, 0.03, 0.015), mat, yaw=yaw)


def vase(b: Builder, x: float, y: float, z: float, size: float) -> None:
    """A surface of revolution: a stack of discs whose radii follow a smooth random profile."""
    r = b.rng
    mat, n = b.material(), 7
    k = r.uniform(1, 3)
    for i in range(n):
        t = i / (n - 1)
        radius = size * (0.35 + 0.35 * np.sin(np.pi * t * k / 2 + r.uniform(0, 0.2)) ** 2)
        b.ellipsoid((x, y + size * 2 * t + size * 0.15, z), (radius, size * 0.22, radius), mat)


def blob(b: Builder, centre: np.ndarray, size: float) -> None:
    """An organic shape: overlapping ellipsoids around a centre."""
    r = b.rng
    mat = b.material()
    for _ in range(int(r.integers(3, 7))):
        b.ellipsoid(centre + r.normal(0, size / 2, 3), r.uniform(0.4, 1.0, 3) * size, mat,
                    yaw=r.uniform(0, 6.3), pitch=r.uniform(-1, 1))


def clutter(b: Builder, lo: np.ndarray, hi: np.ndarray, y: float, count: int, size: tuple[float, float],
            behind: int | None = None) -> None:
    """`count` small objects standing on a surface at height y inside [lo, hi] (x, z)."""
    r = b.rng
    for _ in range(count):
        x, z = r.uniform(lo[0], hi[0]), r.uniform(lo[1], hi[1])
        s = r.uniform(*size)
        mat = b.material(like=behind) if behind is not None and r.random() < 0.1 else b.material(dark=r.random() < 0.15)
        kind = r.choice(["box", "ball", "bottle", "cup", "torus", "book", "vase", "fruit"])
        if kind in ("box", "book"):
            half = (s, s * r.uniform(0.2, 1.0), s * r.uniform(0.5, 1.5)) if kind == "box" else (s, s * 0.15, s * 0.7)
            b.box((x, y + half[1], z), half, mat, yaw=r.uniform(0, 6.3),
                  roll=0.0 if r.random() < 0.7 else r.uniform(-0.6, 0.6))
        elif kind in ("ball", "fruit"):
            rad = s * (0.6 if kind == "ball" else r.uniform(0.3, 0.5))
            b.ellipsoid((x, y + rad, z), (rad, rad * r.uniform(0.8, 1.1), rad), mat)
        elif kind in ("bottle", "cup"):
            rad = s * (0.25 if kind == "bottle" else 0.35)
            height = s * (2.5 if kind == "bottle" else 0.8)
            b.capsule((x, y + rad, z), (x, y + height, z), rad, mat)
        elif kind == "torus":
            ring(b, np.array([x, y + s * 0.2, z]), s * 0.5, s * 0.15, r.uniform(0, 6.3), np.pi / 2 * r.uniform(0.6, 1.0), mat)
        else:
            vase(b, x, y, z, s * 0.6)


def posters(b: Builder, wall_z: float, xs: tuple[float, float], ys: tuple[float, float]) -> None:
    """Flat pictures on a wall: colour edges with (almost) no depth edge."""
    r = b.rng
    for _ in range(int(r.integers(0, 4))):
        w, h = r.uniform(0.2, 1.0), r.uniform(0.2, 0.8)
        b.box((r.uniform(*xs), r.uniform(*ys), wall_z - 0.002), (w / 2, h / 2, 0.002), b.material())


# ---- layouts: each fills the builder and returns the camera pose (position, yaw, pitch, roll) ----

Pose = tuple[np.ndarray, float, float, float]


def _room_box(b: Builder, width: float, depth: float, height: float) -> int:
    wall = b.material()
    b.room((-width / 2, 0.0, -1.0), (width / 2, height, depth), wall)
    b.box((0, -0.05, depth / 2), (width / 2, 0.05, depth / 2 + 1), b.material())  # floor, its own colour
    posters(b, depth, (-width / 3, width / 3), (0.8, 2.0))
    return wall


def _furnish(b: Builder, width: float, depth: float, count: int, wall: int) -> None:
    r = b.rng
    kinds = ["table", "chair", "shelf", "sofa", "lamp", "plant", "bicycle", "blob", "cabinet", "radiator"]
    for _ in range(count):
        kind = r.choice(kinds)
        x, z, yaw = r.uniform(-width / 2 + 0.5, width / 2 - 0.5), r.uniform(1.0, depth - 0.4), r.uniform(-3.2, 3.2)
        if kind == "table":
            h = table(b, x, z, yaw)
            clutter(b, np.array([x - 0.3, z - 0.2]), np.array([x + 0.3, z + 0.2]), h, int(r.integers(0, 8)), (0.03, 0.1))
        elif kind == "chair":
            chair(b, x, z, yaw)
        elif kind == "shelf":
            shelf(b, x, depth - 0.2, 0.0)
        elif kind == "sofa":
            sofa(b, x, z, yaw)
        elif kind == "lamp":
            lamp(b, x, z)
        elif kind == "plant":
            plant(b, x, 0.0, z)
        elif kind == "bicycle":
            bicycle(b, x, z, yaw)
        elif kind == "blob":
            blob(b, np.array([x, 0.3, z]), r.uniform(0.15, 0.35))
        elif kind == "cabinet":
            half = (r.uniform(0.2, 0.6), r.uniform(0.3, 0.9), r.uniform(0.2, 0.35))
            b.box((x, half[1], depth - half[2]), half, b.material(like=wall) if r.random() < 0.3 else b.material())
        else:
            for i in range(int(r.integers(6, 20))):
                b.box((x + i * 0.04, 0.45, depth - 0.06), (0.008, 0.3, 0.03), b.material() if i == 0 else len(b.materials) - 1)
    if r.random() < 0.7:
        a = np.array([r.uniform(-width / 2, width / 2), r.uniform(1.5, 2.4), r.uniform(1, depth)])
        c = np.array([r.uniform(-width / 2, width / 2), r.uniform(0.2, 2.4), r.uniform(1, depth)])
        cable(b, a, c, r.uniform(0.05, 0.6))


def room(b: Builder) -> Pose:
    r = b.rng
    width, depth, height = r.uniform(3, 7), r.uniform(3, 9), r.uniform(2.4, 3.0)
    wall = _room_box(b, width, depth, height)
    _furnish(b, width, depth, int(r.integers(4, 12)), wall)
    clutter(b, np.array([-width / 2, 1.0]), np.array([width / 2, depth]), 0.0, int(r.integers(5, 25)), (0.05, 0.2), wall)
    return np.array([r.uniform(-width / 4, width / 4), r.uniform(0.4, 1.7), r.uniform(-0.8, 0.2)]), \
        r.uniform(-0.5, 0.5), r.uniform(-0.45, 0.1), r.uniform(-0.08, 0.08)


def tabletop(b: Builder) -> Pose:
    r = b.rng
    width, depth = r.uniform(2.5, 5), r.uniform(2.5, 5)
    _room_box(b, width, depth, 2.6)
    z0 = r.uniform(1.2, 2.0)
    h = table(b, 0.0, z0, r.uniform(-0.3, 0.3), height=r.uniform(0.7, 0.9))
    top = b.material()
    b.box((0.0, h - 0.01, z0), (1.0, 0.01, 0.6), top)
    clutter(b, np.array([-0.6, z0 - 0.4]), np.array([0.6, z0 + 0.4]), h, int(r.integers(10, 41)), (0.02, 0.1), top)
    if r.random() < 0.5:
        plant(b, r.uniform(-0.6, 0.6), h, z0 + r.uniform(-0.3, 0.3), scale=0.6)
    _furnish(b, width, depth, int(r.integers(1, 4)), top)
    dist = r.uniform(0.5, 1.3)
    pitch = -r.uniform(0.35, 0.9)
    position = np.array([r.uniform(-0.3, 0.3), h + dist * np.sin(-pitch), z0 - dist * np.cos(pitch)])
    return position, r.uniform(-0.3, 0.3), pitch, r.uniform(-0.1, 0.1)


def corridor(b: Builder) -> Pose:
    r = b.rng
    width, depth, height = r.uniform(1.4, 2.6), r.uniform(10, 20), r.uniform(2.3, 2.8)
    wall = b.material()
    b.room((-width / 2, 0.0, -1.0), (width / 2, height, depth), wall)
    for z in np.arange(r.uniform(1, 3), depth, r.uniform(2, 5)):  # door frames and recesses
        side = r.choice([-1, 1])
        b.box((side * width / 2, 1.05, z), (0.06, 1.05, 0.5), b.material(like=wall) if r.random() < 0.4 else b.material())
    for _ in range(int(r.integers(1, 4))):
        a = np.array([r.uniform(-width / 2, width / 2), height - 0.1, r.uniform(0, depth)])
        cable(b, a, a + np.array([r.uniform(-0.5, 0.5), 0, r.uniform(1, 4)]), r.uniform(0.05, 0.4))
    _furnish(b, width, min(depth, 8), int(r.integers(1, 5)), wall)
    clutter(b, np.array([-width / 2, 0.5]), np.array([width / 2, depth]), 0.0, int(r.integers(3, 12)), (0.05, 0.25), wall)
    return np.array([r.uniform(-width / 4, width / 4), r.uniform(0.5, 1.7), r.uniform(-0.8, 0.0)]), \
        r.uniform(-0.35, 0.35), r.uniform(-0.25, 0.1), r.uniform(-0.05, 0.05)


def yard(b: Builder) -> Pose:
    r = b.rng
    ground = b.material()
    b.box((0, -0.05, 10), (15, 0.05, 12), ground)
    fence(b, r.uniform(3, 8), 14, r.uniform(-0.3, 0.3))
    for _ in range(int(r.integers(2, 7))):
        x, z = r.uniform(-3, 3), r.uniform(1.2, 7)
        kind = r.choice(["bicycle", "plant", "blob", "pole", "table", "chair"])
        if kind == "bicycle":
            bicycle(b, x, z, r.uniform(-3.2, 3.2))
        elif kind == "plant":
            plant(b, x, 0.0, z, scale=r.uniform(1.0, 2.5))
        elif kind == "blob":
            blob(b, np.array([x, 0.4, z]), r.uniform(0.25, 0.6))
        elif kind == "pole":
            b.capsule((x, 0.0, z), (x, r.uniform(1.5, 3.5), z), r.uniform(0.01, 0.06), b.material())
        elif kind == "table":
            table(b, x, z, r.uniform(-3.2, 3.2))
        else:
            chair(b, x, z, r.uniform(-3.2, 3.2))
    clutter(b, np.array([-3, 1]), np.array([3, 7]), 0.0, int(r.integers(3, 15)), (0.05, 0.3), ground)
    return np.array([r.uniform(-1, 1), r.uniform(0.5, 1.7), 0.0]), r.uniform(-0.4, 0.4), r.uniform(-0.3, 0.05), \
        r.uniform(-0.05, 0.05)


LAYOUT_BUILDERS = {"room": room, "tabletop": tabletop, "corridor": corridor, "yard": yard}

# ---- thin dressing: extra sub-pixel structures placed in view, in front of whatever is behind ----

THIN_KINDS = ("sticks", "pole", "cable", "bars", "branches")
PROBE_SIZE = (24, 32)  # rows, columns of the low-resolution probe render that finds the background depth


def _view_anchors(primitives: list[Primitive], count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` camera-frame points inside the sensor's view, each 10-70 % of the way to the surface behind it."""
    rows, cols = PROBE_SIZE
    f = 0.95 * cols
    probe = render(Pinhole(f, f, (cols - 1) / 2, (rows - 1) / 2, cols, rows), primitives).depth
    far = np.where(np.isfinite(probe), probe, MAX_DEPTH_M)
    v, u = rng.integers(0, rows, count), rng.integers(0, cols, count)
    z = np.maximum(MIN_DEPTH_M + 0.1, far[v, u] * rng.uniform(0.3, 0.9, count))
    return np.stack([(u - (cols - 1) / 2) / f * z, (v - (rows - 1) / 2) / f * z, z], axis=1)


def thin_dressing(b: Builder, pose: Pose, count: int) -> None:
    """Add `count` thin structures (stick bundles, poles, cables, bars, branches) where the camera sees them.

    Real rooms hold far more structure narrower than a low-resolution pixel than the layouts alone
    place in view, and that is where super-resolution error concentrates; this dressing raises its share.
    """
    rng = b.rng
    position, yaw, pitch, roll = pose
    to_world = (UP_TO_DOWN @ rotation(yaw, -pitch, roll).T).T
    anchors = _view_anchors(b.camera_frame(position, yaw, pitch, roll), count, rng)
    up = np.array([0.0, 1.0, 0.0])
    side = to_world @ np.array([1.0, 0.0, 0.0])
    for cam_point in anchors:
        p = position + to_world @ cam_point
        kind = rng.choice(THIN_KINDS)
        mat = b.material(dark=rng.random() < 0.3)
        if kind == "sticks":  # a reed diffuser, pencils in a cup, a bunch of twigs
            b.capsule(p - up * 0.08, p, rng.uniform(0.02, 0.06), mat)
            stick = b.material()
            for _ in range(int(rng.integers(3, 13))):
                d = up + rng.normal(0, 0.25, 3)
                b.capsule(p, p + d / np.linalg.norm(d) * rng.uniform(0.15, 0.6), rng.uniform(0.0015, 0.005), stick)
        elif kind == "pole":
            b.capsule(p - up * rng.uniform(0.0, 2.0), p + up * rng.uniform(0.3, 2.0), rng.uniform(0.004, 0.03), mat)
        elif kind == "cable":
            far_end = p + side * rng.uniform(-1.5, 1.5) + up * rng.uniform(-0.8, 0.8) + rng.normal(0, 0.3, 3)
            cable(b, p, far_end, rng.uniform(0.0, 0.4))
        elif kind == "bars":  # railings, blinds, grids, radiator fins
            vertical = rng.random() < 0.6
            along, across = (up, side) if vertical else (side, up)
            spacing, half = rng.uniform(0.02, 0.12), rng.uniform(0.002, 0.012)
            length = rng.uniform(0.3, 1.5)
            for i in range(int(rng.integers(4, 21))):
                c = p + across * spacing * i
                b.capsule(c - along * length / 2, c + along * length / 2, half, mat)
        else:
            stems(b, p - up * 0.2, scale=float(rng.uniform(0.6, 1.5)))


def _albedo(b: Builder, material: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Per-pixel colour from each material's base colour and texture (in camera coordinates)."""
    h, w = material.shape
    out = np.zeros((h, w, 3), np.float32)
    grain = b.rng.normal(0, 1, (h, w)).astype(np.float32)
    for index in np.unique(material):
        if index < 0:
            continue
        m = b.materials[index]
        sel = material == index
        p = points[sel]
        coord = p @ (m["axis"] / np.linalg.norm(m["axis"])).astype(np.float32) / m["period"]
        if m["texture"] == "stripes":
            mod = np.sin(2 * np.pi * coord)
        elif m["texture"] == "checker":
            cells = np.floor(p / m["period"]).astype(np.int64).sum(axis=1)
            mod = (cells % 2) * 2.0 - 1.0
        elif m["texture"] == "grain":
            mod = 0.5 * grain[sel]
        else:
            mod = np.zeros(len(p), np.float32)
        out[sel] = m["colour"] * (1.0 + m["contrast"] * 0.5 * mod)[:, None]
    return out


def render_scene3d(rng: np.random.Generator, height: int, width: int, layout: str | None = None,
                   sensor_width: int = SENSOR_WIDTH, thin_items: int = 0) -> Scene:
    """One v2 scene: depth in metres (NaN where nothing in 0.3-10 m was hit) and shaded RGB in [0, 1].

    The image is a height×width window at a random place of a sensor_width×(3/4 sensor_width) camera
    with a focal length of 0.8-1.1 sensor widths (like 640x480 depth cameras, f = 500-700 px), so a
    small render has the pixel scale of a real frame's crop rather than a shrunken whole view.
    `thin_items` > 0 adds between half that many and that many thin structures in view (`thin_dressing`),
    drawn from a spawned generator so the rest of the scene is the one `thin_items=0` renders.
    """
    b = Builder(rng)
    layout = layout or str(rng.choice(LAYOUTS, p=[0.4, 0.3, 0.15, 0.15]))
    position, yaw, pitch, roll = LAYOUT_BUILDERS[layout](b)
    if thin_items > 0:
        b.rng = rng.spawn(1)[0]
        thin_dressing(b, (position, yaw, pitch, roll), int(b.rng.integers(thin_items // 2, thin_items + 1)))
        b.rng = rng
    full_w, full_h = max(sensor_width, width), max(sensor_width * 3 // 4, height)
    f = rng.uniform(0.8, 1.1) * full_w
    left, top = rng.uniform(0, full_w - width), rng.uniform(0, full_h - height)
    camera = Pinhole(f, f, (full_w - 1) / 2 - left, (full_h - 1) / 2 - top, width, height)
    result = render(camera, b.camera_frame(position.astype(np.float32), yaw, pitch, roll))
    depth = result.depth
    depth[(depth < MIN_DEPTH_M) | (depth > MAX_DEPTH_M) | ~np.isfinite(depth)] = np.nan
    points = camera.rays() * np.nan_to_num(depth)[..., None]
    light = rng.normal(0, 0.5, 3).astype(np.float32) + np.array([0, -0.8, -1.0], np.float32)
    light /= np.linalg.norm(light)
    shade = 0.3 + 0.7 * np.clip(-(result.normal @ light), 0, 1)
    rgb = _albedo(b, result.material, points) * shade[..., None]
    rgb[np.isnan(depth)] = np.array([0.75, 0.85, 0.95], np.float32) * rng.uniform(0.6, 1.0)  # sky, or out of range
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    return Scene(depth=depth.astype(np.float32), rgb=np.clip(rgb, 0, 1).astype(np.float32))


def scene3d_for_seed(seed: int, height: int, width: int, thin_items: int = 0) -> Scene:
    """A reproducible v2 scene: the same seed (and thin_items) always renders the same depth and RGB."""
    return render_scene3d(np.random.default_rng(seed), height, width, thin_items=thin_items)
