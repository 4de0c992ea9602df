"""``serve`` leaves no child behind: SIGTERM to it alone, at start-up or when running, or SIGKILL.

A real ``python -m bot.cli serve`` (action server, reminder worker, ``rasa run``) on a
temporary SQLite database. The signal goes to the ``serve`` process only (as ``kill PID`` or
``pkill -f 'bot.cli serve'`` send it), never to its process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Set

import pytest

from bot.cli.db import db_init
from bot.cli.processes import free_port, port_open
from bot.cli.train import latest_model
from bot.settings import ROOT


def _parents() -> Dict[int, int]:
    """pid → parent pid of every process now (from /proc)."""
    out: Dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            out[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int) -> Set[int]:
    """Every living process below ``pid``."""
    parents, found, frontier = _parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def tagged(run_dir: str) -> Set[int]:
    """Living processes whose environment carries this test's RUN_DIR (every child of its serve)."""
    mark = f"RUN_DIR={run_dir}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark in (entry / "environ").read_bytes().split(b"\0") and alive(int(entry.name)):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.fixture
def serve_env(tmp_path: Path) -> Dict[str, str]:
    """Environment of a ``serve`` on its own SQLite file and free ports, reminder worker included."""
    latest_model()
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    db_init(url)
    action_port = free_port()
    return {**os.environ, "DATABASE_URL": url, "RASA_PORT": str(free_port()), "ACTION_PORT": str(action_port),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook", "SCHEDULER_MODE": "embedded",
            "LOG_LEVEL": "WARNING", "RUN_DIR": str(tmp_path / "run"), "APP_ENV": "test", "PYTHONPATH": str(ROOT),
            "CONSOLE_PORT": str(free_port())}


def _start(env: Dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=out, start_new_session=True)


def _cleanup(proc: subprocess.Popen, seen: Set[int], run_dir: str) -> None:
    """Whatever the test found, leave nothing running."""
    for pid in {proc.pid, *seen, *tagged(run_dir)}:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigterm_to_a_running_serve_stops_every_child(serve_env: Dict[str, str], tmp_path: Path):
    proc = _start(serve_env, tmp_path / "serve.log")
    seen: Set[int] = set()
    try:
        assert wait_until(lambda: port_open("127.0.0.1", int(serve_env["RASA_PORT"])), 240), \
            (tmp_path / "serve.log").read_text()[-2000:]
        seen = descendants(proc.pid)
        assert len(seen) >= 3, seen  # action server, reminder worker, rasa run
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
        assert wait_until(lambda: not any(alive(p) for p in seen), 20), [p for p in seen if alive(p)]
        assert not tagged(serve_env["RUN_DIR"])
    finally:
        _cleanup(proc, seen, serve_env["RUN_DIR"])


def test_sigterm_during_start_up_stops_every_child(serve_env: Dict[str, str], tmp_path: Path):
    proc = _start(serve_env, tmp_path / "serve.log")
    seen: Set[int] = set()
    try:
        assert wait_until(lambda: bool(descendants(proc.pid)), 60, step=0.05)  # the action server is starting
        os.kill(proc.pid, signal.SIGTERM)
        seen = descendants(proc.pid)
        proc.wait(timeout=90)
        assert wait_until(lambda: not tagged(serve_env["RUN_DIR"]), 20), tagged(serve_env["RUN_DIR"])
        assert not port_open("127.0.0.1", int(serve_env["ACTION_PORT"]))
    finally:
        _cleanup(proc, seen, serve_env["RUN_DIR"])


def test_children_die_with_a_killed_serve(serve_env: Dict[str, str], tmp_path: Path):
    proc = _start(serve_env, tmp_path / "serve.log")
    seen: Set[int] = set()
    try:
        assert wait_until(lambda: port_open("127.0.0.1", int(serve_env["RASA_PORT"])), 240), \
            (tmp_path / "serve.log").read_text()[-2000:]
        seen = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # no clean-up can run: the kernel's parent-death signal must
        proc.wait(timeout=10)
        assert wait_until(lambda: not tagged(serve_env["RUN_DIR"]), 60), tagged(serve_env["RUN_DIR"])
    finally:
        _cleanup(proc, seen, serve_env["RUN_DIR"])
