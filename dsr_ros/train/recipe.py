"""Training recipes: a YAML file with defaults, validated before any work starts."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from dsr_ros.camera import SCALES
from dsr_ros.net import VARIANTS, DSRNetConfig
from dsr_ros.train.datasets.sources import DATASETS
from dsr_ros.train.degrade import DEGRADATIONS

SOURCES = ("synthetic", "synthetic3d", *DATASETS)
GENERATORS = ("synthetic", "synthetic3d")
TEACHER_UPDATES = ("frozen", "task")


@dataclass
class ModelSection:
    variant: str = "lite"
    scale: int = 4
    # 0 keeps the variant's value; set them to try other sizes without a new variant.
    features: int = 0
    shallow: int = 0
    units: int = 0
    lr_blocks: int = -1  # -1 keeps the variant's value (0 is a valid count)
    cascade: int = 0  # stages chained to reach the scale (x16 as two x4: 2); 0 keeps the variant's value
    mask_input: bool = False  # give the network the LR validity mask as a second input channel
    rgb_guide: int = 0  # colour features of the registered HR RGB image fused at HR (net/guide.py); 0: depth only
    # degradations the network can be told it is given (net/input_kind.py); each crop is told its own; empty: none
    input_kinds: list[str] = field(default_factory=list)
    kind_dense: bool = False  # input kinds also modulate every LR block's and down-projection's output


@dataclass
class DataSection:
    # synthetic (v1, image-space shapes), synthetic3d (v2: ray-cast rooms, tabletops, corridors, yards,
    # from a pool rendered once into data.cache), or a real data set: nyu, middlebury, folder.
    source: str = "synthetic"
    path: str = ""  # the .mat file (nyu) or folder (middlebury, folder)
    split: str = ""  # nyu only: splits.mat or 0-based indices; default: the first 1000 images train
    patch: int = 96  # HR patch side in pixels
    batch_size: int = 16
    degradations: list[str] = field(default_factory=lambda: list(DEGRADATIONS))
    scenes: int = 2000  # synthetic3d: scenes in the pool (seeds pool_seed, pool_seed + 1, ...)
    scene_size: int = 256  # synthetic3d: side of each pool scene in pixels
    pool_seed: int = 0  # synthetic3d: first scene seed (held-out sets start at 1000000)
    cache: str = "runs/scene_pool"  # synthetic3d: where the rendered pool is kept and reused
    workers: int = 1  # synthetic3d: processes rendering the pool the first time
    thin_items: int = 0  # synthetic3d: up to this many extra thin structures per scene (scenes3d.thin_dressing); 0: none
    # drop target pixels under LR holes from the loss: the node publishes none there (unless fill_holes)
    skip_hole_targets: bool = False
    # share of crops whose truth loses its stereo occlusion shadows first, as stereo-derived ground truth has
    truth_shadows: float = 0.0
    colour_jitter: float = 0.0  # rgb_guide models: share of crops whose colour is jittered (train/colour_jitter.py)
    unknown_kind: float = 0.0  # model.input_kinds: share of crops told nothing (all-zero planes: the "unknown" input)


@dataclass
class TrainSection:
    steps: int = 2000
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    warmup_steps: int = 50
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 20
    threads: int = 0  # 0 = torch's default
    loss: str = "l1"  # DSRNet's task loss on depth ratios: l1 (sharp edges) or mse (what RMSE scores)
    grad_clip: float = 0.0  # clip the gradient's global norm to this (0: off); keeps deep nets from diverging
    # stop when the mean loss of log_every steps exceeds this many times the lowest such mean so far (0: never)
    divergence: float = 20.0
    ema: float = 0.0  # decay of a moving average of the weights, validated and exported instead of them (0: off)
    init_from: str = ""  # weight file to start from (fine-tuning); empty: random initialisation
    # train only the parameters whose names contain one of these (e.g. [reconstruct]: the output convs); empty: all
    trainable: list[str] = field(default_factory=list)


@dataclass
class EvalSection:
    generator: str = "synthetic3d"  # the held-out scenes: synthetic3d (v2) or synthetic (v1)
    scenes: int = 24
    size: int = 192
    seed: int = 1_000_000


@dataclass
class OutputSection:
    dir: str = "runs/default"
    export: str = ""  # weight file written at the end, e.g. models/dsrnet_lite_x4.safetensors
    tensorboard: bool = True  # TensorBoard events in DIR/tensorboard beside log.csv (needs the train extra)


@dataclass
class DistillSection:
    """Two-stage cross-task training (Sun et al.); the paper gives no values, so these are ours."""

    enabled: bool = False
    stage1_steps: int = 0  # of train.steps; the rest is stage 2 (same total budget as stage 1 alone)
    round_steps: int = 50  # steps per role-exchange round
    heldout_batch: int = 8  # samples in the held-back batch that picks each round's teacher
    gamma: float = 1.0  # L_distill = L_O + gamma * L_A
    rho1: float = 0.1  # weight of L_struc
    rho2: float = 0.5  # weight of L_distill
    lam: float = 0.85  # L_DE = lam (1 - SSIM)/2 + (1 - lam) L1
    affinity_pool: int = 16  # affinity on features pooled to P×P: N·units·P⁴·4 bytes
    denet_blocks: int = 2  # residual blocks per DENet stage
    # "frozen": the round's teacher gets no update (the paper's rule). "task": the teacher keeps
    # learning its own task and the structure loss; only the student is distilled.
    teacher_update: str = "frozen"


SECTIONS = {"model": ModelSection, "data": DataSection, "train": TrainSection, "eval": EvalSection,
            "output": OutputSection, "distill": DistillSection}


@dataclass
class Recipe:
    name: str = "default"
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    output: OutputSection = field(default_factory=OutputSection)
    distill: DistillSection = field(default_factory=DistillSection)
    path: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class RecipeError(ValueError):
    """A recipe names an unknown key or holds a value outside what is allowed."""


TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list[str]: "a list of strings"}


def _typed(value: Any, hint: Any, key: str) -> Any:
    """`value` checked against its field's annotation; a float field also takes a numeric string.

    YAML 1.1 (PyYAML) reads `1e-3` without a decimal point as the string "1e-3", so a float field
    converts a string that parses as a finite number instead of failing on what the user meant.
    """
    if hint is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if ok else _type_error(key, hint, value)
    if hint == list[str]:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
    return value if ok else _type_error(key, hint, value)


def _type_error(key: str, hint: Any, value: Any) -> Any:
    raise RecipeError(f"{key} must be {TYPE_NAMES[hint]}, got {value!r}")


def _section(cls: type, values: dict | None, where: str):
    """One section from its YAML mapping: unknown keys and values of the wrong type fail naming the key."""
    values = values or {}
    if not isinstance(values, dict):
        raise RecipeError(f"{where}: a section is a mapping of keys, got {values!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known)}")
    hints = get_type_hints(cls)
    return cls(**{k: _typed(v, hints[k], f"{where}.{k}") for k, v in values.items()})


def recipe_from_dict(data: dict, path: str = "") -> Recipe:
    """Build and validate a recipe; every error names the offending key."""
    allowed = set(SECTIONS) | {"name"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RecipeError(f"{path or 'recipe'}: unknown section(s) {unknown}; allowed: {sorted(allowed)}")
    recipe = Recipe(name=str(data.get("name", Path(path).stem or "default")), path=path,
                    **{k: _section(c, data.get(k), f"{path or 'recipe'}:{k}") for k, c in SECTIONS.items()})
    validate(recipe)
    return recipe


def load_recipe(path: str | Path) -> Recipe:
    """Read a recipe YAML file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of sections, got {type(data).__name__}")
    return recipe_from_dict(data, str(path))


