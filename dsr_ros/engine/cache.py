"""On-disk cache of compiled engines: keyed by everything that makes an engine valid, written atomically.

A TensorRT engine is only valid for the exact model weights, input shapes, precision, GPU and
TensorRT/torch-tensorrt versions it was built with; the key hashes all of them, so any change
gives a new file and the old one is never loaded by mistake. Writers hold a lock file so two
nodes starting together build once and never interleave bytes.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

log = logging.getLogger("dsr_ros")
T = TypeVar("T")
Shape = tuple[int, int, int, int]


def default_cache_dir() -> Path:
    """$DSR_ROS_CACHE, else $XDG_CACHE_HOME/dsr_ros/engines, else ~/.cache/dsr_ros/engines."""
    if os.environ.get("DSR_ROS_CACHE"):
        return Path(os.environ["DSR_ROS_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dsr_ros" / "engines"


@dataclass(frozen=True)
class ShapeRange:
    """The N×1×h×w input shapes an engine accepts: one static shape, or TensorRT's min/opt/max profile."""

    min: Shape
    opt: Shape
    max: Shape

    @classmethod
    def static(cls, shape: tuple[int, ...]) -> ShapeRange:
        s = tuple(int(v) for v in shape)
        if len(s) != 4 or min(s) < 1:
            raise ValueError(f"an input shape must be N×C×H×W with every size >= 1, got {shape}")
        return cls(s, s, s)  # type: ignore[arg-type]

    @classmethod
    def ranged(cls, min_shape: tuple[int, ...], opt_shape: tuple[int, ...], max_shape: tuple[int, ...]) -> ShapeRange:
        """A dynamic profile; fails unless min <= opt <= max in every dimension."""
        lo, mid, hi = (cls.static(s).min for s in (min_shape, opt_shape, max_shape))
        if not all(a <= b <= c for a, b, c in zip(lo, mid, hi)):
            raise ValueError(f"shape range needs min <= opt <= max per dimension, got {lo}, {mid}, {hi}")
        return cls(lo, mid, hi)

    @property
    def is_static(self) -> bool:
        return self.min == self.max

    def contains(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == 4 and all(a <= s <= b for a, s, b in zip(self.min, shape, self.max))

    def tag(self) -> str:
        """A readable, filename-safe description, e.g. `1x1x60x80` or `1x1x32x32-1x1x60x80-1x1x120x160`."""
        text = ["x".join(map(str, s)) for s in (self.min, self.opt, self.max)]
        return text[0] if self.is_static else "-".join(text)


def model_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 over the model's config and every parameter/buffer (name, dtype, shape, bytes)."""
    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    digest.update(repr(config).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{name}:{tuple(t.shape)}".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def cache_key(fields: dict[str, str]) -> str:
    """Stable short hash of all key fields (order-independent)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


class EngineCache:
    """A directory of compiled engines: load when present and readable, else build, save and return."""

    def __init__(self, root: str | Path | None = None, suffix: str = ".ep") -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.suffix = suffix

    def path_for(self, fields: dict[str, str], stem: str = "engine") -> Path:
        return self.root / f"{stem}-{cache_key(fields)}{self.suffix}"

    def get_or_build(
        self,
        fields: dict[str, str],
        build: Callable[[], T],
        save: Callable[[T, Path], None],
        load: Callable[[Path], T],
        stem: str = "engine",
    ) -> T:
        """The cached engine for `fields`; builds (once across processes) when missing or corrupt."""
        path = self.path_for(fields, stem)
        cached = self._try_load(path, load)
        if cached is not None:
            return cached
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked(path):
            cached = self._try_load(path, load)  # another process may have built it while we waited
            if cached is not None:
                return cached
            engine = build()
            self._write_atomic(path, lambda tmp: save(engine, tmp))
            path.with_suffix(".json").write_text(json.dumps(fields, indent=1, sort_keys=True))
            log.info("saved engine to %s", path)
            return engine

    @staticmethod
    def _try_load(path: Path, load: Callable[[Path], T]) -> T | None:
        if not path.exists():
            return None
        try:
            engine = load(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file means "rebuild", never "crash"
            log.warning("cached engine %s is unreadable (%s: %s); rebuilding it", path, type(exc).__name__, exc)
            path.unlink(missing_ok=True)
            return None
        log.info("loaded cached engine %s", path)
        return engine

    @staticmethod
    @contextmanager
    def _locked(path: Path) -> Iterator[None]:
        """Exclusive advisory lock on `<path>.lock` (kept on disk: deleting lock files races)."""
        with open(path.with_suffix(path.suffix + ".lock"), "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another process is building %s; waiting for it", path.name)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
        """Write to a temporary file beside `path`, fsync, then rename over it: readers see old or new."""
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
        os.close(fd)
        tmp = Path(name)
        try:
            write(tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
