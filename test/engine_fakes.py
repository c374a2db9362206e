"""Test helpers: tiny DSRNets and a stand-in for torch-tensorrt (which cannot run without a GPU)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from dsr_ros.engine.cache import ShapeRange
from dsr_ros.net import DSRNet, DSRNetConfig


def tiny_net(scale: int = 2, seed: int = 0) -> DSRNet:
    """A DSRNet small enough for 2 shared CPU cores."""
    torch.manual_seed(seed)
    return DSRNet(DSRNetConfig(scale=scale, features=4, shallow=4, units=1)).eval()


class FakeToolkit:
    """Stands in for torch_tensorrt only: 'compiles' to the module itself, saves weights as safetensors."""

    def __init__(self, gpu: str = "FakeGPU sm_87", versions: dict[str, str] | None = None) -> None:
        self.gpu = gpu
        self._versions = versions or {"torch": "2.13", "torch_tensorrt": "2.13.0", "tensorrt": "10.13"}
        self.compiled: list[tuple[str, torch.dtype]] = []
        self.loaded: list[Path] = []

    def versions(self) -> dict[str, str]:
        return dict(self._versions)

    def device_name(self, device: torch.device) -> str:
        return self.gpu

    def compile(self, model: torch.nn.Module, shapes: ShapeRange, dtype: torch.dtype) -> torch.nn.Module:
        self.compiled.append((shapes.tag(), dtype))
        return model

    def save(self, module: torch.nn.Module, path: Path, shapes: ShapeRange, dtype: torch.dtype,
             device: torch.device) -> None:
        state = {k: v.contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(path), metadata={"config": json.dumps(module.config.to_dict())})

    def load(self, path: Path) -> torch.nn.Module:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as handle:
            config = json.loads(handle.metadata()["config"])
        model = DSRNet(DSRNetConfig(**config))
        state = load_file(str(path))
        model.load_state_dict(state)
        self.loaded.append(path)
        return model.to(next(iter(state.values())).dtype).eval()
