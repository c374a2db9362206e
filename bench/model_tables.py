"""Markdown tables of the shipped models from their cards: what README.md and docs/robots.md show.

Reads `metrics.promotion` (written by `dsr promote`) of every shipped model and prints, per scale,
RMSE of bicubic, bilinear and DSRNet and DSRNet ÷ bicubic under each degradation, on the validation
folder and on the held-out synthetic set, plus the edge-band/smooth split and each card's validation curve.

    python bench/model_tables.py [--plot docs/validation_curves.png]

`--plot` also draws every card's curve (its last recipe's run) as RMSE ÷ bicubic against step.
"""
from __future__ import annotations

import argparse

from dsr_ros.train.curve_plot import plot_curves
from dsr_ros.weights import ModelCard, read_card, shipped_models


def curve_label(card: ModelCard) -> str:
    """'x4 bicubic specialist (lite3d_x4_only_aa_6k_more)': which file a curve belongs to and which run drew it."""
    kind = f"{card.specialist_kind} specialist" if card.specialist_kind else "general"
    return f"x{card.scale} {kind} ({card.training['recipe']['name']})"


SCALE_COLOURS = {2: "tab:blue", 4: "tab:orange", 8: "tab:green", 16: "tab:red"}
KIND_DASHES = {"": "-", "bicubic": "--", "bicubic_aliased": ":"}


def curve_style(card: ModelCard) -> dict:
    """Colour by scale, dash by kind (general solid, anti-aliased specialist dashed, point-sampled dotted)."""
    return {"color": SCALE_COLOURS.get(card.scale, "black"), "linestyle": KIND_DASHES.get(card.specialist_kind, "-.")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="also draw the cards' validation curves into this file")
    args = parser.parse_args()
    cards = sorted((read_card(p) for p in shipped_models()), key=lambda c: (c.scale, c.specialist_kind))
    for where, title in (("validation", "validation folder"), ("heldout_synthetic", "held-out synthetic v2 set")):
        print(f"\n{title}: RMSE in mm (DSRNet ÷ bicubic)\n")
        print("| scale | degradation | bicubic | bilinear | DSRNet | ÷ bicubic | edge band: bicubic / DSRNet "
              "| smooth: bicubic / DSRNet |")
        print("|---|---|---|---|---|---|---|---|")
        for card in cards:
            table = card.metrics["promotion"][where]["table"]
            for kind, rows in table.items():
                b, li, m = rows["bicubic"], rows["bilinear"], rows["model"]
                label = f"x{card.scale}" + (" specialist" if card.specialist_kind else "")
                print(f"| {label} | {kind} | {b['rmse']:.1f} | {li['rmse']:.1f} | {m['rmse']:.1f} | "
                      f"{m['rmse'] / b['rmse']:.2f} | {b['edge_rmse']:.1f} / {m['edge_rmse']:.1f} | "
                      f"{b['smooth_rmse']:.1f} / {m['smooth_rmse']:.1f} |")
    print("\nvalidation curves (DSRNet RMSE in mm, anti-aliased / point-sampled; bicubic at the end):\n")
    for card in cards:
        curve = card.training["validation"]["curve"]
        points = ", ".join(f"{r['step']}: {r['bicubic']:.1f} / {r['bicubic_aliased']:.1f}" for r in curve)
        last = curve[-1]
        name = f"x{card.scale}" + (f" {card.specialist_kind} specialist" if card.specialist_kind else "")
        print(f"- {name} ({card.training['steps']} steps, {card.training['wall_seconds'] / 60:.0f} min): {points} "
              f"(bicubic {last['bicubic bicubic']:.1f} / {last['bicubic bicubic_aliased']:.1f})")
    if args.plot:
        curves = {curve_label(card): card.training["validation"]["curve"] for card in cards}
        styles = {curve_label(card): curve_style(card) for card in cards}
        title = "shipped models: validation curves of their last run, before calibration (../shared/scenes)"
        print(f"\nwrote {plot_curves(curves, args.plot, title, styles)}")


if __name__ == "__main__":
    main()
