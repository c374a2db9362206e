"""Two-stage cross-task training (Sun et al., CVPR 2021): DSRNet learns structure from DENet.

Stage 1 trains DSRNet (L1) and DENet (L_DE) each on its own task. Stage 2 runs in rounds: at
the start of each round the network with the lower mean absolute error on a held-back batch
becomes the teacher (frozen), and the student is trained with
`L_task + ρ1·L_struc + ρ2·(L_O + γ·L_A)` while SPNet learns the structure map. Batches and the
held-back batch are functions of (seed, step), so resuming and multi-process runs stay exact.
"""
from __future__ import annotations

import math
import shlex
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from dsr_ros.net import DENet, DENetConfig, DSRNet, SPNet
from dsr_ros.net.dsrnet import DSRNetOutput
from dsr_ros.train import losses
from dsr_ros.train.checkpoint import load_checkpoint, save_checkpoint
from dsr_ros.train.data import Batch, BatchSource, batch_source
from dsr_ros.train.distributed import FeatureForward, World, data_parallel, init_world, training_device
from dsr_ros.train.recipe import Recipe
from dsr_ros.train.run_log import RunLog
from dsr_ros.train.trainer import CHECKPOINT, TrainingError, TrainResult, build_model, git_commit, lr_factor
from dsr_ros.weights import card_for

HELDOUT_SEED_OFFSET = 7_919  # the held-back batches come from a seed no training batch uses
NAMES = ("dsr", "de", "sp")


@dataclass
class Nets:
    """The three networks with one Adam optimiser and LR schedule each, and their training handles
    (DistributedDataParallel under torchrun, the networks themselves in one process)."""

    dsr: DSRNet
    de: DENet
    sp: SPNet
    optimisers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = field(default_factory=dict)
    handles: dict[str, nn.Module] = field(default_factory=dict)

    def module(self, name: str) -> nn.Module:
        return getattr(self, name)

    def parallel(self, world: World, device: torch.device) -> None:
        """Wrap each network for data-parallel training; call once, after weights are loaded."""
        for name in ("dsr", "de"):
            self.handles[name] = data_parallel(FeatureForward(self.module(name)), world, device, find_unused=True)
        self.handles["sp"] = data_parallel(self.sp, world, device, find_unused=False)

    def depth(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """The network's depth output through its training handle."""
        return self.handles[name](x)

    def features(self, name: str, x: torch.Tensor, boundary_grad: bool = True) -> DSRNetOutput:
        """`forward_features` through the network's training handle."""
        return self.handles[name](x, features=True, boundary_grad=boundary_grad)


def build_nets(recipe: Recipe) -> Nets:
    """DSRNet from the recipe, the DENet whose features align with it, and SPNet."""
    dsr = build_model(recipe)
    nets = Nets(dsr=dsr, de=DENet(DENetConfig.pairing(dsr.config, recipe.distill.denet_blocks)),
                sp=SPNet(dsr.config.features))
    for name in NAMES:
        opt = torch.optim.Adam(nets.module(name).parameters(), lr=recipe.train.lr)
        nets.optimisers[name] = opt
        nets.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, recipe))
    return nets


def _check(step: int, terms: dict[str, torch.Tensor]) -> None:
    for name, value in terms.items():
        if not torch.isfinite(value):
            raise TrainingError(f"non-finite loss at step {step}: term '{name}' = {value.item()}")


def _update(nets: Nets, names: tuple[str, ...], loss: torch.Tensor) -> None:
    for name in names:
        nets.optimisers[name].zero_grad(set_to_none=True)
    loss.backward()  # under torchrun, DDP averages the gradients over ranks here
    for name in names:
        nets.optimisers[name].step()


def stage1_step(nets: Nets, batch: Batch, step: int, recipe: Recipe) -> dict[str, float]:
    """Each network on its own task: L_DSR = L1 for DSRNet, L_DE for DENet."""
    terms = {"dsr_l1": losses.ratio_l1(nets.depth("dsr", batch.lr), batch.hr),
             "de_task": losses.de_loss(nets.depth("de", batch.rgb), batch.hr, recipe.distill.lam)}
    _check(step, terms)
    _update(nets, ("dsr", "de"), terms["dsr_l1"] + terms["de_task"])
    return {k: float(v.detach()) for k, v in terms.items()}


