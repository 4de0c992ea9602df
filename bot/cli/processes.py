"""Child processes: Rasa commands, the action server, ports, and stopping cleanly."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, Iterator, List, Optional

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


PR_SET_PDEATHSIG = 1  # prctl(2): signal sent to this process when its parent dies
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _in_child() -> None:
    """Run in the child between fork and exec: stop signals unblocked, SIGTERM when the parent dies."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM for the block: a stop request waits until a started child is recorded."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def spawn(cmd: List[str], **kwargs: Any) -> subprocess.Popen:
    """``Popen`` of a child that is sent SIGTERM if this process dies, even by SIGKILL (Linux).

    Call it inside :func:`stop_signals_held` together with recording the child, so that a
    SIGTERM arriving meanwhile cannot leave a started child unrecorded (and never stopped).
    """
    return subprocess.Popen(cmd, preexec_fn=_in_child, **kwargs)  # noqa: PLW1509 - no threads yet


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
    proc: Optional[subprocess.Popen] = None
    try:
        with stop_signals_held():
            proc = spawn(cmd, cwd=ROOT, env={**os.environ, "SANIC_HOST": "127.0.0.1", **(env or {})})
        wait_for_port("127.0.0.1", port, proc=proc)
        yield proc
    finally:
        if proc is not None:
            stop(proc)
