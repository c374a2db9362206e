"""DSRNet: depth-only super-resolution by stacked back-projection units (Sun et al., CVPR 2021)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dsr_ros.net.blocks import (
    BoundaryHead,
    DifferenceConv,
    DownProjection,
    LowResBlock,
    MaskConv,
    UpProjection,
    conv,
    projection_geometry,
)
from dsr_ros.net.guide import GuideFusion, guide_channels
from dsr_ros.net.input_kind import KindModulation, check_input_kinds, modulate

# Named sizes: `lite` is the real-time default, `base` follows DBPN's paper-sized defaults.
VARIANTS: dict[str, dict[str, int]] = {
    "lite": {"features": 16, "shallow": 32, "units": 2},
    "base": {"features": 64, "shallow": 128, "units": 7},
}
# Where a variant's default shape would break its budget at one scale: lite x2 runs on 320x240 input,
# and 16 features cost 7.2 GMAC per 640x480 output there; 12 features keep it at 4.4 (<= 5).
# lr_blocks: residual blocks on the LR grid before the first up-projection, where the network
# has little context per output pixel: x16 sees 40x30 pixels for a 640x480 output (0.02 GMAC each
# there). At x4 they cost 0.35 GMAC each and made validation worse (BENCHMARKS.md, capacity sweep).
# cascade: x16 runs as two x4 stages (net/cascade.py). One x16 stage sees 40x30 pixels of a 640x480
# output and never beat bicubic on the validation scenes; two shipped x4 stages did at once, untrained.
SCALE_OVERRIDES: dict[tuple[str, int], dict[str, int]] = {
    ("lite", 2): {"features": 12},
    ("lite", 16): {"cascade": 2},
}
#: The most LR blocks a config may ask for (a crafted card must not build thousands of modules).
MAX_LR_BLOCKS = 64
#: The most stages a cascade may chain (4: x16 as four x2 stages).
MAX_CASCADE = 4


@dataclass(frozen=True)
class DSRNetConfig:
    """Hyper-parameters that fully determine a DSRNet's shape (stored in every model card)."""

    scale: int
    features: int = VARIANTS["lite"]["features"]
    shallow: int = VARIANTS["lite"]["shallow"]
    units: int = VARIANTS["lite"]["units"]
    variant: str = "lite"
    lr_blocks: int = 0  # cards written before LR blocks existed have none
    cascade: int = 1  # stages of scale**(1/cascade) each, chained (cards written before cascades have one)
    mask_input: bool = False  # a second input channel: 1 where the LR pixel was measured, 0 where it was filled
    rgb_guide: int = 0  # colour features of a registered HR RGB image fused at HR (net/guide.py); 0: depth only
    input_kinds: tuple[str, ...] = ()  # the input kinds it can be told (net/input_kind.py); empty: not conditioned
    kind_dense: bool = False  # input kinds also modulate every LR block's and down-projection's output

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_kinds", tuple(self.input_kinds) if isinstance(self.input_kinds, list)
                           else self.input_kinds)  # a card's JSON list

    @property
    def in_channels(self) -> int:
        """Input channels: log depth, the validity mask when `mask_input`, one plane per input kind, the
        packed RGB when `rgb_guide`."""
        return 1 + int(self.mask_input) + len(self.input_kinds) + (guide_channels(self.scale) if self.rgb_guide else 0)

    @property
    def stage_scale(self) -> int:
        """Each stage's factor: the cascade-th root of the scale; fails if it is not a supported scale."""
        if not 1 <= self.cascade <= MAX_CASCADE:
            raise ValueError(f"cascade must be within 1..{MAX_CASCADE}, got {self.cascade}")
        stage = round(self.scale ** (1.0 / self.cascade))
        if stage**self.cascade != self.scale or stage < 2:
            raise ValueError(f"scale {self.scale} is not a product of {self.cascade} equal supported scales")
        return stage

    @classmethod
    def from_variant(cls, variant: str, scale: int) -> DSRNetConfig:
        """The named variant at a scale; fails naming the known variants."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        return cls(scale=scale, variant=variant, **{**VARIANTS[variant], **SCALE_OVERRIDES.get((variant, scale), {})})

    def to_dict(self) -> dict:
        """The config as a model card holds it (JSON types: the kinds as a list)."""
        return {**asdict(self), "input_kinds": list(self.input_kinds)}


@dataclass
class DSRNetOutput:
    """Everything distillation needs: final depth, per-unit HR features and boundary depths."""

    depth: torch.Tensor
    features: list[torch.Tensor]
    boundary: list[torch.Tensor]

    def detached(self) -> DSRNetOutput:
        """The same tensors cut from the graph, for use as a teacher's fixed targets."""
        return DSRNetOutput(depth=self.depth.detach(), features=[f.detach() for f in self.features],
                            boundary=[b.detach() for b in self.boundary])


class FeatureNet(nn.Module):
    """A network whose pass can also return per-unit features and boundary-head depths.

    Subclasses implement `_run(x, with_boundary, boundary_grad)` and a `forward` that gives depth
    only (its argument name is what torch.export and the ONNX export see).
    """

    def forward_features(self, x: torch.Tensor, boundary_grad: bool = True) -> DSRNetOutput:
        """Forward pass that also returns per-unit features and boundary-head depths.

        `boundary_grad=False` keeps the boundary depths out of the autograd graph: a teacher that
        still trains uses them only as fixed targets, and DDP must not wait for their gradients.
        """
        return self._run(x, with_boundary=True, boundary_grad=boundary_grad)

    def _run(self, x: torch.Tensor, with_boundary: bool, boundary_grad: bool = True) -> DSRNetOutput:
        raise NotImplementedError