def pick_teacher(nets: Nets, recipe: Recipe, batches: BatchSource, round_index: int) -> tuple[str, float, float]:
    """(teacher name, DSRNet MAE, DENet MAE) on this round's held-back batch (Eq. 1–2)."""
    batch = batches(recipe.train.seed + HELDOUT_SEED_OFFSET, round_index,
                    recipe.distill.heldout_batch).to(next(nets.dsr.parameters()).device)
    with torch.no_grad():
        mae_sr = float(losses.masked_l1(nets.dsr(batch.lr), batch.hr))
        mae_de = float(losses.masked_l1(nets.de(batch.rgb), batch.hr))
    return ("dsr" if mae_sr <= mae_de else "de"), mae_sr, mae_de


def stage2_step(nets: Nets, batch: Batch, step: int, teacher: str, recipe: Recipe) -> dict[str, float]:
    """The student's task loss plus structure and distillation terms.

    The teacher's outputs are fixed targets either way; with `teacher_update: task` the teacher
    also keeps learning its own task and the structure loss (SPNet sees both networks' features).
    """
    x = recipe.distill
    student = "de" if teacher == "dsr" else "dsr"
    teacher_learns = x.teacher_update == "task"
    inputs = {"dsr": batch.lr, "de": batch.rgb}
    with torch.set_grad_enabled(teacher_learns):
        out_t = nets.features(teacher, inputs[teacher], boundary_grad=False)
    out_s = nets.features(student, inputs[student])
    out = {teacher: out_t, student: out_s}
    structure = nets.handles["sp"](out["dsr"].features[-1], out["de"].features[-1], out["dsr"].depth, out["de"].depth, batch.hr)
    terms = {f"{student}_task": _task_loss(student, out_s.depth, batch.hr, x.lam),
             "struc": losses.structure_loss(structure, batch.hr),
             "distill": losses.distillation(out_s, out_t.detached(), x.gamma, x.affinity_pool)}
    loss = terms[f"{student}_task"] + x.rho1 * terms["struc"] + x.rho2 * terms["distill"]
    trained = (student, "sp")
    if teacher_learns:
        terms[f"{teacher}_task"] = _task_loss(teacher, out_t.depth, batch.hr, x.lam)
        loss = loss + terms[f"{teacher}_task"]
        trained = (student, teacher, "sp")
    _check(step, terms)
    _update(nets, trained, loss)
    return {k: float(v.detach()) for k, v in terms.items()}


def role_summary(roles: list[dict]) -> str:
    """One line on who taught in stage 2, with the median held-back MAEs that decided it."""
    if not roles:
        return "stage 2: no rounds yet"
    taught = sum(r["teacher"] == "dsr" for r in roles)
    mae_dsr = statistics.median(r["mae_dsr"] for r in roles)
    mae_de = statistics.median(r["mae_de"] for r in roles)
    return (f"stage 2: DSRNet taught {taught} of {len(roles)} rounds, DENet {len(roles) - taught}; "
            f"median held-back MAE DSRNet {mae_dsr:.4f}, DENet {mae_de:.4f}")


def _task_loss(name: str, depth: torch.Tensor, hr: torch.Tensor, lam: float) -> torch.Tensor:
    """L_DSR (L1 on depth ratios) for DSRNet, L_DE for DENet."""
    return losses.ratio_l1(depth, hr) if name == "dsr" else losses.de_loss(depth, hr, lam)


