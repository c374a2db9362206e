"""CPU benchmark matrix behind BENCHMARKS.md: `dsr profile --compare` for lite/base × ×4/×8 × three input sizes.

Run from the repository root: `python bench/cpu_matrix.py [--out bench/results]`. Each configuration
is exactly `dsr profile --untrained --threads 2 --compare torch:eager,torch,onnxruntime ...`
(latency does not depend on the weights' values); results land as one JSON file per
configuration, and a markdown summary table is printed at the end (`--summary-only` reprints it).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dsr_ros.cli import profile as profile_cli
from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.profiling.report import count_macs

SIZES = ((60, 80), (120, 160), (240, 320))
# (variant, scale, (h, w)) → (warm-up, measured frames); base is ~65× lite's cost, so it gets few frames.
FRAMES = {"lite": {60: (3, 30), 120: (2, 15), 240: (1, 6)}, "base": {60: (1, 3), 120: (1, 2), 240: (1, 1)}}
SKIP = {("base", 8, 240): "needs ~20 GB for fp32 activations at 2560x1920 output: more than this 24 GB shared machine"}
BACKENDS = ("torch:eager", "torch", "onnxruntime", "torch:compile")


def profile_argv(variant: str, scale: int, h: int, w: int, out: Path) -> list[str]:
    warmup, iterations = FRAMES[variant][h]
    compare = "torch:eager,torch,onnxruntime" + (",torch:compile" if variant == "lite" and h <= 120 else "")
    return ["profile", "--untrained", "--variant", variant, "--scale", str(scale), "--height", str(h), "--width",
            str(w), "--threads", "2", "--warmup", str(warmup), "--iterations", str(iterations), "--compare", compare,
            "--json", str(out / f"{variant}_x{scale}_{w}x{h}.json")]


def run_matrix(out: Path, only: str | None) -> None:
    """Profile every configuration (or those whose name contains `only`), one `dsr profile` each."""
    for variant in ("lite", "base"):
        for scale in (4, 8):
            for h, w in SIZES:
                name = f"{variant}_x{scale}_{w}x{h}"
                if (only and only not in name) or (variant, scale, h) in SKIP:
                    continue
                argv = profile_argv(variant, scale, h, w, out)
                print("\n$ dsr " + " ".join(argv), flush=True)
                cli = argparse.ArgumentParser(prog="dsr")
                profile_cli.register(cli.add_subparsers())
                args = cli.parse_args(argv)
                args.func(args)


def summary(out: Path) -> str:
    """Markdown table: per configuration and back end, infer p50 and p99, frame ratio vs eager torch."""
    lines = ["| config | GMAC/frame | " + " | ".join(f"{b}: infer p50, p99 ms (ratio)" for b in BACKENDS)
             + " | fastest |", "|---" * (len(BACKENDS) + 3) + "|"]
    configs = []
    for path in out.glob("*.json"):
        variant, scale, size = path.stem.split("_")
        w, h = map(int, size.split("x"))
        configs.append((variant != "lite", int(scale[1:]), h, w, variant, scale, path))
    for _, _, h, w, variant, scale, path in sorted(configs):
        gmac = count_macs(build_dsrnet(DSRNetConfig.from_variant(variant, int(scale[1:]))), h, w) / 1e9
        runs = {r["backend"]: r for r in json.loads(path.read_text())}
        cells = []
        for b in BACKENDS:
            infer = runs[b]["stages"]["infer"] if b in runs else None
            cells.append(f"{infer['p50_ms']:.0f}, {infer['p99_ms']:.0f} ({runs[b]['ratio_vs_torch']:.2f}×)"
                         if infer else "—")
        fastest = min(runs.values(), key=lambda r: r["ratio_vs_torch"])["backend"]
        lines.append(f"| {variant} ×{scale[1:]} {w}x{h} | {gmac:.1f} | " + " | ".join(cells) + f" | {fastest} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--only", help="run only configurations whose name contains this, e.g. lite_x4")
    parser.add_argument("--summary-only", action="store_true", help="only print the table of existing results")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    if not opts.summary_only:
        run_matrix(opts.out, opts.only)
    print(summary(opts.out))


if __name__ == "__main__":
    main()