def kind_places(config: DSRNetConfig) -> list[tuple[str, int]]:
    """(place, channels) the input kind modulates: the first conv, the LR features and each unit's HR features;
    with `kind_dense` also the second conv, every LR block and every down-projection."""
    f, s = config.features, config.shallow
    dense = [("second", s), *((f"lr{i}", s) for i in range(config.lr_blocks))] if config.kind_dense else []
    downs = [(f"down{i}", f) for i in range(config.units - 1)] if config.kind_dense else []
    return [("first", s), *dense, ("features", f), *((f"up{i}", f) for i in range(config.units)), *downs]


class DSRNet(FeatureNet):
    """LR log depth (N×1×h×w) → HR log depth (N×1×sh×sw), a residual over bicubic.

    Adding a constant c to the input adds exactly c to the output (the first conv is a
    DifferenceConv, bicubic weights sum to one), so depth k·D in gives k·DSR(D) out.
    With `mask_input` the input is N×2×h×w, channel 1 the validity mask: holes are filled before
    the network sees them, and the mask tells it which values are filled. Its conv adds to the first
    layer's output, starts at zero (a warm start from a mask-less file is that file's network) and
    is blind to depth, so the equivariance holds. With `input_kinds` the next K channels are the
    one-hot kind of input (net/input_kind.py), which scales and shifts features the same way.

    Three shallow convs (with `lr_blocks` residual blocks on the LR grid before the last, 1x1 one),
    `units` up-projections interleaved with down-projections, and a reconstruction conv over the
    concatenated HR features of every unit.
    """

    def __init__(self, config: DSRNetConfig) -> None:
        super().__init__()
        projection_geometry(config.scale)
        if config.units < 1 or config.features < 1 or config.shallow < 1:
            raise ValueError(f"units, features and shallow must be >= 1, got {config}")
        if config.cascade != 1:
            raise ValueError(f"a cascade of {config.cascade} stages is a CascadeDSRNet (net.build_dsrnet), not one DSRNet")
        if config.rgb_guide < 0:
            raise ValueError(f"rgb_guide must be >= 0 colour features, got {config.rgb_guide}")
        if not 0 <= config.lr_blocks <= MAX_LR_BLOCKS:
            raise ValueError(f"lr_blocks must be within 0..{MAX_LR_BLOCKS}, got {config.lr_blocks}")
        check_input_kinds(config.input_kinds)
        self.config = config
        f = config.features
        self.shallow = nn.Sequential(DifferenceConv(1, config.shallow), nn.PReLU(config.shallow),
                                     conv(config.shallow, config.shallow), conv(config.shallow, f, kernel=1))
        self.mask_conv = MaskConv(config.shallow) if config.mask_input else None
        self.lr_body = nn.Sequential(*(LowResBlock(config.shallow) for _ in range(config.lr_blocks)))
        self.ups = nn.ModuleList(UpProjection(f, config.scale) for _ in range(config.units))
        self.downs = nn.ModuleList(DownProjection(f, config.scale) for _ in range(config.units - 1))
        self.heads = nn.ModuleList(BoundaryHead(f) for _ in range(config.units))
        self.reconstruct = conv(f * config.units, 1, act=False)
        self.guide = GuideFusion(f, config.rgb_guide, config.scale) if config.rgb_guide else None
        kinds = len(config.input_kinds)
        self._kind_places = kind_places(config)
        self.kind = KindModulation(kinds, [width for _, width in self._kind_places]) if kinds else None
        self._kind_channels = slice(1 + int(config.mask_input), 1 + int(config.mask_input) + kinds)

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self._run(lr, with_boundary=False).depth

    def _run(self, lr: torch.Tensor, with_boundary: bool, boundary_grad: bool = True) -> DSRNetOutput:
        first, act, second, to_features = self.shallow  # no Sequential slice built per frame
        # A channel of a channels-last input is strided; as its own dense tensor every layer after it stays on the
        # fast channels-last path (without the copy, 1.3x the CPU latency; BENCHMARKS.md, "Input kinds").
        depth = lr if self.config.in_channels == 1 else lr[:, :1].contiguous()
        # One (scale, shift) per place of kind_places; none when the network is not conditioned.
        pairs = dict(zip((name for name, _ in self._kind_places), self.kind(lr[:, self._kind_channels, 0, 0]))) \
            if self.kind is not None else {}
        x = first(depth)
        if self.mask_conv is not None:
            x = x + self.mask_conv(lr[:, 1:2].contiguous())
        x = modulate(second(act(modulate(x, pairs.get("first")))), pairs.get("second"))
        for i, block in enumerate(self.lr_body):
            x = modulate(block(x), pairs.get(f"lr{i}"))
        x = modulate(to_features(x), pairs.get("features"))
        features: list[torch.Tensor] = []
        for i, up in enumerate(self.ups):
            hr = modulate(up(x), pairs.get(f"up{i}"))
            features.append(hr)
            if i < len(self.downs):
                x = modulate(self.downs[i](hr), pairs.get(f"down{i}"))
        base = F.interpolate(depth, scale_factor=self.scale, mode="bicubic", align_corners=False)
        depth = base + self.reconstruct(torch.cat(features, dim=1))
        if self.guide is not None:
            depth = depth + self.guide(features[-1], lr[:, -guide_channels(self.scale):])
        with torch.set_grad_enabled(boundary_grad and torch.is_grad_enabled()):
            boundary = [base + head(feat) for head, feat in zip(self.heads, features)] if with_boundary else []
        return DSRNetOutput(depth=depth, features=features, boundary=boundary)
