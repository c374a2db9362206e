"""Write the DSRNet of a training run alone (no DENet, no SPNet) as a shipped-style weight file."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from dsr_ros.train.checkpoint import load_checkpoint
from dsr_ros.train.recipe import Recipe
from dsr_ros.train.trainer import CHECKPOINT, build_model, git_commit, specialist_kind
from dsr_ros.weights import card_for, read_card, save_model


def export_run(recipe: Recipe, out: str | Path, checkpoint: str | Path | None = None) -> Path:
    """DSRNet weights from a run's checkpoint (two-stage or supervised) with a model card.

    The card keeps the metrics and role history of the run's final model.safetensors when the
    checkpoint is the finished run's; a mid-run checkpoint gets a card without metrics.
    """
    run_dir = Path(recipe.output.dir)
    state = load_checkpoint(checkpoint or run_dir / CHECKPOINT)
    model = build_model(recipe)
    model.load_state_dict(state["dsr"]["model"] if "dsr" in state else state["model"])
    final = run_dir / "model.safetensors"
    card = card_for(model.eval(), training={"recipe": recipe.to_dict(), "command": shlex.join(["dsr", *sys.argv[1:]])},
                    commit=git_commit(), specialist_kind=specialist_kind(recipe))
    if final.is_file() and int(state["step"]) == recipe.train.steps:
        finished = read_card(final)
        card.training, card.metrics = finished.training, finished.metrics
    card.training["exported_from"] = {"checkpoint": str(checkpoint or run_dir / CHECKPOINT), "step": int(state["step"])}
    return save_model(out, model, card)
