"""`dsr calibrate WEIGHTS --out OUT`: fit how far the output leaves bicubic (for RMSE) on synthetic frames."""
from __future__ import annotations

import argparse

from dsr_ros.cli.common import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr calibrate` to the `dsr` command."""
    from dsr_ros.train.calibrate import ALPHAS, CALIBRATION_SEED

    p = subparsers.add_parser("calibrate", help="scale a trained model's residual over bicubic for the lowest RMSE "
                                                "on synthetic calibration frames (never the validation scenes)")
    p.add_argument("weights", help="a trained weight file (e.g. runs/lite3d_x4/model.safetensors)")
    p.add_argument("--out", required=True, help="where to write the calibrated weight file (not models/: promote it)")
    p.add_argument("--scenes", type=int, default=24, help="synthetic v2 calibration frames")
    p.add_argument("--size", type=int, default=256, help="their side in pixels")
    p.add_argument("--seed", type=int, default=CALIBRATION_SEED, help="first frame seed (disjoint from pool and held-out set)")
    p.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS), help="residual scales to try")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shlex

    from dsr_ros.train.calibrate import calibrate, scale_residual
    from dsr_ros.weights import WeightsError, load_model, save_model

    if args.scenes < 1 or args.size < 16 or not all(0 < a <= 2 for a in args.alphas):
        raise CliError("--scenes must be >= 1, --size >= 16 and every --alphas value within (0, 2]")
    try:
        model, card = load_model(args.weights)
    except (WeightsError, OSError) as exc:
        raise CliError(str(exc)) from None
    best, ratios = calibrate(model, card, args.scenes, args.size, args.seed, tuple(args.alphas), progress=True)
    kinds = [k for k in next(iter(ratios.values())) if k != "mean"]
    print(f"x{card.scale} RMSE ÷ bicubic on {args.scenes} synthetic frames of {args.size}px (seeds {args.seed}+):")
    print("| α | " + " | ".join(kinds) + " | mean |")
    print("|---" * (len(kinds) + 2) + "|")
    for alpha, row in ratios.items():
        mark = " (chosen)" if alpha == best else ""
        print(f"| {alpha:g}{mark} | " + " | ".join(f"{row[k]:.3f}" for k in kinds) + f" | {row['mean']:.3f} |")
    card.training = {**card.training, "calibration": {
        "alpha": best, "scenes": args.scenes, "size": args.size, "seed": args.seed, "from": str(args.weights),
        "ratios": {f"{a:g}": {k: round(v, 4) for k, v in row.items()} for a, row in ratios.items()},
        "command": shlex.join(["dsr", "calibrate", str(args.weights), "--out", str(args.out), "--scenes", str(args.scenes),
                               "--size", str(args.size), "--seed", str(args.seed), "--alphas", *map(str, args.alphas)])}}
    print(f"wrote {save_model(args.out, scale_residual(model, best), card)} (residual × {best:g})")
    return 0
