"""The cross-task ablation: bicubic vs DSRNet without and with cross-task transfer, one held-out set.

    python -m dsr_ros.train.ablation --without runs/lite_x4/model.safetensors \
        --with runs/lite_x4_ct/model.safetensors --ship models/dsrnet_lite_x4.safetensors

evaluates both on the same held-out synthetic scenes, prints the table, and writes the better
model to `--ship` with `metrics.heldout_synthetic = {bicubic, without_ct, with_ct}` (RMSE mm under
the papers' anti-aliased bicubic protocol) and the full per-degradation table in its card.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dsr_ros.train.degrade import EVAL_DEGRADATIONS
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import load_model, save_model

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


def ship(table: dict, without: Path, with_ct: Path, target: Path, scenes: int, size: int, seed: int) -> str:
    """Write the model that is better under the headline protocol to `target`, ablation in its card."""
    winner = "with_ct" if table[PROTOCOL]["with_ct"] < table[PROTOCOL]["without_ct"] else "without_ct"
    model, card = load_model(with_ct if winner == "with_ct" else without)
    card.metrics = {
        "heldout_synthetic": {k: table[PROTOCOL][k] for k in ("bicubic", "without_ct", "with_ct")},
        "heldout_synthetic_by_degradation": table,
        "heldout": {"scenes": scenes, "size": size, "seed": seed, "protocol": PROTOCOL, "units": "mm RMSE"},
        "shipped": winner,
    }
    save_model(target, model, card)
    return winner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--without", type=Path, required=True, help="model trained without cross-task transfer")
    parser.add_argument("--with", dest="with_ct", type=Path, required=True, help="model trained with it")
    parser.add_argument("--ship", type=Path, help="write the better model here with the ablation in its card")
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--seed", type=int, default=1_000_000)
    args = parser.parse_args()
    table = ablation(args.without, args.with_ct, args.scenes, args.size, args.seed)
    print(format_ablation(table, load_model(args.without)[1].scale))
    if args.ship:
        print(f"shipped {ship(table, args.without, args.with_ct, args.ship, args.scenes, args.size, args.seed)} "
              f"-> {args.ship}")


if __name__ == "__main__":
    main()
