"""Runs `upsample_node` as a real child process: start, wait until it serves, signal, read its CPU and memory.

Used by `dsr profile --live` and the live tests; the process is the same one `ros2 run` starts.
Linux only for CPU and memory (read from /proc, as on Jetson).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

READY_TEXT = "subscribing"  # the node's start-up log line once topics exist
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def ros_value(value: Any) -> str:
    """A parameter value as `-p name:=value` needs it (YAML: bools lower-case, strings quoted when ambiguous)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'" if value in ("", "true", "false") or value.replace(".", "", 1).isdigit() else value
    return repr(value)


def node_command(executable: Sequence[str], namespace: str = "", params_file: str | Path | None = None,
                 params: Mapping[str, Any] | None = None) -> list[str]:
    """The node's command line with --ros-args: namespace, params file, then -p overrides."""
    command = [*executable, "--ros-args"]
    if namespace:
        command += ["-r", f"__ns:={namespace}"]
    if params_file:
        command += ["--params-file", str(params_file)]
    for name, value in (params or {}).items():
        command += ["-p", f"{name}:={ros_value(value)}"]
    return command


class NodeProcess:
    """One node process; its combined stdout/stderr goes to a log file that `output()` reads."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self._log = tempfile.NamedTemporaryFile(prefix="upsample_node-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=dict(env) if env is not None else None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until the node logs that it subscribes; RuntimeError with its output if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if READY_TEXT in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited with status {self.process.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise RuntimeError(f"node not ready after {timeout_s:.0f} s:\n{self.output()}")

    def wait(self, timeout_s: float) -> int | None:
        """Exit status, or None if still running after `timeout_s`."""
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 10.0) -> int:
        """Send `sig` and wait; a node that ignores it is killed and reported as -9."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        status = self.wait(timeout_s)
        if status is None:
            self.process.kill()
            self.process.wait()
            status = -signal.SIGKILL
        self._log.close()
        return status

    def rss_mib(self) -> float:
        """Resident memory of the process in MiB (VmRSS)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        raise RuntimeError(f"no VmRSS for process {self.pid}")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def python_node_executable() -> list[str]:
    """The node run by this interpreter (`python -m dsr_ros.ros.node`), for pip installs without colcon."""
    return [sys.executable, "-m", "dsr_ros.ros.node"]
