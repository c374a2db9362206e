"""Supervised L1 training of DSRNet (synthetic scenes or a real data set): seeded, resumable, logged."""
from __future__ import annotations

import math
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dsr_ros.net import CascadeDSRNet, DSRNetConfig, build_dsrnet
from dsr_ros.net.dsrnet import FeatureNet
from dsr_ros.train.checkpoint import load_checkpoint, save_checkpoint
from dsr_ros.train.curve_plot import PNG as CURVE_PNG
from dsr_ros.train.curve_plot import plot_curves
from dsr_ros.train.data import batch_source
from dsr_ros.train.distributed import data_parallel, init_world, training_device
from dsr_ros.train.evaluate import evaluate, format_table, heldout_scenes
from dsr_ros.train.losses import TASK_LOSSES
from dsr_ros.train.recipe import Recipe
from dsr_ros.train.run_log import RunLog
from dsr_ros.train.validation import Validation, read_curve, write_row
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import ModelCard, card_for, load_model, read_card, save_model

CHECKPOINT = "checkpoint.safetensors"


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message names step and term."""


@dataclass
class TrainResult:
    """The trained DSRNet and its card; losses of the first and last step, and the steps run (from `start`)."""

    model: FeatureNet
    card: ModelCard
    last_loss: float
    first_loss: float
    steps: int
    start: int = 0  # the step this call resumed from: equal to `steps` when the run was already complete


class DivergenceGuard:
    """Stops a run whose loss has blown up, instead of letting it train on at a saturated loss for hours.

    The loss is averaged over windows of `window` steps; a window mean above `factor` times the lowest
    window mean so far raises TrainingError (a learning rate too high for the network's width does this).
    """

    def __init__(self, factor: float, window: int) -> None:
        self.factor, self.window = factor, window
        self.total, self.count, self.best = 0.0, 0, math.inf

    def check(self, step: int, loss: float) -> None:
        """Add one step's loss; at the end of a window compare its mean with the best so far."""
        self.total, self.count = self.total + loss, self.count + 1
        if self.count < self.window:
            return
        mean = self.total / self.count
        self.total, self.count = 0.0, 0
        if self.factor and mean > self.factor * self.best:
            raise TrainingError(
                f"the loss diverged by step {step}: {mean:.4g} averaged over the last {self.window} steps, "
                f"{mean / self.best:.0f}x the lowest such mean ({self.best:.4g}; train.divergence: {self.factor:g}); "
                "lower train.lr or set train.grad_clip and train again")
        self.best = min(self.best, mean)


def lr_factor(step: int, recipe: Recipe) -> float:
    """Linear warm-up, then cosine decay to 5% (or constant)."""
    t = recipe.train
    if step < t.warmup_steps:
        return (step + 1) / t.warmup_steps
    if t.lr_schedule == "constant":
        return 1.0
    progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def git_commit() -> str:
    """dsr_ros's own commit for the model card, '+dirty' when tracked files had uncommitted changes.

    Only a checkout of this package counts: installed into site-packages inside some other
    repository, the package has no commit of its own, and the card says 'unknown'.
    """
    source = Path(__file__).resolve().parents[2]  # the folder holding the dsr_ros package

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, cwd=source)

    try:
        top = git("rev-parse", "--show-toplevel").stdout.strip()
        if not top or Path(top).resolve() != source or not (source / "package.xml").is_file():
            return "unknown"
        commit = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return f"{commit}+dirty" if dirty and commit != "unknown" else commit
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_model(recipe: Recipe) -> FeatureNet:
    """The recipe's DSRNet (or cascade of them): its variant, with any size the recipe overrides."""
    m = recipe.model
    config = DSRNetConfig.from_variant(m.variant, m.scale)
    overrides = {k: v for k, v in (("features", m.features), ("shallow", m.shallow), ("units", m.units),
                                   ("cascade", m.cascade)) if v}
    if m.lr_blocks >= 0:
        overrides["lr_blocks"] = m.lr_blocks
    if m.mask_input:
        overrides["mask_input"] = True
    if m.rgb_guide:
        overrides["rgb_guide"] = m.rgb_guide
    if m.input_kinds:
        overrides["input_kinds"] = tuple(m.input_kinds)
    if m.kind_dense:
        overrides["kind_dense"] = True
    return build_dsrnet(replace(config, **overrides) if overrides else config)


def _stage_source(model: FeatureNet, path: str, scale: int) -> dict[str, torch.Tensor] | None:
    """A single-stage file's tensors copied into every stage of a cascade; None if that does not apply."""
    if not isinstance(model, CascadeDSRNet):
        return None
    if read_card(path).config.get("scale") != model.config.stage_scale:
        return None
    stage = load_model(path, expected_scale=model.config.stage_scale)[0].state_dict()
    return {f"stages.{i}.{k}": v for i in range(len(model.stages)) for k, v in stage.items()}


