"""On-disk cache of compiled engines: keyed by everything that makes an engine valid, written atomically.

A TensorRT engine is only valid for the exact model weights, input shapes, precision, GPU and
TensorRT/torch-tensorrt versions it was built with; the key hashes all of them, so any change
gives a new file and the old one is never loaded by mistake. An engine is verified (parity with
PyTorch) before it is written; beside it a `.json` record holds its key fields and the SHA-256 of
its bytes, checked before every load: engines are executable artefacts, so a file that does not
match its record is deleted and rebuilt. Writers hold a lock file so two nodes starting together
build once and never interleave bytes.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from dsr_ros.atomic import write_atomic

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

    def to_list(self) -> list[list[int]]:
        return [list(self.min), list(self.opt), list(self.max)]

    @classmethod
    def from_list(cls, value: list[list[int]]) -> ShapeRange:
        return cls.ranged(*(tuple(v) for v in value))

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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
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
        verify: Callable[[T], None] | None = None,
    ) -> T:
        """The cached engine for `fields`; builds (once across processes) when missing, corrupt or tampered.

        A built engine is passed to `verify` before it is saved or returned; if that raises, nothing is written.
        """
        path = self.path_for(fields, stem)
        cached = self._try_load(path, fields, load)
        if cached is not None:
            return cached
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked(path):
            cached = self._try_load(path, fields, load)  # another process may have built it while we waited
            if cached is not None:
                return cached
            engine = build()
            if verify is not None:
                verify(engine)
            write_atomic(path, lambda tmp: save(engine, tmp))
            record = {"fields": fields, "sha256": file_sha256(path)}
            write_atomic(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(record, indent=1,
                                                                                          sort_keys=True)))
            log.info("saved engine to %s", path)
            return engine

    def covering(self, fields: dict[str, str], shape: tuple[int, ...], stem: str = "engine") -> ShapeRange | None:
        """The shape range of a recorded engine equal to `fields` but for its `shape` field that accepts `shape`."""
        for record_path in sorted(self.root.glob(f"{stem}-*.json")):
            try:
                recorded = json.loads(record_path.read_text())["fields"]
                shapes = ShapeRange.from_list(json.loads(recorded["shape_range"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            same = {k: v for k, v in recorded.items() if k not in ("shape", "shape_range")} == {
                k: v for k, v in fields.items() if k not in ("shape", "shape_range")}
            if same and shapes.contains(tuple(shape)):
                return shapes
        return None

    @staticmethod
    def _try_load(path: Path, fields: dict[str, str], load: Callable[[Path], T]) -> T | None:
        if not path.exists():
            return None
        problem = EngineCache._record_problem(path, fields)
        if problem is None:
            try:
                engine = load(path)
            except Exception as exc:  # noqa: BLE001 - any unreadable file means "rebuild", never "crash"
                problem = f"unreadable ({type(exc).__name__}: {exc})"
        if problem is not None:
            log.warning("cached engine %s is %s; rebuilding it", path, problem)
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)
            return None
        log.info("loaded cached engine %s", path)
        return engine

    @staticmethod
    def _record_problem(path: Path, fields: dict[str, str]) -> str | None:
        """Why the file may not be loaded (no record, other key, content changed), or None."""
        try:
            record = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            return "without a readable record of its key and content hash"
        if not isinstance(record, dict) or record.get("fields") != fields:
            return "recorded for another key"
        if record.get("sha256") != file_sha256(path):
            return "changed since it was verified (content hash mismatch)"
        return None

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
