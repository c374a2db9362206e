"""Live-test plumbing: a colcon-built workspace of this checkout and `upsample_node` processes started from it.

A missing ROS 2 stack is an error, never a skip: `make test` installs the ros-jazzy wheels when no sourced
ROS 2 provides rclpy, so reaching this without rclpy means the setup is broken.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    import rclpy  # noqa: F401
except ImportError as err:  # pragma: no cover - the message is the point
    raise RuntimeError("the live ROS tests need rclpy: run `make test` (it installs ROS 2 Jazzy's ros-jazzy-* wheels "
                       "into .venv) or source a ROS 2 installation first") from err

from dsr_ros.ros.node_process import NodeProcess, node_command

REPO = Path(__file__).resolve().parents[1]
# One DDS domain per test session, discovery on loopback only: parallel CI jobs and other ROS traffic stay apart.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(20, 99)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


@dataclass(frozen=True)
class Workspace:
    """A colcon install of dsr_ros and the environment its setup.sh produces."""

    install: Path
    env: dict[str, str]

    @property
    def node(self) -> list[str]:
        return [str(self.install / "dsr_ros" / "lib" / "dsr_ros" / "upsample_node")]

    @property
    def params_file(self) -> Path:
        return self.install / "dsr_ros" / "share" / "dsr_ros" / "config" / "upsample.yaml"

    def start(self, namespace: str, **params: object) -> NodeProcess:
        """The installed node under `namespace` with the shipped params file and `params` as -p overrides."""
        return NodeProcess(node_command(self.node, namespace, self.params_file, params), env=self.env)


def colcon_build(root: Path, symlink: bool) -> Workspace:
    """`colcon build --packages-select dsr_ros` of this checkout into `root`; the environment from its setup.sh."""
    colcon = shutil.which("colcon", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if colcon is None:
        raise RuntimeError("colcon not found: `make test` installs colcon-core and colcon-ros into .venv")
    command = [colcon, "--log-base", str(root / "log"), "build", "--base-paths", str(REPO),
               "--build-base", str(root / "build"), "--install-base", str(root / "install"),
               "--packages-select", "dsr_ros", *(["--symlink-install"] if symlink else [])]
    built = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        raise RuntimeError(f"colcon build failed ({' '.join(command)}):\n{built.stdout}\n{built.stderr}")
    install = root / "install"
    dumped = subprocess.run(["sh", "-c", f". '{install}/setup.sh' && env -0"], capture_output=True, check=True,
                            env={**os.environ, "COLCON_CURRENT_PREFIX": str(install)})
    env = dict(item.split("=", 1) for item in dumped.stdout.decode().split("\0") if "=" in item)
    return Workspace(install, env)
