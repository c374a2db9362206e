"""Markdown tables of the shipped models from their cards: what README.md and docs/robots.md show.

Reads `metrics.promotion` (written by `dsr promote`) of every shipped model and prints, per scale,
RMSE of bicubic, bilinear and DSRNet and DSRNet ÷ bicubic under each degradation, on the validation
folder and on the held-out synthetic set, plus the edge-band/smooth split and each card's validation curve.

    python bench/model_tables.py
"""
from __future__ import annotations

from dsr_ros.weights import read_card, shipped_models


def main() -> None:
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


if __name__ == "__main__":
    main()
