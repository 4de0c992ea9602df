"""Start the real assistant (``python -m bot.cli serve``) on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, Optional

import httpx

from bot.cli.processes import free_port, wait_for_port
from bot.cli.train import latest_model
from bot.settings import ROOT


@contextlib.contextmanager
def running_assistant(database_url: str, workdir: Path, extra_env: Optional[Dict[str, str]] = None,
                      startup_timeout: float = 240.0) -> Iterator[str]:
    """Run ``python -m bot.cli serve`` on ``database_url``; yields the base URL (http://127.0.0.1:port).

    The staff console is off (``CONSOLE_ENABLED=false``) and Rasa answers from the model's domain,
    unless ``extra_env`` points its NLG at a running console (``CONSOLE_NLG_URL`` + ``CONSOLE_NLG_TOKEN``).
    """
    latest_model()  # fails clearly when `make train` was not run
    env = {**os.environ, "DATABASE_URL": database_url, "RASA_PORT": str(free_port()),
           "ACTION_PORT": str(free_port()), "SCHEDULER_MODE": "off", "LOG_LEVEL": "WARNING", "CONSOLE_ENABLED": "false",
           "HANDOFF_HOURS": "always",  # answers must not depend on the hour the suite runs at
           "RUN_DIR": str(workdir), "APP_ENV": "test", **(extra_env or {})}
    for name in ("TELEGRAM_BOT_TOKEN", "ZALO_APP_ID", "ONESTOP_PUSH_TOKEN", "CONSOLE_NLG_URL", "CONSOLE_NLG_TOKEN"):
        if name not in (extra_env or {}):
            env.pop(name, None)
    with open(workdir / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            wait_for_port("127.0.0.1", int(env["RASA_PORT"]), timeout=startup_timeout, proc=proc)
            url = f"http://127.0.0.1:{env['RASA_PORT']}"
            httpx.get(f"{url}/", timeout=120)  # Rasa's root route (the HTTP API is off)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