#: Modules a warm start may add to a file's network: they are built as identities or zeros.
GROWN_PARTS = frozenset({"lr_body", "mask_conv", "guide", "kind"})
#: Modules a warm start may drop from a file's network: without them it is the file's network told nothing.
DROPPED_PARTS = frozenset({"kind"})


def warm_start(model: FeatureNet, path: str, scale: int) -> None:
    """Start from a weight file's network; LR blocks, a mask conv, a colour guide or kind conditioning it lacks stay
    as built (no effect), and its kind table is dropped if the recipe's network has none (a specialist starts
    from the file's untold network, which is all-zero planes through that table: no modulation).

    A network grown by LR blocks or given the validity mask as an input thus starts exactly where
    the file's network ended; a cascade (x16 as two x4 stages) starts from an x4 file in every stage.
    Any other difference (width, units, a tensor's shape) fails naming the tensors.
    """
    source = _stage_source(model, path, scale) or load_model(path, expected_scale=scale)[0].state_dict()
    target = model.state_dict()
    source = {k: v for k, v in source.items() if k in target or not DROPPED_PARTS & set(k.split("."))}
    missing = sorted(set(target) - set(source))
    grown = all(GROWN_PARTS & set(k.split(".")) for k in missing)
    unexpected = sorted(set(source) - set(target))
    wrong = [k for k in source if k in target and source[k].shape != target[k].shape]
    if not grown or unexpected or wrong:
        raise TrainingError(f"train.init_from {path} does not fit the recipe's network: missing "
                            f"{missing[:2]}, unexpected {unexpected[:2]}, other shapes {wrong[:2]}")
    model.load_state_dict(source, strict=False)


def specialist_kind(recipe: Recipe) -> str:
    """The one degradation a network not told its input kind trained on (it is a specialist for it); "" for a mix."""
    kinds = set(recipe.data.degradations)
    return kinds.pop() if len(kinds) == 1 and not recipe.model.input_kinds else ""


def trainable_parameters(model: nn.Module, parts: list[str]) -> list[nn.Parameter]:
    """The parameters to train: all, or those whose names contain one of `parts` (the rest are frozen).

    Fails naming the parts that match nothing, so a typo cannot silently freeze the whole network.
    """
    if not parts:
        return list(model.parameters())
    named = dict(model.named_parameters())
    unmatched = [part for part in parts if not any(part in name for name in named)]
    if unmatched:
        raise TrainingError(f"train.trainable {unmatched} match no parameter; names look like {sorted(named)[:3]}")
    chosen = []
    for name, parameter in named.items():
        parameter.requires_grad_(any(part in name for part in parts))
        if parameter.requires_grad:
            chosen.append(parameter)
    return chosen


def _state(model: nn.Module, optimiser: torch.optim.Optimizer, scheduler, step: int, first_loss: float,
           seconds: float, average: AveragedModel | None) -> dict:
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
             "torch_rng": torch.get_rng_state(), "step": step, "first_loss": first_loss, "seconds": seconds}
    if average is not None:
        state["ema"] = average.state_dict()
    return state


def weight_average(model: FeatureNet, decay: float) -> AveragedModel | None:
    """An exponential moving average of `model`'s weights (`decay` per step), or None when decay is 0.

    The validation curve of a small network jumps by several mm from one checkpoint to the next at
    the end of a run; the average of the last few hundred steps is the steadier network to ship.
    """
    if not decay:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _validate(model: FeatureNet, validation: Validation, out_dir: Path, step: int) -> None:
    """One point of the validation curve (the model goes back to training mode afterwards)."""
    model.eval()
    with torch.no_grad():
        scores = validation.score(Upsampler.from_model(model, card_for(model)))
    model.train()
    write_row(out_dir, {"step": step, **{k: round(v, 2) for k, v in scores.items()}})
    plot_curves({out_dir.name: read_curve(out_dir)}, out_dir / CURVE_PNG, f"{out_dir.name}: validation on {validation.source}")


