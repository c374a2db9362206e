"""The cross-task ablation: bicubic vs DSRNet without and with cross-task transfer, one held-out set.

    dsr ablation --without runs/ablation_x4_noct/model.safetensors \
        --with runs/ablation_x4_ct/model.safetensors --card-of models/dsrnet_lite_x4.safetensors

evaluates both arms on the same held-out synthetic scenes, prints the table, and records
`metrics.heldout_synthetic = {bicubic, without_ct, with_ct}` (RMSE mm under the papers'
anti-aliased bicubic protocol) with the per-degradation table in the named model's card.
"""
from __future__ import annotations

from pathlib import Path

from dsr_ros.train.degrade import EVAL_DEGRADATIONS
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import load_model, read_card, save_model

PROTOCOL = "bicubic"  # anti-aliased bicubic: the papers' protocol, the headline column


def ablation(without: Path, with_ct: Path, scenes: int = 24, size: int = 192, seed: int = 1_000_000) -> dict:
    """{degradation: {bicubic, bilinear, without_ct, with_ct}} RMSE in mm on one held-out set."""
    hr = heldout_scenes(scenes, size, seed)
    tables = {name: evaluate(Upsampler.from_file(path, backend="torch"), hr) for name, path in
              (("without_ct", without), ("with_ct", with_ct))}
    return {kind: {"bicubic": tables["without_ct"][kind]["bicubic"], "bilinear": tables["without_ct"][kind]["bilinear"],
                   "without_ct": tables["without_ct"][kind]["model"], "with_ct": tables["with_ct"][kind]["model"]}
            for kind in EVAL_DEGRADATIONS}


def format_ablation(table: dict, scale: int) -> str:
    lines = [f"| x{scale} degradation | bicubic | bilinear | DSRNet w/o CT | DSRNet with CT |", "|---|---|---|---|---|"]
    for kind, row in table.items():
        lines.append(f"| {kind} | {row['bicubic']:.1f} | {row['bilinear']:.1f} | {row['without_ct']:.1f} | "
                     f"{row['with_ct']:.1f} |")
    return "\n".join(lines)


def annotate(table: dict, target: Path, without: Path, with_ct: Path, scenes: int, size: int, seed: int) -> None:
    """Record the ablation in `target`'s model card (its weights stay as they are).

    `metrics.heldout_synthetic` = {bicubic, without_ct, with_ct}: RMSE mm under the headline
    protocol; the per-degradation table and where both arms came from go beside it. An earlier
    ablation with other arms moves to `metrics.ablation_history`, so no measurement is lost.
    """
    model, card = load_model(target)
    arms = {name: read_card(path).training.get("recipe", {}) for name, path in (("without_ct", without),
                                                                                 ("with_ct", with_ct))}
    entry = {
        "heldout_synthetic": {k: table[PROTOCOL][k] for k in ("bicubic", "without_ct", "with_ct")},
        "heldout_synthetic_by_degradation": table,
        "ablation": {"scenes": scenes, "size": size, "seed": seed, "protocol": PROTOCOL, "units": "mm RMSE",
                     "steps": {name: recipe.get("train", {}).get("steps") for name, recipe in arms.items()},
                     "seeds": {name: recipe.get("train", {}).get("seed") for name, recipe in arms.items()},
                     "recipes": {name: recipe.get("path") for name, recipe in arms.items()}},
    }
    earlier = {k: card.metrics[k] for k in entry if k in card.metrics}
    if "ablation" in earlier and earlier != entry:
        history = [h for h in card.metrics.get("ablation_history", []) if h != earlier]
        card.metrics["ablation_history"] = [*history, earlier]
    card.metrics.update(entry)
    save_model(target, model, card)
