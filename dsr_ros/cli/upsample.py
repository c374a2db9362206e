"""`dsr upsample IN OUT`: super-resolve depth files or folders of them, with a progress bar."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from dsr_ros.cli.common import (
    CliError,
    add_input_kind_argument,
    add_model_arguments,
    add_runtime_arguments,
    add_self_ensemble_argument,
    told_upsampler_from_args,
)
from dsr_ros.depth_files import SUFFIXES, DepthFileError, read_depth, write_depth


def _pairs(source: Path, target: Path) -> list[tuple[Path, Path]]:
    """(input, output) paths: one file, or every depth file of a folder into an output folder."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise CliError(f"{source}: no depth files ({', '.join(SUFFIXES)}) in this folder")
        if target.exists() and not target.is_dir():
            raise CliError(f"{target}: output must be a folder when the input is a folder")
        return [(p, target / p.name) for p in files]
    if not source.exists():
        raise CliError(f"{source}: no such file or folder")
    return [(source, target)]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    pairs = _pairs(Path(args.input), Path(args.output))
    upsampler = told_upsampler_from_args(args)
    elapsed = 0.0
    for source, target in tqdm(pairs, desc="upsample", unit="file", disable=len(pairs) < 2):
        try:
            depth = read_depth(source)
            start = time.perf_counter()
            result = upsampler.upsample(depth)
            elapsed += time.perf_counter() - start
            write_depth(target, result)
        except DepthFileError as exc:
            raise CliError(str(exc)) from None
    print(f"upsampled {len(pairs)} file(s) x{upsampler.scale} in {elapsed * 1000:.0f} ms -> {args.output}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("upsample", help="super-resolve 16-bit PNG (mm), .npy or .pfm depth files or folders")
    p.add_argument("input", help="depth file or folder")
    p.add_argument("output", help="output file (same kinds) or folder")
    add_model_arguments(p, scale_required=False)
    add_runtime_arguments(p)
    add_self_ensemble_argument(p)
    add_input_kind_argument(p)
    p.set_defaults(func=run)
