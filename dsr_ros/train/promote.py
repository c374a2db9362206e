"""Promoting a trained weight file into models/: the one deliberate step that changes a shipped model.

Recipes write to runs/; nothing overwrites models/ by itself. `promote` re-evaluates the file on
the held-out synthetic set and on a validation folder under every evaluation degradation, refuses
a model that does not beat bicubic under each of them, and writes the shipped file with both
tables in its card (`metrics.promotion.heldout_synthetic` and `metrics.promotion.validation`). A model
trained to be told its input kind is evaluated told and untold (`..._untold` tables) and must win both.
A specialist (card: `specialist_kind`) is evaluated under its own kind only and must beat both bicubic and the
shipped general model told that kind; it is written beside it (`dsrnet_lite_x4.bicubic.safetensors`) and runs only
when the node is told that kind.
"""
from __future__ import annotations

from pathlib import Path

from dsr_ros.train.degrade import EVAL_DEGRADATIONS
from dsr_ros.train.evaluate import evaluate_detailed, heldout_scenes
from dsr_ros.train.validation import Validation
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import PACKAGE_DIR, ModelCard, load_model, save_model, shipped_model_name, specialist_model_name

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
    """Evaluate `source`, and if it beats bicubic everywhere, write it as the shipped model of its scale and variant
    (a specialist: if it beats bicubic and the shipped general model under its kind, as that kind's specialist)."""
    model, card = load_model(source)
    upsampler = Upsampler.from_model(model, card, backend="torch")
    h = heldout_set or HELDOUT
    heldout_frames = heldout_scenes(h["scenes"], h["size"], h["seed"], h["generator"])
    validation = Validation.from_folder(validation_folder, every=1)
    models = Path(models_dir or PACKAGE_DIR.parent / "models")
    if card.specialist_kind:
        return _promote_specialist(source, model, card, models, (heldout_frames, h), validation, validation_folder,
                                   progress)
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
    target = models / shipped_model_name(card.scale, card.variant)
    save_model(target, model, card)
    return target, heldout, validated


def _promote_specialist(source: str | Path, model, card: ModelCard, models: Path, heldout: tuple[list, dict],
                        validation: Validation, validation_folder: str | Path, progress: bool) -> tuple[Path, dict, dict]:
    """A specialist's promotion: under its own kind it must beat bicubic and the general model it stands in for."""
    kind = card.specialist_kind
    general_path = models / shipped_model_name(card.scale, card.variant)
    general_model, general_card = load_model(general_path, expected_scale=card.scale)
    general = Upsampler.from_model(general_model, general_card, backend="torch")
    specialist = Upsampler.from_model(model, card, backend="torch")
    (frames, h), refused, promotion, tables = heldout, [], {}, []
    for where, scenes, record in (("held-out synthetic", frames, {"set": h}),
                                  (f"validation {validation_folder}", validation.scenes,
                                   {"set": str(validation_folder), "scenes": len(validation.scenes)})):
        table = evaluate_detailed(specialist, scenes, (kind,), progress=progress)
        versus = evaluate_detailed(general, scenes, (kind,), progress=progress)[kind]["model"]
        table[kind]["general"] = versus
        refused += _losses(table, where)
        if table[kind]["model"]["rmse"] >= versus["rmse"]:
            refused.append(f"{where} {kind}: specialist {table[kind]['model']['rmse']:.1f} mm >= the general model "
                           f"told {kind} {versus['rmse']:.1f} mm")
        promotion["heldout_synthetic" if where.startswith("held") else "validation"] = {**record, "table": _compact(table)}
        tables.append(table)
    if refused:
        raise PromotionRefused(f"{source} does not earn its place: " + "; ".join(refused))
    card.metrics["promotion"] = {**promotion, "general": str(general_path.name)}
    target = models / specialist_model_name(card.scale, kind, card.variant)
    save_model(target, model, card)
    return target, tables[0], tables[1]
