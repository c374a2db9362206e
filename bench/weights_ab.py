"""A/B latency of two weight files in one process: the Upsampler's whole frame, interleaved, medians and their ratio.

Separate `dsr profile` runs on a shared CPU drift by 10-30 % between runs; interleaving A and B frame by frame in
one process puts both under the same drift. Used for what a model-side change (e.g. input kinds) costs.

    python bench/weights_ab.py OLD.safetensors NEW.safetensors --height 120 --width 160 --rounds 40 [--kind bicubic]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="weight file A (the baseline)")
    parser.add_argument("b", help="weight file B")
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--kind", default="unknown", help="B's input kind (a model trained with input kinds)")
    args = parser.parse_args()

    import torch

    from dsr_ros.upsampler import Upsampler

    torch.set_num_threads(args.threads)
    runs = {"A": Upsampler.from_file(args.a, backend="torch"),
            "B": Upsampler.from_file(args.b, backend="torch", input_kind=args.kind)}
    frame = (np.random.default_rng(0).random((args.height, args.width)) * 3000 + 500).astype(np.uint16)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds + 2):  # the first two rounds warm up
        for name, upsampler in runs.items():
            start = time.perf_counter()
            upsampler.upsample(frame)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values[2:]) * 1000 for name, values in times.items()}
    print(f"{args.width}x{args.height}, {args.threads} thread(s), {args.rounds} interleaved rounds: "
          f"A {median['A']:.1f} ms, B ({args.kind}) {median['B']:.1f} ms, B / A {median['B'] / median['A']:.3f}")


if __name__ == "__main__":
    main()
