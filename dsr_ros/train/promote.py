"""Promoting a trained weight file into models/: the one deliberate step that changes a shipped model.

Recipes write to runs/; nothing overwrites models/ by itself. `promote` re-evaluates the file on
the held-out synthetic set and on a validation folder under every evaluation degradation, refuses
a model that does not beat bicubic under each of them, and writes the shipped file with both
tables in its card (`metrics.promotion.heldout_synthetic` and `metrics.promotion.validation`). A model
trained to be told its input kind is evaluated told and untold (`..._untold` tables) and must win both.
"""
from __future__ import annotations

from pathlib import Path

from dsr_ros.train.degrade import EVAL_DEGRADATIONS
from dsr_ros.train.evaluate import evaluate_detailed, heldout_scenes
from dsr_ros.train.validation import Validation
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import PACKAGE_DIR, load_model, save_model, shipped_model_name

HELDOUT = {"scenes": 24, "size": 192, "seed": 1_000_000, "generator": "synthetic3d"}


class PromotionRefused(ValueError):
    """The model does not beat bicubic everywhere it was evaluated; the message says where."""


def _losses(table: dict, where: str) -> list[str]:
    return [f"{where} {kind}: DSRNet {rows['model']['rmse']:.1f} mm >= bicubic {rows['bicubic']['rmse']:.1f} mm"
            for kind, rows in table.items() if rows["model"]["rmse"] >= rows["bicubic"]["rmse"]]


def _compact(table: dict) -> dict:
    """{degradation: {method: {metric: value rounded}}} for the card."""
    return {kind: {m: {k: round(v, 3) for k, v in row.items()} for m, row in rows.items()} for kind, rows in table.items()}


def promote(source: str | Path, validation_folder: str | Path, models_dir: str | Path | None = None,
            heldout_set: dict | None = None, degradations: tuple[str, ...] = EVAL_DEGRADATIONS,
            progress: bool = True) -> tuple[Path, dict, dict]:
    """Evaluate `source`, and if it beats bicubic everywhere, write it as the shipped model of its scale and variant."""
    model, card = load_model(source)
    upsampler = Upsampler.from_model(model, card, backend="torch")
    h = heldout_set or HELDOUT
    heldout_frames = heldout_scenes(h["scenes"], h["size"], h["seed"], h["generator"])
    validation = Validation.from_folder(validation_folder, every=1)
    refused, promotion, told_tables = [], {}, ({}, {})
    # A model trained to be told its input kind must win both told and untold (the node's default, unknown).
    for told in (True, False) if card.input_kinds else (True,):
        suffix = "" if told else "_untold"
        heldout = evaluate_detailed(upsampler, heldout_frames, degradations, progress=progress, tell_kind=told)
        validated = evaluate_detailed(upsampler, validation.scenes, degradations, progress=progress, tell_kind=told)
        refused += _losses(heldout, f"held-out synthetic{suffix.replace('_', ', ')}")
        refused += _losses(validated, f"validation {validation_folder}{suffix.replace('_', ', ')}")
        promotion[f"heldout_synthetic{suffix}"] = {"set": h, "table": _compact(heldout)}
        promotion[f"validation{suffix}"] = {"set": str(validation_folder), "scenes": len(validation.scenes),
                                            "table": _compact(validated)}
        if told:
            told_tables = (heldout, validated)
    if refused:
        raise PromotionRefused(f"{source} does not beat bicubic: " + "; ".join(refused))
    card.metrics["promotion"] = promotion
    heldout, validated = told_tables
    target = Path(models_dir or PACKAGE_DIR.parent / "models") / shipped_model_name(card.scale, card.variant)
    save_model(target, model, card)
    return target, heldout, validated
