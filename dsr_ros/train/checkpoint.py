"""Atomic training checkpoints without pickle: tensors in safetensors, the rest as JSON.

A nested state (model, optimiser, scheduler, RNG, counters) is flattened: every tensor goes
into the safetensors body under its path, and the JSON skeleton keeps a reference to it.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

SKELETON_KEY = "checkpoint_state"
_REF = "__tensor__"


class CheckpointError(RuntimeError):
    """A checkpoint is missing or unreadable."""


def _flatten(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous()
        return {_REF: path}
    if isinstance(value, dict):
        return {"__dict__": [[_flatten(k, f"{path}.k{i}", tensors), _flatten(v, f"{path}.{i}", tensors)]
                             for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, (list, tuple)):
        return {"__list__": [_flatten(v, f"{path}.{i}", tensors) for i, v in enumerate(value)],
                "tuple": isinstance(value, tuple)}
    return value


def _unflatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict) and _REF in value:
        return tensors[value[_REF]]
    if isinstance(value, dict) and "__dict__" in value:
        return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in value["__dict__"]}
    if isinstance(value, dict) and "__list__" in value:
        items = [_unflatten(v, tensors) for v in value["__list__"]]
        return tuple(items) if value["tuple"] else items
    return value


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Write `state` to `path` atomically: a killed run leaves the previous checkpoint intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "s", tensors)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={SKELETON_KEY: json.dumps(skeleton)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by `save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            skeleton = json.loads((handle.metadata() or {})[SKELETON_KEY])
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from None
    return _unflatten(skeleton, tensors)