def validate(recipe: Recipe) -> None:
    m, d, t = recipe.model, recipe.data, recipe.train
    if m.scale not in SCALES:
        raise RecipeError(f"model.scale must be one of {list(SCALES)}, got {m.scale}")
    if m.variant not in VARIANTS:
        raise RecipeError(f"model.variant must be one of {sorted(VARIANTS)}, got {m.variant!r}")
    if m.cascade:
        try:
            DSRNetConfig(scale=m.scale, cascade=m.cascade).stage_scale
        except ValueError as exc:
            raise RecipeError(f"model.cascade: {exc}") from None
    if m.rgb_guide < 0 or (m.rgb_guide and m.cascade > 1):
        raise RecipeError(f"model.rgb_guide must be >= 0 colour features (0: depth only) on a single stage, got "
                          f"{m.rgb_guide} with cascade {m.cascade}")
    _validate_kinds(recipe)
    bad = [k for k in d.degradations if k not in DEGRADATIONS]
    if bad or not d.degradations:
        raise RecipeError(f"data.degradations must be a non-empty subset of {list(DEGRADATIONS)}, got {d.degradations}")
    if not 0.0 <= d.colour_jitter <= 1.0:
        raise RecipeError(f"data.colour_jitter must be a probability in [0, 1], got {d.colour_jitter}")
    if d.colour_jitter and not m.rgb_guide:
        raise RecipeError("data.colour_jitter jitters the colour guide: it needs model.rgb_guide > 0")
    if not 0.0 <= d.truth_shadows <= 1.0:
        raise RecipeError(f"data.truth_shadows must be a probability in [0, 1], got {d.truth_shadows}")
    if d.source not in SOURCES:
        raise RecipeError(f"data.source must be one of {list(SOURCES)}, got {d.source!r}")
    if d.source == "synthetic3d" and not (d.patch <= d.scene_size and d.scenes >= 1 and d.workers >= 1):
        raise RecipeError(f"data.scene_size ({d.scene_size}) must be >= data.patch ({d.patch}); data.scenes and "
                          "data.workers >= 1")
    if d.thin_items < 0:
        raise RecipeError(f"data.thin_items must be >= 0 (0: no thin dressing), not {d.thin_items}")
    if recipe.eval.generator not in GENERATORS:
        raise RecipeError(f"eval.generator must be one of {list(GENERATORS)}, got {recipe.eval.generator!r}")
    if d.source not in ("synthetic", "synthetic3d") and not d.path:
        raise RecipeError(f"data.path is required with data.source {d.source!r} (the data set's file or folder)")
    if d.split and d.source != "nyu":
        raise RecipeError(f"data.split is only for data.source 'nyu', got source {d.source!r}")
    if d.patch % m.scale or d.patch < 2 * m.scale:
        raise RecipeError(f"data.patch must be a multiple of model.scale ({m.scale}) and >= {2 * m.scale}, got {d.patch}")
    if t.steps < 1 or d.batch_size < 1 or t.lr <= 0:
        raise RecipeError("train.steps, data.batch_size and train.lr must be positive")
    if t.loss not in ("l1", "mse"):
        raise RecipeError(f"train.loss must be 'l1' or 'mse', got {t.loss!r}")
    if t.grad_clip < 0:
        raise RecipeError(f"train.grad_clip must be >= 0 (0: off), got {t.grad_clip}")
    if t.divergence != 0 and t.divergence <= 1:
        raise RecipeError(f"train.divergence must be 0 (off) or > 1, got {t.divergence}")
    if not 0 <= t.ema < 1:
        raise RecipeError(f"train.ema must be in [0, 1) (0: off), got {t.ema}")
    if t.trainable and recipe.distill.enabled:
        raise RecipeError("train.trainable is not supported with distill.enabled (both networks train in full)")
    if any(not isinstance(name, str) or not name for name in t.trainable):
        raise RecipeError(f"train.trainable must be a list of non-empty parameter-name parts, got {t.trainable}")
    if t.ema and recipe.distill.enabled:
        raise RecipeError("train.ema is not supported with distill.enabled (the distillation trainer has no average)")
    if t.lr_schedule not in ("cosine", "constant"):
        raise RecipeError(f"train.lr_schedule must be 'cosine' or 'constant', got {t.lr_schedule!r}")
    _validate_distill(recipe)


