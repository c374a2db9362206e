"""Atomic writes: a failing writer leaves the old file and no temporary behind."""
from pathlib import Path

import pytest

from dsr_ros.atomic import write_atomic


def test_atomic_write_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.bin"
    write_atomic(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["x.bin"]


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x.ep"
    target.write_bytes(b"old")

    def failing(path: Path) -> None:
        path.write_bytes(b"half-written")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, failing)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.ep"]
