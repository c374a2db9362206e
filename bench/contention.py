"""Latency on a shared CPU: the node's per-frame path with and without another process busy.

For each thread count, the shipped model runs `NodeCore.process` (as `dsr profile` does) on
synthetic frames, first on a quiet machine, then while a competing process spins on one core
(what drivers, SLAM or a planner do on a robot). All figures come from one process and one run.

    python bench/contention.py --scale 4 --height 60 --width 80 --threads 1,2 [--json OUT]

Reports the median and p90 frame time per (threads, load) and the ratio loaded ÷ quiet.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def measure(upsampler, messages, factory, threads: int, iterations: int) -> list[float]:
    """Frame times (ms) of `iterations` frames after 5 warm-up frames, at `threads` torch/OpenCV threads."""
    from dsr_ros.profiling.runs import profile_backend
    from dsr_ros.threads import apply_threads

    apply_threads(threads)
    return profile_backend(upsampler, "torch", messages, factory, 5, iterations, None).frame_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--height", type=int, default=60)
    parser.add_argument("--width", type=int, default=80)
    parser.add_argument("--threads", default="1,2", help="thread counts to compare, comma-separated")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--json", help="write the figures as JSON")
    args = parser.parse_args()

    from dsr_ros.profiling.runs import depth_messages, message_factory, synthetic_frames
    from dsr_ros.threads import default_threads, usable_cpus
    from dsr_ros.upsampler import Upsampler

    upsampler = Upsampler.from_pretrained(scale=args.scale, backend="torch")
    factory = message_factory()
    messages = depth_messages(synthetic_frames(args.height, args.width, "16UC1"), "16UC1", factory)
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        quiet = measure(upsampler, messages, factory, threads, args.iterations)
        spinner = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=600)])
        try:
            time.sleep(0.5)
            loaded = measure(upsampler, messages, factory, threads, args.iterations)
        finally:
            spinner.kill()
            spinner.wait()
        rows.append({"threads": threads, "quiet_p50_ms": float(np.median(quiet)),
                     "quiet_p90_ms": float(np.percentile(quiet, 90)), "loaded_p50_ms": float(np.median(loaded)),
                     "loaded_p90_ms": float(np.percentile(loaded, 90)),
                     "loaded_over_quiet": float(np.median(loaded) / np.median(quiet))})
    print(f"x{args.scale} {args.width}x{args.height} → {args.width * args.scale}x{args.height * args.scale}, "
          f"{usable_cpus()} usable CPUs, default policy {default_threads()} thread(s); frame ms (p50 / p90)")
    print("| threads | quiet | one core busy | busy ÷ quiet |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['threads']} | {r['quiet_p50_ms']:.1f} / {r['quiet_p90_ms']:.1f} | "
              f"{r['loaded_p50_ms']:.1f} / {r['loaded_p90_ms']:.1f} | {r['loaded_over_quiet']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scale": args.scale, "input": [args.height, args.width], "usable_cpus": usable_cpus(),
                       "default_threads": default_threads(), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