def _advance_schedules(nets: Nets) -> None:
    """Every network's LR follows the global step, also while it waits (SPNet in stage 1, a frozen
    teacher); torch warns about a schedule stepping before its optimiser, which is intended here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before", category=UserWarning)
        for scheduler in nets.schedulers.values():
            scheduler.step()


def _state(nets: Nets, step: int, roles: list[dict], first_loss: float) -> dict:
    state: dict = {"step": step, "roles": roles, "first_loss": first_loss, "torch_rng": torch.get_rng_state()}
    for name in NAMES:
        state[name] = {"model": nets.module(name).state_dict(), "optimiser": nets.optimisers[name].state_dict(),
                       "scheduler": nets.schedulers[name].state_dict()}
    return state


def _restore(nets: Nets, state: dict) -> None:
    for name in NAMES:
        nets.module(name).load_state_dict(state[name]["model"])
        nets.optimisers[name].load_state_dict(state[name]["optimiser"])
        nets.schedulers[name].load_state_dict(state[name]["scheduler"])
    torch.set_rng_state(state["torch_rng"])


def train_two_stage(recipe: Recipe, resume: bool = False, progress: bool = True,
                    stop_at: int | None = None) -> TrainResult:
    """Run or resume both stages; rank 0 writes checkpoint, CSV log and role history.

    `stop_at` leaves the loop after that many steps, as a kill would (tests, time-boxed jobs).
    """
    from tqdm import tqdm

    t, x = recipe.train, recipe.distill
    if t.threads:
        torch.set_num_threads(t.threads)
    batches = batch_source(recipe)
    world = init_world()
    torch.manual_seed(t.seed)
    device = training_device(world)
    nets = build_nets(recipe)
    for name in NAMES:
        nets.module(name).to(device)
    out_dir = Path(recipe.output.dir)
    ckpt_path = out_dir / CHECKPOINT
    start, roles, first_loss = 0, [], float("nan")
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        _restore(nets, state)
        start, roles, first_loss = int(state["step"]), list(state["roles"]), float(state["first_loss"])
    nets.parallel(world, device)
    run_log = (RunLog(out_dir, ["step", "stage", "teacher", "terms", "lr", "seconds"], start, recipe.output.tensorboard)
               if world.is_main else None)
    end = min(t.steps, stop_at) if stop_at is not None else t.steps
    per_rank = max(1, recipe.data.batch_size // world.size)
    bar = tqdm(range(start, end), initial=start, total=t.steps, desc=f"distill {recipe.name}",
               disable=not (progress and world.is_main))
    began, last = time.perf_counter(), float("nan")
    for step in bar:
        batch = batches(t.seed, step * world.size + world.rank, per_rank).to(device)
        teacher = ""
        if step < x.stage1_steps:
            terms = stage1_step(nets, batch, step, recipe)
        else:
            round_index = (step - x.stage1_steps) // x.round_steps
            if len(roles) <= round_index:
                name, mae_sr, mae_de = pick_teacher(nets, recipe, batches, round_index)
                roles.append({"round": round_index, "step": step, "teacher": name, "mae_dsr": mae_sr, "mae_de": mae_de})
                if run_log:
                    run_log.scalars(step, {"roles/dsr_teaches": float(name == "dsr"), "roles/mae_dsr": mae_sr,
                                           "roles/mae_de": mae_de})
            teacher = roles[round_index]["teacher"]
            terms = stage2_step(nets, batch, step, teacher, recipe)
        _advance_schedules(nets)
        last = terms.get("dsr_l1", terms.get("dsr_task", last))
        if math.isnan(first_loss):
            first_loss = last
        done = step + 1
        if run_log:
            bar.set_postfix(teacher=teacher or "-", **{k: f"{v:.4f}" for k, v in terms.items()})
            if done % t.log_every == 0 or done == t.steps:
                stage, lr = 1 if not teacher else 2, nets.schedulers["dsr"].get_last_lr()[0]
                run_log.row([done, stage, teacher, " ".join(f"{k}={v:.6f}" for k, v in terms.items()), f"{lr:.3g}",
                             f"{time.perf_counter() - began:.1f}"])
                run_log.scalars(done, {**{f"loss/{k}": v for k, v in terms.items()}, "lr": lr, "stage": stage})
            if done % t.checkpoint_every == 0 or done == end:
                save_checkpoint(ckpt_path, _state(nets, done, roles, first_loss))
    if run_log:
        run_log.close()
    nets.dsr.cpu().eval()
    training = {"recipe": recipe.to_dict(), "command": shlex.join(["dsr", *sys.argv[1:]]),
                "data": batches.description,
                "method": "two-stage cross-task distillation (DENet teacher, SPNet, role exchange)", "roles": roles}
    card = card_for(nets.dsr, training=training, commit=git_commit())
    return TrainResult(model=nets.dsr, card=card, last_loss=last, first_loss=first_loss, steps=end, start=start)
