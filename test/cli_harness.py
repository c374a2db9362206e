"""Runs a subcommand module's real `register`/`func` exactly as `dsr` does, without the rest of the CLI."""
from __future__ import annotations

import argparse
from types import ModuleType


def run_subcommand(module: ModuleType, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dsr")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