def train(recipe: Recipe, resume: bool = False, progress: bool = True, stop_at: int | None = None,
          validation: Validation | None = None) -> TrainResult:
    """Run (or resume) a recipe, writing checkpoints and the CSV log.

    `stop_at` ends the run after that many steps in total, checkpointed (a planned interruption).
    `validation` scores the model every `validation.every` steps into validation.csv and the card.
    """
    from tqdm import tqdm

    t = recipe.train
    if t.threads:
        torch.set_num_threads(t.threads)
    batches = batch_source(recipe)
    world = init_world()
    device = training_device(world)
    torch.manual_seed(t.seed)
    out_dir = Path(recipe.output.dir)
    model = build_model(recipe)
    if t.init_from:
        warm_start(model, t.init_from, recipe.model.scale)
    model.to(device)
    optimiser = torch.optim.Adam(trainable_parameters(model, t.trainable), lr=t.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: lr_factor(s, recipe))
    average = weight_average(model, t.ema)
    start, first_loss, seconds_before = 0, float("nan"), 0.0
    ckpt_path = out_dir / CHECKPOINT
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if average is not None:
            average.load_state_dict(state["ema"])
        start, first_loss = int(state["step"]), float(state["first_loss"])
        seconds_before = float(state.get("seconds", 0.0))
    if validation and start == 0:
        (out_dir / "validation.csv").unlink(missing_ok=True)
    net = data_parallel(model, world, device, find_unused=True)  # under torchrun: rank 0's weights, gradients averaged in backward
    run_log = RunLog(out_dir, ["step", "loss", "lr", "seconds"], start, recipe.output.tensorboard) if world.is_main else None
    loss_value = float("nan")
    model.train()
    end = min(t.steps, stop_at) if stop_at is not None else t.steps
    per_rank = max(1, recipe.data.batch_size // world.size)
    bar = tqdm(range(start, end), initial=start, total=t.steps, desc=f"train {recipe.name}",
               disable=not (progress and world.is_main))
    began = time.perf_counter()
    task_loss = TASK_LOSSES[t.loss]
    guard = DivergenceGuard(t.divergence, t.log_every)
    for step in bar:
        batch = batches(t.seed, step * world.size + world.rank, per_rank).to(device)
        loss = task_loss(net(batch.lr), batch.hr)
        if not torch.isfinite(loss):
            raise TrainingError(f"non-finite loss at step {step}: term '{t.loss}' = {loss.item()}")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if t.grad_clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), t.grad_clip)
        optimiser.step()
        scheduler.step()
        if average is not None:
            average.update_parameters(model)
        loss_value = float(loss.item())
        if math.isnan(first_loss):
            first_loss = loss_value
        bar.set_postfix(loss=f"{loss_value:.4f}")
        done = step + 1
        if not world.is_main:
            continue
        guard.check(done, loss_value)
        if done % t.log_every == 0 or done == t.steps:
            lr = scheduler.get_last_lr()[0]
            run_log.row([done, f"{loss_value:.6f}", f"{lr:.3g}", f"{time.perf_counter() - began:.1f}"])
            run_log.scalars(done, {f"loss/{t.loss}": loss_value, "lr": lr})
        if validation and (done % validation.every == 0 or done == t.steps):
            _validate(average.module if average is not None else model, validation, out_dir, done)
        if done % t.checkpoint_every == 0 or done == end:
            seconds = seconds_before + time.perf_counter() - began
            save_checkpoint(ckpt_path, _state(model, optimiser, scheduler, done, first_loss, seconds, average))
    if run_log:
        run_log.close()
    if average is not None:
        model = average.module
    model.cpu().eval()
    training = {"recipe": recipe.to_dict(), "command": shlex.join(["dsr", *sys.argv[1:]]), "data": batches.description,
                "steps": end, "wall_seconds": round(seconds_before + time.perf_counter() - began, 1)}
    if validation:
        training["validation"] = {"scenes": validation.source, "every": validation.every,
                                  "curve": read_curve(out_dir, up_to=end)}
    card = card_for(model, training=training, commit=git_commit(), specialist_kind=specialist_kind(recipe))
    return TrainResult(model=model, card=card, last_loss=loss_value, first_loss=first_loss, steps=end, start=start)


def evaluate_and_export(result: TrainResult, recipe: Recipe, progress: bool = True) -> str:
    """Evaluate on the held-out set, store the table in the card, write the weight file."""
    e = recipe.eval
    upsampler = Upsampler.from_model(result.model, result.card)
    table = evaluate(upsampler, heldout_scenes(e.scenes, e.size, e.seed, e.generator), progress=progress)
    result.card.metrics = {"heldout_synthetic_rmse_mm": table,
                           "heldout": {"scenes": e.scenes, "size": e.size, "seed": e.seed, "generator": e.generator}}
    text = format_table(table, recipe.model.scale)
    if recipe.output.export:
        save_model(recipe.output.export, result.model, result.card)
    save_model(Path(recipe.output.dir) / "model.safetensors", result.model, result.card)
    return text
