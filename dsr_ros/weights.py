"""Weight files: safetensors with a JSON model card in the metadata; validation; shipped models.

safetensors is used because a weight file must never be able to run code (no pickle anywhere).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from dsr_ros.atomic import write_atomic
from dsr_ros.depth import NORMALISATION
from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.net.dsrnet import FeatureNet

CARD_KEY = "model_card"
FORMAT_KEY = "format"
FORMAT = "dsr_ros.weights/1"
DEFAULT_VARIANT = "lite"
PACKAGE_DIR = Path(__file__).resolve().parent


class WeightsError(ValueError):
    """A weight file is missing, corrupt, or holds a different model than expected."""


@dataclass
class ModelCard:
    """What a weight file holds and how it was made; travels inside the file."""

    architecture: str
    config: dict
    normalisation: dict = field(default_factory=lambda: dict(NORMALISATION))
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    commit: str = "unknown"
    #: The one input kind it was trained on (a specialist, loaded when the node is told that kind); "": a mix.
    specialist_kind: str = ""
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def scale(self) -> int:
        return int(self.config["scale"])

    @property
    def variant(self) -> str:
        return str(self.config.get("variant", "custom"))

    @property
    def mask_input(self) -> bool:
        """Whether the network takes the LR validity mask as a second input channel (cards before it: no)."""
        return bool(self.config.get("mask_input", False))

    @property
    def rgb_guided(self) -> bool:
        """Whether the network needs the registered colour image beside the depth (cards before it: no)."""
        return bool(self.config.get("rgb_guide", 0))

    @property
    def input_kinds(self) -> tuple[str, ...]:
        """The input kinds the network can be told (net/input_kind.py); cards before it: none."""
        return tuple(self.config.get("input_kinds", ()))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        data = json.loads(text)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def card_for(model: FeatureNet, **fields: object) -> ModelCard:
    """A model card describing a DSRNet instance (a cascade is a DSRNet whose config has cascade > 1)."""
    return ModelCard(architecture="DSRNet", config=model.config.to_dict(), **fields)


def save_model(path: str | Path, model: torch.nn.Module, card: ModelCard) -> Path:
    """Write weights + card atomically (temp file, then rename) so readers never see half a file."""
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    metadata = {CARD_KEY: card.to_json(), FORMAT_KEY: FORMAT}
    return write_atomic(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_card(path: str | Path) -> ModelCard:
    """The model card of a weight file, without loading tensors."""
    return _read(Path(path), tensors=False)[1]


def _read_header(path: Path) -> tuple[dict[str, tuple[int, ...]], ModelCard]:
    """Tensor names and shapes from the file's header, and its card; no tensor data is read."""
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors weight file (truncated or corrupt?): {exc}") from None
    return shapes, _read(path, tensors=False)[1]


def _read(path: Path, tensors: bool) -> tuple[dict[str, torch.Tensor], ModelCard]:
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()} if tensors else {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors weight file (truncated or corrupt?): {exc}") from None
    if CARD_KEY not in metadata:
        raise WeightsError(f"{path} has no dsr_ros model card in its metadata; was it written by dsr_ros?")
    try:
        card = ModelCard.from_json(metadata[CARD_KEY])
    except (json.JSONDecodeError, TypeError) as exc:
        raise WeightsError(f"{path} has an unreadable model card: {exc}") from None
    return state, card


#: The most a weight file's card may ask for: a crafted card must not make the loader allocate gigabytes.
MAX_PARAMETERS = 50_000_000


def _config(card: ModelCard) -> DSRNetConfig:
    """The card's DSRNet hyper-parameters, checked; fails naming the card's values."""
    if card.architecture != "DSRNet":
        raise WeightsError(f"architecture mismatch: expected DSRNet, found {card.architecture!r}")
    try:
        config = DSRNetConfig(**card.config)
        if not all(isinstance(getattr(config, k), int) for k in ("scale", "features", "shallow", "units", "cascade",
                                                                   "rgb_guide")):
            raise TypeError("scale, features, shallow, units, cascade and rgb_guide must be integers")
        if not isinstance(config.mask_input, bool) or not isinstance(config.kind_dense, bool):
            raise TypeError("mask_input and kind_dense must be true or false")
        with torch.device("meta"):  # shapes only: nothing is allocated, whatever the card asks for
            build_dsrnet(config)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"model card config is invalid for DSRNet: {card.config} ({exc})") from None
    return config


def expected_shapes(config: DSRNetConfig) -> dict[str, tuple[int, ...]]:
    """Name and shape of every tensor a DSRNet of this config holds (built on the meta device)."""
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in build_dsrnet(config).state_dict().items()}


def build_model(card: ModelCard) -> FeatureNet:
    """An untrained network of the card's architecture and hyper-parameters (a DSRNet or a cascade of them)."""
    return build_dsrnet(_config(card))


