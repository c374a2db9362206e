"""The `dsr` command: assembles one parser from the subcommand modules and turns their errors into one line."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from dsr_ros.cli.common import CliError

#: Subcommand modules in `dsr --help` order; each has `register(subparsers)` and sets `func`.
SUBCOMMANDS = ("upsample", "demo", "bag", "export", "compile", "profile", "train", "eval", "calibrate", "promote",
               "ablation")


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is the one `dsr: error:` line (no usage block) and exit status 2, like every error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"dsr: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole `dsr` parser: global options, then one subparser per module of SUBCOMMANDS."""
    from importlib import import_module

    from dsr_ros import __version__

    parser = Parser(prog="dsr", description="Depth super-resolution for ROS 2 robots (DSRNet).")
    parser.add_argument("--version", action="version", version=f"dsr_ros {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        import_module(f"dsr_ros.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`dsr ARGS`: run one subcommand; its CliError is one `dsr: error:` line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Our own log lines at INFO; other libraries (e.g. the ONNX exporter's passes) only when they warn.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("dsr_ros").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"dsr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dsr: interrupted", file=sys.stderr)
        return 130

