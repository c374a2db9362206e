"""Capacity sweep for `lite`: widths and unit counts against the real-time budget at a 640x480 output.

For every scale at its natural input size (x2 320x240, x4 160x120, x8 80x60, x16 40x30) and every
candidate shape, reports parameters, GMAC per frame and the median CPU latency of the network
(torch eager, one thread, all shapes measured in one process, interleaved round by round), so the
figures compare as ratios. Shapes over `--budget` GMAC are listed but not timed. `--trained FILE...`
adds the last validation point (RMSE on the validation folder, anti-aliased / point-sampled) of each
weight file's card to the row of its shape: only shapes someone trained have one. A shape with
cascade 2 is two stages of half the scale's factor each (x16 as x4 then x4, net/cascade.py).

    python bench/capacity_sweep.py [--rounds 5] [--scales 4 16] [--json bench/results/capacity_sweep.json] \
        [--trained models/*.safetensors]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.profiling.report import count_macs

INPUTS = {2: (240, 320), 4: (120, 160), 8: (60, 80), 16: (30, 40)}
# features, shallow, units, lr_blocks, cascade
SHAPES = [(12, 32, 2, 0, 1), (16, 32, 2, 0, 1), (16, 32, 3, 0, 1), (24, 32, 2, 0, 1), (24, 48, 2, 0, 1), (32, 64, 2, 0, 1),
          (16, 32, 2, 4, 1), (16, 32, 2, 8, 1), (16, 32, 2, 16, 1), (16, 48, 2, 8, 1), (24, 48, 2, 4, 1), (24, 48, 2, 8, 1)]
CASCADES = {16: [(16, 32, 2, 0, 2)]}  # shapes only a scale with a supported square root has


def validation_points(paths: list[str]) -> dict[tuple[int, ...], str]:
    """(scale, features, shallow, units, lr_blocks, cascade) -> "anti-aliased / point-sampled mm @ step" from each card."""
    from dsr_ros.weights import read_card

    points = {}
    for path in paths:
        card = read_card(path)
        curve = (card.training or {}).get("validation", {}).get("curve") or []
        if curve:
            c, last = card.config, curve[-1]
            key = (c["scale"], c["features"], c["shallow"], c["units"], c.get("lr_blocks", 0), c.get("cascade", 1))
            points[key] = f"{last['bicubic']:.1f} / {last['bicubic_aliased']:.1f} @ {card.training.get('steps')}"
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=5.0, help="GMAC per frame above which a shape is not timed")
    parser.add_argument("--scales", type=int, nargs="*", default=sorted(INPUTS), help="scales to sweep (default: all)")
    parser.add_argument("--json")
    parser.add_argument("--trained", nargs="*", default=[], help="weight files whose validation RMSE to show")
    args = parser.parse_args()
    torch.set_num_threads(1)
    trained = validation_points(args.trained)
    rows, nets = [], {}
    for scale in args.scales:
        h, w = INPUTS[scale]
        for shape in SHAPES + CASCADES.get(scale, []):
            features, shallow, units, lr_blocks, cascade = shape
            net = build_dsrnet(DSRNetConfig(scale=scale, features=features, shallow=shallow, units=units,
                                            lr_blocks=lr_blocks, cascade=cascade)).eval()
            gmac = count_macs(net, h, w) / 1e9
            row = {"scale": scale, "input": f"{w}x{h}", "features": features, "shallow": shallow, "units": units,
                   "lr_blocks": lr_blocks, "cascade": cascade, "params_M": round(sum(p.numel() for p in net.parameters()) / 1e6, 3),
                   "gmac": round(gmac, 2), "validation_mm": trained.get((scale, *shape), ""), "times_ms": []}
            rows.append(row)
            if gmac <= args.budget:
                nets[len(rows) - 1] = (net, torch.rand(1, net.config.in_channels, h, w))
    with torch.inference_mode():
        for _ in range(args.rounds + 1):  # the first round warms up
            for i, (net, x) in nets.items():
                start = time.perf_counter()
                net(x)
                rows[i]["times_ms"].append((time.perf_counter() - start) * 1000)
    print("| scale | input | features/shallow/units/lr_blocks (× stages) | params (M) | GMAC | CPU ms (median, 1 thread) | "
          "validation RMSE mm, anti-aliased / point-sampled @ steps |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        times = row.pop("times_ms")[1:]
        row["median_ms"] = round(float(np.median(times)), 1) if times else None
        ms = f"{row['median_ms']:.1f}" if times else f"over {args.budget:g} GMAC"
        stages = f" × {row['cascade']}" if row["cascade"] > 1 else ""
        print(f"| x{row['scale']} | {row['input']} | {row['features']}/{row['shallow']}/{row['units']}/"
              f"{row['lr_blocks']}{stages} | {row['params_M']} | {row['gmac']} | {ms} | {row['validation_mm'] or '—'} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