def _check_header(path: Path, card: ModelCard, shapes: dict[str, tuple[int, ...]]) -> None:
    """The file's tensors (names and shapes from its header) are exactly what the card's network holds."""
    expected = expected_shapes(_config(card))
    size = sum(int(torch.Size(s).numel()) for s in expected.values())
    if size > MAX_PARAMETERS:
        raise WeightsError(f"{path}: the model card asks for {size / 1e6:.0f} M parameters, more than the "
                           f"{MAX_PARAMETERS / 1e6:.0f} M a dsr_ros model may have: {card.config}")
    missing, unexpected = sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: tensors do not match the card's {card.architecture} {card.config}: "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})"
        )
    wrong = [k for k in expected if expected[k] != shapes[k]]
    if wrong:
        k = wrong[0]
        raise WeightsError(f"{path}: tensor shapes do not match the model card: {k} is {list(shapes[k])}, "
                           f"the card's network needs {list(expected[k])} ({len(wrong)} tensors differ)")


def load_model(
    path: str | Path, expected_scale: int | None = None, expected_architecture: str | None = "DSRNet"
) -> tuple[FeatureNet, ModelCard]:
    """Load a DSRNet, checking architecture, scale and tensor shapes from the header before building anything."""
    path = Path(path)
    shapes, card = _read_header(path)
    if expected_architecture is not None and card.architecture != expected_architecture:
        raise WeightsError(
            f"{path}: architecture mismatch: expected {expected_architecture}, found {card.architecture}"
        )
    if expected_scale is not None and card.scale != expected_scale:
        raise WeightsError(f"{path}: scale mismatch: expected x{expected_scale}, found x{card.scale}")
    if card.normalisation.get("mode") != NORMALISATION["mode"]:
        raise WeightsError(f"{path}: normalisation mismatch: expected {NORMALISATION['mode']!r}, found "
                           f"{card.normalisation.get('mode')!r} (a model from an older dsr_ros; retrain it)")
    _check_header(path, card, shapes)
    state, _ = _read(path, tensors=True)
    model = build_model(card)
    model.load_state_dict(state, strict=True)
    return model.eval(), card


def models_dirs() -> list[Path]:
    """Where shipped weights may live: source checkout, pip package data, ROS share/ folders."""
    candidates = [PACKAGE_DIR.parent / "models", PACKAGE_DIR / "models", Path(sys.prefix) / "share" / "dsr_ros" / "models"]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(Path(prefix) / "share" / "dsr_ros" / "models")
    seen: list[Path] = []
    for candidate in candidates:
        if candidate.is_dir() and candidate not in seen:
            seen.append(candidate)
    return seen


def shipped_models() -> list[Path]:
    """Every shipped weight file found, first folder wins for a given file name."""
    found: dict[str, Path] = {}
    for folder in models_dirs():
        for path in sorted(folder.glob("*.safetensors")):
            found.setdefault(path.name, path)
    return list(found.values())


def shipped_model_name(scale: int, variant: str = DEFAULT_VARIANT) -> str:
    return f"dsrnet_{variant}_x{scale}.safetensors"


def specialist_model_name(scale: int, kind: str, variant: str = DEFAULT_VARIANT) -> str:
    """A specialist's file name: the general model's with the input kind before the extension."""
    return f"dsrnet_{variant}_x{scale}.{kind}.safetensors"


def shipped_specialists(scale: int, variant: str | None = None) -> dict[str, Path]:
    """{input kind: file} of the shipped specialists for a scale and variant (none: {}).

    A file's card must name the kind its file name does: a renamed file cannot serve another kind.
    """
    prefix, suffix = f"dsrnet_{variant or DEFAULT_VARIANT}_x{scale}.", ".safetensors"
    found: dict[str, Path] = {}
    for path in shipped_models():
        kind = path.name[len(prefix) : -len(suffix)] if path.name.startswith(prefix) else ""
        if kind:
            card = read_card(path)
            if card.specialist_kind != kind or card.scale != scale:
                raise WeightsError(f"{path}: its card is a x{card.scale} specialist for {card.specialist_kind!r}, "
                                   f"not the x{scale} one for {kind!r} its name says")
            found[kind] = path
    return found


def shipped_model_path(scale: int, variant: str | None = None) -> Path:
    """The shipped weight file for a scale and variant; the error lists what is shipped."""
    name = shipped_model_name(scale, variant or DEFAULT_VARIANT)
    for path in shipped_models():
        if path.name == name:
            return path
    available = ", ".join(p.name for p in shipped_models()) or "none"
    raise WeightsError(f"no shipped model {name} (scale x{scale}, variant {variant or DEFAULT_VARIANT}); shipped: {available}")
