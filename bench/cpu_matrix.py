"""CPU benchmark matrix behind BENCHMARKS.md: `dsr profile --compare` for lite/base × ×4/×8 × three input sizes.

Run from the repository root: `python bench/cpu_matrix.py [--out bench/results]`. Each configuration
is exactly `dsr profile --untrained --threads 2 --compare torch:eager,torch,onnxruntime ...`
(latency does not depend on the weights' values); results land as one JSON file per
configuration, and a markdown summary table is printed at the end.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dsr_ros import profile_cli

SIZES = ((60, 80), (120, 160), (240, 320))
# (variant, scale, (h, w)) → (warm-up, measured frames); base is ~65× lite's cost, so it gets few frames.
FRAMES = {"lite": {60: (3, 30), 120: (2, 15), 240: (1, 6)}, "base": {60: (1, 3), 120: (1, 2), 240: (1, 1)}}
SKIP = {("base", 8, 240): "needs ~20 GB for fp32 activations at 2560x1920 output: more than this 24 GB shared machine"}


def profile_argv(variant: str, scale: int, h: int, w: int, out: Path) -> list[str]:
    warmup, iterations = FRAMES[variant][h]
    compare = "torch:eager,torch,onnxruntime" + (",torch:compile" if variant == "lite" and h <= 120 else "")
    return ["profile", "--untrained", "--variant", variant, "--scale", str(scale), "--height", str(h), "--width",
            str(w), "--threads", "2", "--warmup", str(warmup), "--iterations", str(iterations), "--compare", compare,
            "--json", str(out / f"{variant}_x{scale}_{w}x{h}.json")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--only", help="run only configurations whose name contains this, e.g. lite_x4")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    for variant in ("lite", "base"):
        for scale in (4, 8):
            for h, w in SIZES:
                name = f"{variant}_x{scale}_{w}x{h}"
                if (opts.only and opts.only not in name) or (variant, scale, h) in SKIP:
                    continue
                argv = profile_argv(variant, scale, h, w, opts.out)
                print("\n$ dsr " + " ".join(argv), flush=True)
                cli = argparse.ArgumentParser(prog="dsr")
                profile_cli.register(cli.add_subparsers())
                args = cli.parse_args(argv)
                args.func(args)
    print("\n| config | torch:eager | torch | onnxruntime | torch:compile |")
    for path in sorted(opts.out.glob("*.json")):
        runs = {r["backend"]: r for r in json.loads(path.read_text())}
        cells = [f"{runs[b]['stages']['infer']['p50_ms']:.0f} ms ({runs[b]['ratio_vs_torch']:.2f}×)" if b in runs
                 else "—" for b in ("torch:eager", "torch", "onnxruntime", "torch:compile")]
        print(f"| {path.stem} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
