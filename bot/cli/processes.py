"""Child processes: Rasa commands, the action server, ports, and stopping cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Optional

from bot.settings import ROOT


def port_open(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 120.0, proc: Optional[subprocess.Popen] = None) -> None:
    """Block until something listens on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        time.sleep(0.3)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rasa_command(*args: str) -> List[str]:
    """``python -m rasa ARGS`` with this interpreter (the project's venv)."""
    return [sys.executable, "-m", "rasa", *args]


def rasa_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment of a Rasa child: ours, Rasa's telemetry off unless asked for, plus ``extra``."""
    env = {**os.environ, **(extra or {})}
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")  # the in-process Rasa of old never reported
    return env


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM ``proc`` (if still running), wait up to ``timeout`` s, then kill it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def action_server(port: int, env: Optional[Dict[str, str]] = None) -> Iterator[subprocess.Popen]:
    """Run the rasa-sdk action server on 127.0.0.1:port for the duration of the block."""
    cmd = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "SANIC_HOST": "127.0.0.1", **(env or {})})
    try:
        wait_for_port("127.0.0.1", port, proc=proc)
        yield proc
    finally:
        stop(proc)