def _validate_kinds(recipe: Recipe) -> None:
    """model.input_kinds: distinct degradation names (a fine-tune may train some of them only), on one stage;
    data.unknown_kind a probability that needs them."""
    m, d = recipe.model, recipe.data
    kinds = m.input_kinds
    if len(set(kinds)) != len(kinds) or any(k not in DEGRADATIONS for k in kinds):
        raise RecipeError(f"model.input_kinds must be distinct degradation names from {list(DEGRADATIONS)}, got {kinds}")
    if kinds and m.cascade > 1:
        raise RecipeError("model.input_kinds needs a single-stage network (model.cascade <= 1)")
    if m.kind_dense and not kinds:
        raise RecipeError("model.kind_dense modulates by the input kind: it needs model.input_kinds")
    if not 0.0 <= d.unknown_kind <= 1.0 or (d.unknown_kind and not kinds):
        raise RecipeError(f"data.unknown_kind must be a probability in [0, 1] and needs model.input_kinds, got "
                          f"{d.unknown_kind}")


def _validate_distill(recipe: Recipe) -> None:
    x = recipe.distill
    if x.enabled and not 0 < x.stage1_steps < recipe.train.steps:
        raise RecipeError(f"distill.stage1_steps must be in 1..{recipe.train.steps - 1} (train.steps - 1), "
                          f"got {x.stage1_steps}")
    if x.round_steps < 1 or x.heldout_batch < 1 or x.affinity_pool < 1 or x.denet_blocks < 1:
        raise RecipeError("distill.round_steps, heldout_batch, affinity_pool and denet_blocks must be >= 1")
    if x.teacher_update not in TEACHER_UPDATES:
        raise RecipeError(f"distill.teacher_update must be one of {list(TEACHER_UPDATES)}, got {x.teacher_update!r}")
    if min(x.gamma, x.rho1, x.rho2) < 0 or not 0 <= x.lam <= 1:
        raise RecipeError(f"distill.gamma, rho1, rho2 must be >= 0 and lam in [0, 1], got {x}")
